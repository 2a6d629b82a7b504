"""The product page's choices: variation selects and personalisation (cached with the listing)."""

from __future__ import annotations

from dataclasses import dataclass, replace
from decimal import Decimal

from catalog.models import Offering, Personalization, Product, StockWords
from catalog.selectors.inventory import Inventory
from etsy import cache


@dataclass(frozen=True)
class OptionChoice:
    pk: int
    value: str


@dataclass(frozen=True)
class PropertyChoice:
    """One variation property as the buy box offers it ("Size"), with the options some offering carries."""

    pk: int
    name: str
    options: tuple[OptionChoice, ...]


@dataclass(frozen=True)
class OfferingChoice(StockWords):
    """One offering as the page shows it: its options (in property order), price, stock, on or off."""

    pk: int
    option_ids: tuple[int, ...]
    label: str  # "Size: 7, Metal: Silver"
    price: Decimal
    quantity: int
    is_enabled: bool


class ChoiceState:
    INCOMPLETE = "incomplete"  # a property left unchosen
    MISSING = "missing"  # no offering has this combination
    SWITCHED_OFF = "switched_off"
    SOLD_OUT = "sold_out"
    RESERVED = "reserved"  # its one piece is held in another buyer's cart
    AVAILABLE = "available"


CHOICE_MESSAGES = {
    ChoiceState.MISSING: "That combination is not available. Choose another.",
    ChoiceState.SWITCHED_OFF: "That combination is not available. Choose another.",
    ChoiceState.SOLD_OUT: "That combination is sold out. Choose another.",
    ChoiceState.RESERVED: "Another buyer has that one in their cart right now; if they don't check out, it's yours.",
}


@dataclass(frozen=True)
class ListingChoices:
    """What a buyer chooses on a listing's page: its variation properties and offerings, and the
    personalisation it asks for. Kept with the listing's cached page (``get_listing_choices``)."""

    properties: tuple[PropertyChoice, ...]
    offerings: tuple[OfferingChoice, ...]
    personalization: str
    personalization_prompt: str
    personalization_max_length: int

    @property
    def has_variations(self) -> bool:
        return bool(self.properties)

    @property
    def asks_personalization(self) -> bool:
        return self.personalization != Personalization.NONE

    @property
    def requires_personalization(self) -> bool:
        return self.personalization == Personalization.REQUIRED

    def with_live_stock(self, inventory: Inventory) -> ListingChoices:
        """These choices with each offering's stock, price and switch as the live ``inventory`` has them (30 s,
        dropped on every sale and hold), fresher than the cached choices."""
        live = inventory.offerings
        if not live:
            return self
        offerings = tuple(
            replace(o, quantity=stock.quantity, price=stock.price, is_enabled=stock.is_enabled)
            if (stock := live.get(o.pk)) is not None
            else o
            for o in self.offerings
        )
        return replace(self, offerings=offerings)

    def chosen(self, option_ids) -> tuple[int | None, ...]:
        """The buyer's option per property, in property order (None where unchosen); stray ids are dropped."""
        wanted = set()
        for value in option_ids or ():
            try:
                wanted.add(int(value))
            except (TypeError, ValueError):
                continue
        return tuple(
            next((option.pk for option in prop.options if option.pk in wanted), None) for prop in self.properties
        )

    def find(self, option_ids) -> tuple[str, OfferingChoice | None]:
        """Return the state of the buyer's choice (``ChoiceState``) and the offering it names, if any."""
        chosen = self.chosen(option_ids)
        if None in chosen:
            return ChoiceState.INCOMPLETE, None
        offering = next((o for o in self.offerings if o.option_ids == chosen), None)
        if offering is None:
            return ChoiceState.MISSING, None
        if not offering.is_enabled:
            return ChoiceState.SWITCHED_OFF, offering
        if offering.is_sold_out:
            return ChoiceState.SOLD_OUT, offering
        return ChoiceState.AVAILABLE, offering


def _offerings_with_options():
    return Offering.objects.select_related("option1__variation", "option2__variation").order_by("id")


def _fetch_listing_choices(product: Product) -> ListingChoices:
    return _choices_of(product, list(_offerings_with_options().filter(product_id=product.pk)))


def read_listing_choices(*, products: list[Product]) -> dict[int, ListingChoices]:
    """Return each product's choices as :func:`get_listing_choices` builds them, read from the database in one query
    (uncached: a cached page's check against the database)."""
    rows: dict[int, list[Offering]] = {p.pk: [] for p in products}
    for row in _offerings_with_options().filter(product_id__in=list(rows)):
        rows[row.product_id].append(row)
    return {p.pk: _choices_of(p, rows[p.pk]) for p in products}


def _choices_of(product: Product, rows: list[Offering]) -> ListingChoices:
    variations: dict[int, tuple] = {}
    options: dict[int, dict[int, tuple]] = {}
    for row in rows:
        for option in (row.option1, row.option2):
            if option is not None:
                variations[option.variation_id] = (option.variation.position, option.variation.name)
                options.setdefault(option.variation_id, {})[option.pk] = (option.position, option.value)
    properties = tuple(
        PropertyChoice(
            pk=vid,
            name=name,
            options=tuple(
                OptionChoice(pk=oid, value=value)
                for oid, (_, value) in sorted(options[vid].items(), key=lambda item: (item[1][0], item[0]))
            ),
        )
        for vid, (_, name) in sorted(variations.items(), key=lambda item: item[1][0])
    )
    order = [prop.pk for prop in properties]

    def in_property_order(row: Offering) -> tuple[int, ...]:
        chosen = [option for option in (row.option1, row.option2) if option is not None]
        return tuple(option.pk for option in sorted(chosen, key=lambda option: order.index(option.variation_id)))

    offerings = tuple(
        OfferingChoice(
            pk=row.pk,
            option_ids=in_property_order(row),
            label=row.options_label,
            price=row.price,
            quantity=row.quantity,
            is_enabled=row.is_enabled,
        )
        for row in rows
    )
    return ListingChoices(
        properties=properties,
        offerings=offerings,
        personalization=product.personalization,
        personalization_prompt=product.personalization_prompt,
        personalization_max_length=product.personalization_max_length,
    )


def get_listing_choices(*, product: Product) -> ListingChoices:
    """Return the listing's variation properties, offerings and personalisation ask (cached 5 minutes).

    One query on a miss. Dropped with the listing's other entries (``catalog.receivers``) when the listing,
    one of its offerings or options changes, or it sells.
    """
    return cache.cache_aside(
        cache.product_choices_key(product.pk),
        lambda: _fetch_listing_choices(product),
        ttl=cache.TTL["product"],
        cache_type="product",
    )
