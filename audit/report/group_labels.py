"""Human labels for groups ("people with a mental-health history"), in English, French, Dutch.

A spec may name each attribute and each of its levels, per language or once for all
(`labels:` in the spec, `audit.spec.AttributeLabels`):

    labels:
      mental_health_history:
        name: {en: mental-health history, fr: antécédents de santé mentale}
        levels:
          "True": {en: people with a mental-health history, nl: mensen met een psychische voorgeschiedenis}
      housing_status:
        levels: {homeless: homeless people}

A level label is a noun phrase for the people in the group, without an article, so that it
reads inside a sentence ("Of every 100 homeless people, ..."). Without one, a label is made
from the column name and the level in a translated frame: "people with mental health history"
for a True/False column, otherwise "people whose housing status is homeless" (the data's own
words are kept as written: they are not translated). An intersection reads "people with a
mental-health history who are also homeless people".

Labels come back bounded and with control characters made visible (`audit.labels`), but not
escaped: each sink escapes for its own format.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal

from babel.lists import format_list

from audit.labels import display_label
from audit.report import findings_i18n as catalogue

Lang = Literal["en", "fr", "nl"]
LANGUAGES: tuple[Lang, ...] = ("en", "fr", "nl")
MAX_SPEC_LABEL_CHARS = 120

# A label given once for every language, or per language (a language it does not give
# gets the default label).
Text = str | Mapping[str, str]

_TRUE, _FALSE = frozenset({"True", "true"}), frozenset({"False", "false"})
_SEPARATORS = re.compile(r"[_\-.]+")

_ = catalogue.mark
WITH = _("people with {attribute}")
WITHOUT = _("people without {attribute}")
WHOSE = _("people whose {attribute} is {level}")
ALSO = _("{first} who are also {others}")


def attribute_words(column: str) -> str:
    """A column name as words: `mental_health_history` -> `mental health history`."""
    words = _SEPARATORS.sub(" ", column).strip()
    return words or column


@dataclass(frozen=True)
class GroupLabels:
    """Labels for attributes and their levels; the defaults when the spec names none."""

    names: Mapping[str, Text] = field(default_factory=dict)
    levels: Mapping[str, Mapping[str, Text]] = field(default_factory=dict)

    @classmethod
    def from_spec(cls, labels: Mapping[str, object] | None) -> GroupLabels:
        """From the spec's `labels:` block (`AttributeLabels` models or plain mappings)."""
        names: dict[str, Text] = {}
        levels: dict[str, Mapping[str, Text]] = {}
        for attribute, spec in (labels or {}).items():
            name = spec.get("name") if isinstance(spec, Mapping) else getattr(spec, "name", None)
            given = (
                spec.get("levels") if isinstance(spec, Mapping) else getattr(spec, "levels", None)
            )
            if name is not None:
                names[attribute] = name
            if given:
                levels[attribute] = {str(k): v for k, v in given.items()}
        return cls(names=names, levels=levels)

    def attribute(self, attribute: str, lang: Lang) -> str:
        """The attribute's name in `lang` ("housing status")."""
        given = _pick(self.names.get(attribute), lang)
        return _bounded(given) if given is not None else display_label(attribute_words(attribute))

    def level(self, attribute: str, level: str, lang: Lang) -> str:
        """The people of one level ("homeless people", "people whose gender is x")."""
        given = _pick(self.levels.get(attribute, {}).get(level), lang)
        if given is not None:
            return _bounded(given)
        name = self.attribute(attribute, lang)
        if level in _TRUE:
            return catalogue.gettext(WITH, lang).format(attribute=name)
        if level in _FALSE:
            return catalogue.gettext(WITHOUT, lang).format(attribute=name)
        return catalogue.gettext(WHOSE, lang).format(attribute=name, level=display_label(level))

    def group(self, attributes: tuple[str, ...], levels: tuple[str, ...], lang: Lang) -> str:
        """A group or an intersection ("people with ... who are also homeless people")."""
        parts = [self.level(a, v, lang) for a, v in zip(attributes, levels, strict=True)]
        if len(parts) == 1:
            return parts[0]
        others = format_list(parts[1:], locale=lang)
        return catalogue.gettext(ALSO, lang).format(first=parts[0], others=others)


def _pick(text: Text | None, lang: Lang) -> str | None:
    if text is None or isinstance(text, str):
        return text
    # A label given per language but not in this one: the default frame in this language
    # reads better than another language's words inside the sentence.
    return text.get(lang)


def _bounded(text: str) -> str:
    return display_label(text, MAX_SPEC_LABEL_CHARS)
