"""The deterministic demo catalog: shop and listing specs with the structured truth behind each listing's wording."""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal

from django.utils.text import slugify

from demo.vocabulary import (
    COLOURS,
    HANDMADE_WORDS,
    KINDS,
    LOCATIONS,
    MATERIALS,
    MISSPELLINGS,
    SHOP_FIRST,
    SHOP_SECOND,
    STYLES,
    VINTAGE_WORDS,
    Kind,
)

SMALL_WORDS = {"a", "an", "and", "of", "with", "in", "on", "for", "the", "to"}


@dataclass(frozen=True)
class ShopSpec:
    index: int
    name: str
    slug: str
    owner_email: str
    kinds: tuple[str, ...]
    colour: str
    location: str
    rating: Decimal  # the shop's typical review score; the rating shown is the mean of its demo reviews
    sales_count: int  # planned sales (capped by MAX_SALES_PER_SHOP); the count shown is what its orders sold
    weight: float


@dataclass(frozen=True)
class ListingSpec:
    index: int
    shop: int
    kind: str
    material: str
    colour: str
    style: str
    is_vintage: bool
    title: str
    description: str
    tags: tuple[str, ...]
    price: Decimal
    quantity: int
    category: str
    days_old: float
    misspelled: bool
    words: dict = field(default_factory=dict, compare=False)  # the exact synonyms used
    shape: str = ""  # the picture motif: what the title names (a wooden puzzle shows a puzzle)


CLOSING_LINES = [
    "Each piece is slightly different, which is the charm of handmade work.",
    "Made to order in my small studio.",
    "A thoughtful gift, wrapped in recycled paper.",
    "Artisan quality, built to last for years.",
]


def _with_article(phrase: str) -> str:
    """Return ``phrase`` after "a" or "an", as it is spoken ("an antique", "a 1970s", "an 18 inch")."""
    first = phrase.split()[0].lower() if phrase.split() else ""
    vowel_sound = first[:1] in "aeio" or first.startswith(("8", "11", "18")) or first in {"hour", "honest"}
    return f"{'an' if vowel_sound else 'a'} {phrase}"


def _decade_for(maker_word: str, rng_choice: str) -> str:
    """Keep a vintage listing's decade consistent with the word its title uses ("1970s", "Antique")."""
    word = maker_word.lower()
    if word[:4].isdigit():
        return word
    if word == "antique":
        return {"1950s": "1900s", "1960s": "1910s", "1970s": "1920s", "1980s": "1930s"}.get(rng_choice, "1920s")
    if word.startswith("mid-century"):
        return {"1970s": "1950s", "1980s": "1960s", "1990s": "1950s"}.get(rng_choice, rng_choice)
    return rng_choice


def _title_case(text: str) -> str:
    words = text.split()
    out = []
    for i, word in enumerate(words):
        if i and word.lower() in SMALL_WORDS:
            out.append(word.lower())
        elif word[:1].isdigit():
            out.append(word)
        else:
            out.append(word[:1].upper() + word[1:])
    return " ".join(out)


def iter_shops(*, seed: int, shops: int) -> list[ShopSpec]:
    rng = random.Random(f"shops-{seed}")
    names: set[str] = set()
    specs = []
    kind_keys = [kind.key for kind in KINDS]
    for i in range(shops):
        for attempt in range(100):
            name = f"{rng.choice(SHOP_FIRST)} {rng.choice(SHOP_SECOND)}"
            if attempt > 20:
                name = f"{name} {rng.randint(2, 999)}"
            if name not in names:
                break
        names.add(name)
        # A maker works in a few related kinds: start from one, add neighbours by category.
        first = rng.choice(KINDS)
        related = [
            k.key for k in KINDS if k.category.split("-")[0] == first.category.split("-")[0] and k.key != first.key
        ]
        kinds = [first.key, *rng.sample(related, min(len(related), rng.randint(0, 2)))]
        if rng.random() < 0.4:
            kinds.append(rng.choice(kind_keys))
        specs.append(
            ShopSpec(
                index=i,
                name=name,
                slug=slugify(name)[:100] or f"shop-{i}",
                owner_email=f"seller{i + 1}@demo.test",
                kinds=tuple(dict.fromkeys(kinds)),
                colour=rng.choice(COLOURS),
                location=rng.choice(LOCATIONS),
                rating=Decimal(str(round(rng.triangular(3.4, 5.0, 4.8), 1))),
                sales_count=int(rng.paretovariate(1.2) * 20),
                weight=rng.paretovariate(1.5),
            )
        )
    return specs


