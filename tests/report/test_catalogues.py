"""Every message of the report has a translation in every language, with the same placeholders.

The messages are extracted from the templates and code by Babel with the project's own
extraction config (`audit/report/babel.cfg`), as `scripts/update-catalogues.sh` does, so a
message added to a template without being translated fails here, whether or not a catalogue
was updated.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po

from audit.report.i18n import LANGUAGES, catalogue_path, translations

REPORT = Path(__file__).resolve().parents[2] / "audit" / "report"
PLACEHOLDER = re.compile(r"%\([a-z_]+\)s|%%")


def source_messages() -> set[str]:
    with (REPORT / "babel.cfg").open(encoding="utf-8") as fh:
        from babel.messages.frontend import parse_mapping_cfg

        method_map, options_map = parse_mapping_cfg(fh)
    found = extract_from_dir(
        str(REPORT),
        method_map,
        options_map,
        keywords={"_": None, "gettext": None, "N_": None},
    )
    return {message for _file, _line, message, _comments, _context in found if message}


def test_messages_are_extracted() -> None:
    messages = source_messages()
    assert len(messages) > 100
    assert "In short" in messages  # from the template
    assert "share given the decision (selection rate)" in messages  # from the code (N_)


@pytest.mark.parametrize("language", LANGUAGES)
def test_every_message_has_a_translation(language: str) -> None:
    with catalogue_path(language).open("rb") as fh:
        catalogue = read_po(fh, locale=language)
    translated = {m.id: m.string for m in catalogue if m.id and m.string and "fuzzy" not in m.flags}
    missing = sorted(source_messages() - set(translated))
    assert not missing, f"{language}: no translation for {missing}"
    for msgid, msgstr in translated.items():
        assert sorted(PLACEHOLDER.findall(msgid)) == sorted(PLACEHOLDER.findall(msgstr)), (
            f"{language}: placeholders differ in {msgid!r} -> {msgstr!r}"
        )


def test_translations_are_loaded_from_the_catalogues() -> None:
    assert translations("fr").gettext("In short") == "L'essentiel"
    assert translations("nl").gettext("In short") == "Kort gezegd"
    assert translations("en").gettext("In short") == "In short"


def test_french_and_dutch_are_not_english() -> None:
    """A catalogue filled with its msgids would pass the test above and translate nothing."""
    for language in ("fr", "nl"):
        with catalogue_path(language).open("rb") as fh:
            catalogue = read_po(fh, locale=language)
        same = [m.id for m in catalogue if m.id and m.string == m.id]
        # Only names and article numbers may stay as they are.
        assert len(same) <= 5, same
