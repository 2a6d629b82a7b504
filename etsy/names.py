"""Names and titles people type: one normal form for uniqueness, one rule against hidden characters.

``normalise_name`` is what "the same name" means (a shop's name is unique in this form):
NFKC (a non-breaking or ideographic space becomes a space, full-width letters and ligatures
their plain forms), whitespace collapsed to single spaces, trimmed, case-folded. So
``"Quince\\u00a0House"``, ``"QUINCE  HOUSE"`` and ``"Ｑｕｉｎｃｅ House"`` are one name.

``validate_visible_text`` refuses characters a reader cannot see or that change how the
text around them is shown: control characters (Cc), format characters (Cf: zero-width
spaces and joiners, bidirectional overrides and isolates, the byte-order mark, soft
hyphens), line and paragraph separators, private-use, surrogate and unassigned code points,
and the blank letters that render as nothing (Hangul fillers, the braille blank...). Every
name and title a user writes (shop name, listing title, display name) passes through it: the
model fields, forms and serializers use this one validator.
"""

from __future__ import annotations

import unicodedata

from django.core.exceptions import ValidationError
from django.db import models

HIDDEN_CATEGORIES = frozenset({"Cc", "Cf", "Co", "Cs", "Cn", "Zl", "Zp"})
# Letters and symbols that render blank although their category says otherwise.
BLANK_LOOKING = frozenset(
    "\u034f"  # combining grapheme joiner
    "\u115f\u1160\u3164\uffa0"  # Hangul fillers
    "\u17b4\u17b5"  # Khmer inherent vowels
    "\u180e"  # Mongolian vowel separator
    "\u1680"  # Ogham space mark (a space NFKC keeps)
    "\u2800"  # braille pattern blank
)
HIDDEN_MESSAGE = "Remove the invisible or control character %(char)s (position %(position)s)."


def hidden_characters(value: str) -> list[tuple[int, str]]:
    """Return (position, character) of every hidden character in ``value`` (1-based positions)."""
    return [
        (position, char)
        for position, char in enumerate(value, start=1)
        if unicodedata.category(char) in HIDDEN_CATEGORIES or char in BLANK_LOOKING
    ]


def validate_visible_text(value) -> None:
    """Raise ValidationError (code ``invisible_character``) when ``value`` holds a hidden character."""
    if not isinstance(value, str):
        return
    found = hidden_characters(value)
    if found:
        position, char = found[0]
        name = unicodedata.name(char, "") or f"U+{ord(char):04X}"
        raise ValidationError(
            HIDDEN_MESSAGE,
            code="invisible_character",
            params={"char": f"U+{ord(char):04X} {name}".strip(), "position": position},
        )


def collapse_spaces(value: str) -> str:
    """Return ``value`` with every run of whitespace (a non-breaking space included) as one space, trimmed."""
    return " ".join(value.split())


def normalise_name(value: str) -> str:
    """Return the form in which two names are the same name (NFKC, collapsed spaces, case-folded)."""
    folded = collapse_spaces(unicodedata.normalize("NFKC", value)).casefold()
    return unicodedata.normalize("NFKC", folded)  # case folding can leave text that NFKC changes again


class NormalisedNameField(models.TextField):
    """A column holding ``normalise_name`` of another field, computed whenever the row is written
    (``save`` and ``bulk_create`` both call ``pre_save``), so a unique constraint on it is the
    database's word on look-alike names."""

    def __init__(self, *args, source: str = "name", **kwargs):
        self.source = source
        kwargs.setdefault("editable", False)
        super().__init__(*args, **kwargs)

    def deconstruct(self):
        name, path, args, kwargs = super().deconstruct()
        kwargs["source"] = self.source
        kwargs.pop("editable", None)
        return name, path, args, kwargs

    def pre_save(self, model_instance, add):
        value = normalise_name(getattr(model_instance, self.source) or "")
        setattr(model_instance, self.attname, value)
        return value


def is_country_code(value: str) -> bool:
    """Whether ``value`` is a two-letter ISO 3166 code as stored (``[A-Z]{2}``, the addresses' constraint).

    ``str.isalpha`` alone lets "ÉÉ" through, which the database's check constraint then refuses with a 500.
    """
    return len(value) == 2 and value.isascii() and value.isalpha() and value.isupper()
