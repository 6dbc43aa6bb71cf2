"""Group labels and column names from the data, made safe for each place they are shown.

Labels come from the audited data and may hold anything: markup (`[red]`, `<b>`), table
separators (`|`), control characters, text of any length. Every sink shows them through one
of these functions, never raw:

- `display_label`: any human-facing text; control and invisible formatting characters are
  shown as escapes (`\\n`, `\\x1b`, `\\u202e`) and a long label is cut with an ellipsis and a
  stable short hash of the whole label, so two long labels that share their start stay apart;
- `markdown_text`: Markdown (`summary.md`): the characters Markdown or inline HTML would read
  are backslash-escaped, so a label is shown as written and never renders as a table cell
  boundary, emphasis, a link or a tag;
- `xml_text`: XML 1.0 (JUnit): ElementTree escapes `<`, `&` and quotes, but writes characters
  XML 1.0 does not allow (most control characters) as they are, which makes the file
  unreadable; they become visible escapes;
- `rich_text`: rich console markup (`audit assess`, `audit run`): `[red]` and `[/]` print
  literally.

The JSON results and MLflow keep the exact labels (`audit.tracking.naming` encodes them
reversibly for metric keys); only what people read is bounded.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata

from rich.markup import escape as _rich_escape

MAX_LABEL_CHARS = 60
HASH_CHARS = 7
ELLIPSIS = "…"

# Categories shown as escapes: controls, invisible formatting (bidirectional overrides among
# them), surrogates, private use, unassigned, line and paragraph separators.
_HIDDEN_CATEGORIES = frozenset({"Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp"})
_NAMED_ESCAPES = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}
# Backslash first, so the escapes added for the others are not escaped again.
_MARKDOWN_SPECIAL = re.compile(r"([\\`*_\[\]<>|~&$])")
# Characters XML 1.0 allows (https://www.w3.org/TR/xml/#charsets).
_XML_INVALID = re.compile("[^\t\n\r\u0020-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def label_hash(text: str) -> str:
    """A short, stable digest of `text` (the same label gives the same suffix in every run)."""
    data = text.encode("utf-8", "surrogatepass")
    return hashlib.sha256(data).hexdigest()[:HASH_CHARS]


def visible(text: str) -> str:
    """`text` with every control or invisible character written as an escape."""
    if text.isprintable():
        return text
    out = []
    for ch in text:
        if ch in _NAMED_ESCAPES:
            out.append(_NAMED_ESCAPES[ch])
        elif unicodedata.category(ch) in _HIDDEN_CATEGORIES:
            code = ord(ch)
            out.append(f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}")
        else:
            out.append(ch)
    return "".join(out)


def display_label(text: object, limit: int = MAX_LABEL_CHARS) -> str:
    """A label as people read it: visible characters only, at most `limit` characters.

    >>> display_label("homeless")
    'homeless'
    >>> display_label("x" * 100, 20)
    'xxxxxxxxxxxx…09ecb6e'
    """
    raw = str(text)
    shown = visible(raw)
    if len(shown) <= limit:
        return shown
    keep = max(limit - HASH_CHARS - len(ELLIPSIS), 1)
    return f"{shown[:keep]}{ELLIPSIS}{label_hash(raw)}"


def display_levels(levels: tuple[str, ...], limit: int = MAX_LABEL_CHARS) -> tuple[str, ...]:
    return tuple(display_label(v, limit) for v in levels)


def markdown_text(text: str) -> str:
    """`text` for Markdown prose or a table cell: shown literally, on one line.

    >>> print(markdown_text("a|b <i>*x*</i>"))
    a\\|b \\<i\\>\\*x\\*\\</i\\>
    """
    return _MARKDOWN_SPECIAL.sub(r"\\\1", visible(text))


def markdown_code(text: str) -> str:
    """`text` inside a Markdown code span (backticks cannot be escaped there: they go)."""
    return visible(text).replace("`", "'")


def xml_text(text: str) -> str:
    """`text` with the characters XML 1.0 cannot hold written as visible escapes."""
    return _XML_INVALID.sub(lambda m: f"\\u{ord(m.group()):04x}", text)


def rich_text(text: object, limit: int | None = MAX_LABEL_CHARS) -> str:
    """A label for rich console markup: bounded, visible, and never read as markup."""
    shown = visible(str(text)) if limit is None else display_label(text, limit)
    return _rich_escape(shown)
