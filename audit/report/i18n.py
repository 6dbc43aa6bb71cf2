"""Message catalogues and locale formatting for the published report.

The report's words live in gettext catalogues, `locale/<lang>/LC_MESSAGES/audit.po`, one per
language, edited with the standard toolchain (`scripts/update-catalogues.sh` extracts the
messages from the templates and code with Babel and merges them into each catalogue). The
`.po` files are compiled when first used, in memory, with Babel: a clean clone installed with
`pip install -e .` needs no build step and there is no `.mo` file to keep in step.

Numbers, percentages and dates are formatted for the locale by Babel (a decimal comma in
French and Dutch). A message without a translation in a catalogue is caught by the test
`tests/report/test_catalogues.py`, never silently shown in English.
"""

from __future__ import annotations

import io
import math
from datetime import date
from functools import cache
from pathlib import Path
from typing import Literal, get_args

from babel import Locale
from babel.dates import format_date
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.numbers import format_decimal, format_percent, get_decimal_symbol
from babel.support import Translations

from audit.numbers import confidence_level

Language = Literal["fr", "nl", "en"]
LANGUAGES: tuple[str, ...] = get_args(Language)
LOCALE_DIR = Path(__file__).parent / "locale"
DOMAIN = "audit"
# The locale each language's numbers and dates are formatted in (Belgium: the audits' country).
LOCALES = {"fr": "fr_BE", "nl": "nl_BE", "en": "en_GB"}
NO_VALUE = "–"


def catalogue_path(language: str) -> Path:
    return LOCALE_DIR / language / "LC_MESSAGES" / f"{DOMAIN}.po"


@cache
def translations(language: str) -> Translations:
    """The compiled catalogue of `language` (fuzzy entries are left out, as msgfmt does)."""
    with catalogue_path(language).open("rb") as fh:
        catalogue = read_po(fh, locale=language, domain=DOMAIN)
    buffer = io.BytesIO()
    write_mo(buffer, catalogue, use_fuzzy=False)
    buffer.seek(0)
    return Translations(buffer, domain=DOMAIN)


class Formatter:
    """Numbers, shares and dates written the way readers of one language expect."""

    def __init__(self, language: str) -> None:
        self.language = language
        self.locale = LOCALES[language]

    def number(self, x: float | None, digits: int = 3) -> str:
        if x is None or not math.isfinite(x):
            return NO_VALUE
        return format_decimal(x, format="#,##0." + "0" * digits, locale=self.locale)

    def count(self, n: float | None) -> str:
        if n is None or not math.isfinite(n):
            return NO_VALUE
        return format_decimal(round(n), format="#,##0", locale=self.locale)

    def percent(self, x: float | None, digits: int = 1) -> str:
        if x is None or not math.isfinite(x):
            return NO_VALUE
        # The locale's own pattern ("#,##0 %" in French, "#,##0%" in English and Dutch) with
        # the decimals asked for.
        pattern = str(Locale.parse(self.locale).percent_formats[None].pattern)
        if digits:
            last = pattern.rindex("0")
            pattern = pattern[: last + 1] + "." + "0" * digits + pattern[last + 1 :]
        return format_percent(x, format=pattern, locale=self.locale)

    def points(self, x: float | None, digits: int = 1) -> str:
        """A difference of two shares, in percentage points (signed)."""
        if x is None or not math.isfinite(x):
            return NO_VALUE
        text = format_decimal(abs(x) * 100, format="0." + "0" * digits, locale=self.locale)
        sign = "−" if x < 0 else "+" if x > 0 else ""
        return sign + text

    def interval(self, low: float | None, high: float | None, digits: int = 3) -> str:
        if low is None or high is None:
            return NO_VALUE
        return f"[{self.number(low, digits)} ; {self.number(high, digits)}]"

    def level(self, alpha: float) -> str:
        """The level of a 1 - alpha interval in percent, without the sign: "95", "97,5" in
        French and Dutch (the messages place the sign as each language writes it)."""
        return confidence_level(alpha).replace(".", get_decimal_symbol(self.locale))

    def day(self, d: date | None) -> str:
        return NO_VALUE if d is None else format_date(d, format="long", locale=self.locale)
