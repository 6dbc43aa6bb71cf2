"""The `findings` gettext domain: the plain-language sentences of the first page.

Catalogues are the `.po` files under `audit/report/locale/<lang>/LC_MESSAGES/findings.po`,
read with Babel and compiled in memory when first used (no compiled file is committed, so a
catalogue cannot go stale beside its source). Messages are marked in code with `_ = mark`,
which Babel's extractor finds (`pybabel extract -k _`); the tests check that every marked
message has a translation in every language.
"""

from __future__ import annotations

from functools import cache
from io import BytesIO
from pathlib import Path

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import Translations

DOMAIN = "findings"
LOCALE_DIR = Path(__file__).parent / "locale"


def mark(msgid: str) -> str:
    """Marks a message for extraction; the text itself is the English source (the msgid)."""
    return msgid


def mark_plural(singular: str, plural: str) -> tuple[str, str]:
    """Marks a message with a plural form (`pybabel extract -k _n:1,2`)."""
    return singular, plural


def po_path(lang: str) -> Path:
    return LOCALE_DIR / lang / "LC_MESSAGES" / f"{DOMAIN}.po"


@cache
def translations(lang: str) -> Translations:
    """The compiled catalogue of `lang`; KeyError-free: an unknown message falls back to the
    English msgid (the tests make sure none is missing)."""
    with po_path(lang).open("rb") as f:
        catalog = read_po(f, locale=lang, domain=DOMAIN)
    buffer = BytesIO()
    write_mo(buffer, catalog)
    buffer.seek(0)
    return Translations(fp=buffer, domain=DOMAIN)


def gettext(msgid: str, lang: str) -> str:
    return translations(lang).gettext(msgid)


def ngettext(singular: str, plural: str, n: int, lang: str) -> str:
    return translations(lang).ngettext(singular, plural, n)


SOURCES = ("plain.py", "group_labels.py")


def marked_messages() -> frozenset[str | tuple[str, str]]:
    """Every message the modules of this domain mark, read with Babel's extractor."""
    from babel.messages.extract import extract_from_file

    found: set[str | tuple[str, str]] = set()
    for name in SOURCES:
        for _line, message, _comments, _context in extract_from_file(
            "python", str(Path(__file__).parent / name), keywords={"_": None, "_n": (1, 2)}
        ):
            found.add(message if isinstance(message, str) else (message[0], message[1]))
    return frozenset(found)