def _price(rng: random.Random, kind: Kind, material_key: str) -> Decimal:
    low, high = kind.price
    raw = Decimal(str(rng.uniform(low, high))) * MATERIALS[material_key].price_factor
    whole = int(raw)
    cents = rng.choice([Decimal("0.00"), Decimal("0.00"), Decimal("0.50"), Decimal("0.95"), Decimal("0.99")])
    return (Decimal(max(whole, 5)) + cents).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


def _quantity(rng: random.Random) -> int:
    roll = rng.random()
    if roll < 0.03:
        return 0  # sold: the listing stays visible and points to similar pieces
    if roll < 0.85:
        return 1
    if roll < 0.95:
        return rng.randint(2, 5)
    return rng.randint(6, 25)


def _make_listing(rng: random.Random, index: int, shop: ShopSpec) -> ListingSpec:
    kind_key = rng.choice(shop.kinds)
    kind = next(k for k in KINDS if k.key == kind_key)
    material_key = rng.choice(kind.materials)
    material = MATERIALS[material_key]
    colour = rng.choice(COLOURS)
    style = rng.choice(STYLES)
    is_vintage = rng.random() < 0.22
    kind_word = rng.choice(kind.words)
    material_word = rng.choice(material.words)
    maker_word = rng.choice(VINTAGE_WORDS if is_vintage else HANDMADE_WORDS)

    pattern = rng.randrange(6)
    if pattern == 0:
        title = f"{maker_word} {material_word} {kind_word}"
    elif pattern == 1:
        title = f"{maker_word} {colour} {material_word} {kind_word}"
    elif pattern == 2:
        title = f"{style} {material_word} {kind_word}, {maker_word.lower()}"
    elif pattern == 3:
        title = f"{colour.capitalize()} {kind_word} in {material_word} - {maker_word.lower()} {style.lower()} piece"
    elif pattern == 4:
        title = f"{maker_word} {style.lower()} {kind_word} made of {material_word}"
    else:
        title = f"{material_word} {kind_word} - {colour} - {maker_word.lower()}"
    title = _title_case(title)

    # Each detail is a whole sentence: two of them side by side always read as English.
    details = " ".join(rng.sample(kind.details, 2))
    if is_vintage:
        decade = _decade_for(maker_word, rng.choice(["1950s", "1960s", "1970s", "1980s", "1990s"]))
        condition = rng.choice(["excellent", "very good", "good, with light wear", "lovingly used"])
        opening = _with_article(f"{maker_word.lower()} {kind.words[0]}").capitalize()
        description = (
            f"{opening} from the {decade}, in {colour} {material_word}. Condition: {condition}. {details} "
            "Found at an estate sale and cleaned by hand; {availability}"
        )
    else:
        opening = _with_article(f"{style.lower()} {kind.words[0]}").capitalize()
        description = (
            f"{opening} {rng.choice(['made', 'crafted', 'finished'])} by hand from {material_word} in {colour}. "
            f"{details} {rng.choice(CLOSING_LINES)}"
        )

    misspelled = False
    if rng.random() < 0.05:
        for right, wrong in MISSPELLINGS.items():
            if right in title:
                title = title.replace(right, wrong, 1)
                misspelled = True
                break
            if right.capitalize() in title:
                title = title.replace(right.capitalize(), wrong.capitalize(), 1)
                misspelled = True
                break

    tags = [kind.key, material_key, colour, style.lower(), "vintage" if is_vintage else "handmade"]
    if rng.random() < 0.5:
        tags.append("gift")
    price = _price(rng, kind, material_key)
    quantity = _quantity(rng)
    if is_vintage:
        availability = (
            "one of a kind, so only one is available."
            if quantity <= 1
            else f"{quantity} matching pieces came from the same sale."
        )
        description = description.replace("{availability}", availability)
    return ListingSpec(
        index=index,
        shop=shop.index,
        kind=kind.key,
        material=material_key,
        colour=colour,
        style=style,
        is_vintage=is_vintage,
        title=title[:200],
        description=description,
        tags=tuple(dict.fromkeys(tags)),
        price=price,
        quantity=quantity,
        category=kind.category,
        days_old=rng.expovariate(1 / 90),
        misspelled=misspelled,
        words={"kind": kind_word, "material": material_word, "maker": maker_word},
        shape=kind.shape_for(kind_word),
    )


def iter_listings(*, seed: int, products: int, shops: int) -> Iterator[ListingSpec]:
    """Yield ``products`` listings; the same arguments always give the same listings."""
    shop_specs = iter_shops(seed=seed, shops=shops)
    weights = [s.weight for s in shop_specs]
    rng = random.Random(f"listings-{seed}")
    for index in range(products):
        shop = rng.choices(shop_specs, weights=weights)[0]
        yield _make_listing(rng, index, shop)
