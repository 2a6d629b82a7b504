"""Variation options as search facets: which property names are which facet, and the keys both backends store.

A listing's variation property ("Size", "Ring size", "Colour", "Metal") is a facet when its name is one of
``OPTION_FACETS``' synonyms; its options become facet values. Only switched-on offerings in stock count:
a listing offering size 8 only in a sold-out offering is not "size 8".

Each listing carries option *keys*: ``size:8`` for every option of an offering in stock, and for an offering
with two facet options also the pair ``colour:green<US>size:8`` (the two keys sorted, joined by the
unit separator, which no normalized value contains). One filter asks for the key, two filters for the pair:
"green, size 8" is then one offering that is both, never a green size 6 beside a blue size 8.

The same rules are SQL in search migration 0010 (``search_option_facet``, ``search_option_value``, and the
offering facts of ``search_listing``); tests/search/test_variations.py checks that the two agree.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

# facet -> the property names (normalized) that are that facet. Migration 0010's search_option_facet() holds
# the same list; change both (a new migration) together.
OPTION_FACETS: dict[str, tuple[str, ...]] = {
    "colour": ("colour", "colours", "color", "colors"),
    "size": ("size", "sizes", "ring size"),
    "material": ("material", "materials", "metal"),
}
FACET_LABELS = {"colour": "Colour", "size": "Size", "material": "Material"}
FACET_KEYS = tuple(OPTION_FACETS)
PAIR_SEPARATOR = "\x1f"
# Longest value a filter takes (an option may have 60 characters): three option filters, percent-encoded at up to
# 12 bytes a character, must fit gunicorn's request line beside the other search parameters
# (tests/api/test_request_line.py). A longer option is searched but not offered as a facet value.
MAX_VALUE_LENGTH = 40
FACET_VALUES_SHOWN = 12  # per facet, the values of most listings

_FACET_OF_NAME = {name: facet for facet, names in OPTION_FACETS.items() for name in names}


def normalize_option_value(value: str) -> str:
    """Lower-case, control characters dropped, runs of white space one space ("  Emerald  Green" -> "emerald green")."""
    cleaned = "".join(ch for ch in value if unicodedata.category(ch) != "Cc")
    return " ".join(cleaned.split()).lower()


def option_facet(name: str) -> str | None:
    """Return the facet a variation property's name stands for ("Ring size" -> "size"), or None."""
    return _FACET_OF_NAME.get(normalize_option_value(name))


def option_key(facet: str, value: str) -> str:
    return f"{facet}:{normalize_option_value(value)}"


def pair_key(first: str, second: str) -> str:
    return PAIR_SEPARATOR.join(sorted((first, second)))


def offering_keys(options: Iterable[tuple[str, str]]) -> set[str]:
    """The keys one offering in stock gives its listing: ``options`` are its (property name, value) pairs."""
    keys = [option_key(facet, value) for name, value in options if (facet := option_facet(name))]
    keys = [key for key in keys if not key.endswith(":")]
    found = set(keys)
    if len(keys) == 2:
        found.add(pair_key(*keys))
    return found


def filter_key(chosen: Mapping[str, str]) -> str | None:
    """The one key a listing must carry for the chosen {facet: normalized value}; None when nothing is chosen.

    Three facets chosen can never match (a listing has at most two variation properties): "" (no key is empty).
    """
    keys = [f"{facet}:{value}" for facet, value in sorted(chosen.items())]
    if not keys:
        return None
    if len(keys) == 1:
        return keys[0]
    return pair_key(*keys) if len(keys) == 2 else ""


@dataclass(frozen=True)
class OptionValueFacet:
    value: str  # normalized, as the filter takes it
    label: str
    count: int


@dataclass(frozen=True)
class OptionFacet:
    key: str  # "colour", "size", "material": the query parameter
    label: str
    values: tuple[OptionValueFacet, ...]
    is_chosen: bool = False  # filtered by: ``values`` is the one chosen


def counted_keys_context(chosen: Mapping[str, str]) -> str | None:
    """Which keys the facet counts read: None, every single key; a key, the pairs holding it; "" none.

    With one option chosen, "green" under "size 8" counts listings with a green size-8 offering in stock
    (the pairs holding ``size:8``), the number its link then finds. With two chosen, only they are shown.
    """
    if not chosen:
        return None
    return f"{next(iter(chosen))}:{next(iter(chosen.values()))}" if len(chosen) == 1 else ""


def build_option_facets(
    counts: Iterable[tuple[str, int]], *, chosen: Mapping[str, str], total: int
) -> list[OptionFacet]:
    """Turn counted keys into facets (one home for both backends).

    ``counts`` are (key, listings) read as ``counted_keys_context(chosen)`` says; a chosen value is always
    shown, with the number of results (every result has it).
    """
    context = counted_keys_context(chosen)
    by_facet: dict[str, dict[str, int]] = {facet: {} for facet in FACET_KEYS}
    for key, count in counts:
        if context:
            first, _, second = key.partition(PAIR_SEPARATOR)
            if not second or context not in (first, second):
                continue
            key = second if first == context else first
        elif PAIR_SEPARATOR in key:
            continue
        facet, _, value = key.partition(":")
        if facet in by_facet and facet not in chosen and value and len(value) <= MAX_VALUE_LENGTH:
            by_facet[facet][value] = by_facet[facet].get(value, 0) + int(count)
    for facet, value in chosen.items():
        by_facet[facet] = {value: total}
    facets = []
    for facet in FACET_KEYS:
        values = sorted(by_facet[facet].items(), key=lambda item: (-item[1], item[0]))[:FACET_VALUES_SHOWN]
        if values:
            facets.append(
                OptionFacet(
                    key=facet,
                    label=FACET_LABELS[facet],
                    values=tuple(
                        OptionValueFacet(value=v, label=option_value_label(facet, v), count=n) for v, n in values
                    ),
                    is_chosen=facet in chosen,
                )
            )
    return facets


def option_value_label(facet: str, value: str) -> str:
    """How a normalized value reads in the facet list: "XL", "8.5", "Emerald green"."""
    if facet == "size" and value.isalpha() and len(value) <= 4:
        return value.upper()  # "xs", "xl", "xxl"
    return value[:1].upper() + value[1:]
