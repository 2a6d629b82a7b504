"""A seller's variations and offerings: the properties a buyer chooses (at most two), the grid of what is sold.

The model stays simple: a listing has exactly one offering per combination of its options (one implicit
offering, with no options, when it has no variation). "The price varies by Size only" is the grid filled
so: every Size-S offering carries the same price. Nothing else records which property varies what.

Properties are matched by position: giving position 0 another name renames it, and its options are matched
by value (a kept value keeps its offerings; a new value adds combinations; a missing value removes them).
Offerings of combinations that disappear are deleted: cart lines pointing at them leave the carts with them
(``CartItem.offering`` cascades: the buyer's cart no longer shows a size that no longer exists) and order
lines keep their frozen title, options, SKU and text (``OrderItem.offering`` is set to NULL). New combinations
start switched on at 0 in stock, at the price of an old offering that shared an option with them, else the
listing's price, so the seller fills in the grid next.

Every write locks the listing (``catalog.stock.lock_products``), recomputes its totals in the same
transaction (``refresh_listing_totals``) and sends ``products_changed`` after commit (caches, search).
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from django.db import transaction

from catalog.models import Offering, Product, Variation, VariationOption
from catalog.services.listings import send_products_changed_on_commit
from catalog.stock import lock_products, refresh_listing_totals
from etsy.exceptions import DomainError

MAX_QUANTITY = 1_000_000
MAX_PRICE = Decimal("99999999.99")
MAX_OPTIONS = 70  # Etsy's limit of options per property
_CENT = Decimal("0.01")


class InvalidOfferings(DomainError):
    """The variations or the grid break a rule; ``extra["fields"]`` names the faulty fields."""

    code = "invalid_offerings"
    status_code = 400
    default_message = "The variations or offerings are not valid."

    def __init__(self, message: str, *, fields: dict[str, str | list[str]] | None = None):
        super().__init__(message, extra={"fields": fields or {"non_field_errors": [message]}})


@dataclass(frozen=True)
class VariationSpec:
    """A variation property as a seller states it: its name and its options, in order."""

    name: str
    options: Sequence[str]


@dataclass(frozen=True)
class OfferingSpec:
    """One cell row of the grid: the option values in property order (empty for a plain listing)."""

    options: Sequence[str]
    price: Decimal
    quantity: int
    sku: str = ""
    is_enabled: bool = True


def _clean_name(value, *, field: str, max_length: int) -> str:
    text = " ".join(str(value or "").split())
    if not text:
        raise InvalidOfferings(f"{field.capitalize()} cannot be empty.", fields={field: "This cannot be empty."})
    if len(text) > max_length:
        raise InvalidOfferings(
            f"{field.capitalize()} {text[:20]!r} is longer than {max_length} characters.",
            fields={field: f"At most {max_length} characters."},
        )
    return text


def clean_price(value, *, field: str = "price") -> Decimal:
    """A price as Decimal with at most two decimals, from 0 to the column's maximum. Raises InvalidOfferings."""
    try:
        price = value if isinstance(value, Decimal) else Decimal(str(value).strip())
    except (InvalidOperation, ValueError):
        raise InvalidOfferings(f"Not a price: {value!r}.", fields={field: "Enter a price such as 12.50."}) from None
    if not price.is_finite() or price < 0 or price > MAX_PRICE:
        raise InvalidOfferings(f"Not a valid price: {value!r}.", fields={field: "Enter a price of 0 or more."})
    if price.as_tuple().exponent < -2:
        raise InvalidOfferings(f"{value} has more than two decimals.", fields={field: "At most two decimals."})
    return price.quantize(_CENT)


def clean_quantity(value, *, field: str = "quantity") -> int:
    """A whole quantity between 0 and a million. Raises InvalidOfferings."""
    if isinstance(value, int) and not isinstance(value, bool):
        quantity = value
    else:
        text = str(value if value is not None else "").strip()
        if isinstance(value, (bool, float)) or not (text.isascii() and text.isdigit()):
            raise InvalidOfferings(f"Not a whole number: {value!r}.", fields={field: "Enter a whole number."})
        quantity = int(text)
    if not 0 <= quantity <= MAX_QUANTITY:
        raise InvalidOfferings(
            f"The quantity {quantity} is out of range.", fields={field: f"Enter 0 to {MAX_QUANTITY:,}."}
        )
    return quantity


def _clean_sku(value, *, field: str = "sku") -> str:
    sku = str(value or "").strip()
    if len(sku) > 64:
        raise InvalidOfferings("A SKU has at most 64 characters.", fields={field: "At most 64 characters."})
    return sku


def clean_variations(variations: Sequence[VariationSpec]) -> list[VariationSpec]:
    """Trim and check the properties: at most two, unique names, non-empty unique options. Raises InvalidOfferings."""
    if len(variations) > Variation.MAX_PER_LISTING:
        raise InvalidOfferings(
            f"A listing has at most {Variation.MAX_PER_LISTING} variation properties.",
            fields={"variations": f"At most {Variation.MAX_PER_LISTING} properties."},
        )
    cleaned, names = [], set()
    for index, spec in enumerate(variations):
        name = _clean_name(spec.name, field=f"variations.{index}.name", max_length=40)
        if name.casefold() in names:
            raise InvalidOfferings(
                f"Two properties are called {name!r}.", fields={f"variations.{index}.name": "Names must differ."}
            )
        names.add(name.casefold())
        options, seen = [], set()
        for position, value in enumerate(spec.options):
            value = _clean_name(value, field=f"variations.{index}.options.{position}", max_length=60)
            if value.casefold() in seen:
                raise InvalidOfferings(
                    f"{name} lists {value!r} twice.",
                    fields={f"variations.{index}.options": f"{value!r} is listed twice."},
                )
            seen.add(value.casefold())
            options.append(value)
        if not options:
            raise InvalidOfferings(
                f"{name} needs at least one option.",
                fields={f"variations.{index}.options": "Give at least one option."},
            )
        if len(options) > MAX_OPTIONS:
            raise InvalidOfferings(
                f"{name} has more than {MAX_OPTIONS} options.",
                fields={f"variations.{index}.options": f"At most {MAX_OPTIONS} options."},
            )
        cleaned.append(VariationSpec(name=name, options=options))
    return cleaned


def _key(values: Iterable[str]) -> tuple[str, ...]:
    return tuple(str(v).strip().casefold() for v in values)


def _lock(product: Product) -> Product:
    locked = lock_products(product_ids=[product.pk]).get(product.pk)
    if locked is None:
        raise InvalidOfferings("The listing no longer exists.")
    return locked


def _finish(product: Product, *, reason: str) -> Product:
    refresh_listing_totals(product_ids=[product.pk])
    send_products_changed_on_commit(product_ids=[product.pk], reason=reason)
    product.refresh_from_db(fields=["price", "quantity", "updated_at"])
    return product


def _write_variations(product: Product, variations: list[VariationSpec]) -> None:
    """Bring the listing's properties and options to ``variations`` and its offerings to one per combination."""
    existing = {v.position: v for v in Variation.objects.filter(product=product).prefetch_related("options")}
    old_offerings = list(Offering.objects.filter(product=product).select_related("option1", "option2"))
    # Names are unique per listing: park the renamed ones first so that swapping two names does not collide.
    for position in sorted(existing):
        if position >= len(variations):
            existing.pop(position).delete()  # its options and their offerings go with it
    renamed = [variation for position, variation in existing.items() if variation.name != variations[position].name]
    for variation in renamed:
        Variation.objects.filter(pk=variation.pk).update(name=f"~renaming {variation.pk}")
    option_rows: list[list[VariationOption]] = []
    for position, spec in enumerate(variations):
        variation = existing.get(position)
        if variation is None:
            variation = Variation.objects.create(product=product, name=spec.name, position=position)
            current = {}
        else:
            if variation.name != spec.name:
                variation.name = spec.name
                variation.save(update_fields=["name"])
            current = {option.value.casefold(): option for option in variation.options.all()}
        wanted = {value.casefold() for value in spec.options}
        VariationOption.objects.filter(pk__in=[o.pk for k, o in current.items() if k not in wanted]).delete()
        rows = []
        for order, value in enumerate(spec.options):
            option = current.get(value.casefold())
            if option is None:
                option = VariationOption.objects.create(variation=variation, value=value, position=order)
            elif (option.position, option.value) != (order, value):
                option.position, option.value = order, value
                option.save(update_fields=["position", "value"])
            rows.append(option)
        option_rows.append(rows)

    combinations = [tuple(c) for c in itertools.product(*option_rows)] if option_rows else [()]
    wanted_ids = {tuple(option.pk for option in combo) for combo in combinations}
    survivors = {}
    for offering in old_offerings:
        ids = tuple(pk for pk in (offering.option1_id, offering.option2_id) if pk is not None)
        if ids in wanted_ids:
            survivors[ids] = offering
    Offering.objects.filter(product=product).exclude(pk__in=[o.pk for o in survivors.values()]).delete()

    def inherited_price(combo) -> Decimal:
        values = {option.value.casefold() for option in combo}
        for offering in old_offerings:
            if {o.value.casefold() for o in (offering.option1, offering.option2) if o is not None} & values:
                return offering.price
        return product.price

    Offering.objects.bulk_create(
        [
            Offering(
                product=product,
                option1=combo[0] if len(combo) > 0 else None,
                option2=combo[1] if len(combo) > 1 else None,
                price=inherited_price(combo),
                quantity=0,
            )
            for combo in combinations
            if tuple(option.pk for option in combo) not in survivors
        ]
    )


@transaction.atomic
def set_variations(*, product: Product, variations: Sequence[VariationSpec]) -> Product:
    """Set the listing's variation properties and options; offerings follow (see the module's rules).

    Locks the listing. Raises InvalidOfferings. Sends products_changed after commit.
    """
    cleaned = clean_variations(variations)
    product = _lock(product)
    _write_variations(product, cleaned)
    return _finish(product, reason="listing")


def _combination_keys(product: Product) -> dict[tuple[str, ...], Offering]:
    offerings = Offering.objects.filter(product=product).select_related("option1", "option2")
    return {_key(option.value for option in (o.option1, o.option2) if option is not None): o for o in offerings}


def _clean_grid(product: Product, grid: Sequence[OfferingSpec]) -> list[tuple[Offering, OfferingSpec]]:
    by_key = _combination_keys(product)
    cleaned, seen = [], set()
    for index, spec in enumerate(grid):
        field = f"offerings.{index}"
        key = _key(spec.options)
        offering = by_key.get(key)
        if offering is None:
            label = " / ".join(spec.options) or "(no options)"
            raise InvalidOfferings(
                f"The listing has no combination {label}.", fields={f"{field}.options": "No such combination."}
            )
        if key in seen:
            raise InvalidOfferings(
                "A combination is given twice.", fields={f"{field}.options": "This combination is given twice."}
            )
        seen.add(key)
        cleaned.append(
            (
                offering,
                OfferingSpec(
                    options=spec.options,
                    price=clean_price(spec.price, field=f"{field}.price"),
                    quantity=clean_quantity(spec.quantity, field=f"{field}.quantity"),
                    sku=_clean_sku(spec.sku, field=f"{field}.sku"),
                    is_enabled=bool(spec.is_enabled),
                ),
            )
        )
    missing = [" / ".join(o.options_label.split(", ")) or "(no options)" for k, o in by_key.items() if k not in seen]
    if missing:
        raise InvalidOfferings(
            f"The grid misses {len(missing)} combination(s): {', '.join(missing[:5])}.",
            fields={"offerings": f"Give every combination ({len(by_key)}); missing: {', '.join(missing[:5])}."},
        )
    return cleaned


def _write_grid(cleaned: list[tuple[Offering, OfferingSpec]]) -> None:
    changed = []
    for offering, spec in cleaned:
        new = (spec.price, spec.quantity, spec.sku, spec.is_enabled)
        if (offering.price, offering.quantity, offering.sku, offering.is_enabled) != new:
            offering.price, offering.quantity, offering.sku, offering.is_enabled = new
            changed.append(offering)
    Offering.objects.bulk_update(changed, ["price", "quantity", "sku", "is_enabled"])


@transaction.atomic
def set_offerings(*, product: Product, offerings: Sequence[OfferingSpec]) -> Product:
    """Write the listing's grid: price, quantity, SKU and on/off of every combination, each exactly once.

    Locks the listing. Raises InvalidOfferings (nothing written). Sends products_changed after commit.
    """
    product = _lock(product)
    _write_grid(_clean_grid(product, offerings))
    return _finish(product, reason="stock")


@transaction.atomic
def replace_offerings(
    *, product: Product, variations: Sequence[VariationSpec], offerings: Sequence[OfferingSpec]
) -> Product:
    """Set properties and the full grid in one step (the API's PUT, a CSV import); all or nothing.

    Locks the listing. Raises InvalidOfferings. Sends products_changed after commit.
    """
    cleaned = clean_variations(variations)
    product = _lock(product)
    _write_variations(product, cleaned)
    _write_grid(_clean_grid(product, offerings))
    return _finish(product, reason="stock")


_UNSET = object()


@transaction.atomic
def update_offering(*, offering: Offering, price=_UNSET, quantity=_UNSET, sku=_UNSET, is_enabled=_UNSET) -> Offering:
    """Change one offering (a PATCH, switching it off). Locks its listing. Raises InvalidOfferings."""
    product = _lock(offering.product)
    offering = Offering.objects.select_related("option1__variation", "option2__variation").get(pk=offering.pk)
    fields = []
    if price is not _UNSET:
        offering.price = clean_price(price)
        fields.append("price")
    if quantity is not _UNSET:
        offering.quantity = clean_quantity(quantity)
        fields.append("quantity")
    if sku is not _UNSET:
        offering.sku = _clean_sku(sku)
        fields.append("sku")
    if is_enabled is not _UNSET:
        offering.is_enabled = bool(is_enabled)
        fields.append("is_enabled")
    if fields:
        offering.save(update_fields=fields)
    _finish(product, reason="stock")
    return offering


def _percent_of(price: Decimal, percent: Decimal) -> Decimal:
    return (price * (Decimal(100) + percent) / Decimal(100)).quantize(_CENT, rounding=ROUND_HALF_UP)


@transaction.atomic
def bulk_edit_offerings(
    *,
    shop,
    product_ids: Iterable[int],
    offering_ids: Iterable[int] | None = None,
    price=None,
    quantity=None,
    price_percent=None,
) -> int:
    """Set the price or quantity of many offerings, or change their prices by a percentage (+10, -15).

    ``shop`` scopes the listings (None: any shop, for marketplace admins); ``offering_ids`` narrows to some
    offerings of those listings (None: all of them). Exactly one of ``price``, ``quantity`` and
    ``price_percent`` is given. Locks the listings in id order. Raises InvalidOfferings. Returns the count.
    """
    if sum(value is not None for value in (price, quantity, price_percent)) != 1:
        raise InvalidOfferings(
            "Give a new price, a new quantity or a percentage: exactly one.",
            fields={"non_field_errors": ["Give exactly one of price, quantity, percentage."]},
        )
    if price is not None:
        price = clean_price(price)
    if quantity is not None:
        quantity = clean_quantity(quantity)
    if price_percent is not None:
        try:
            price_percent = Decimal(str(price_percent).strip())
        except (InvalidOperation, ValueError):
            price_percent = None
        if price_percent is None or not price_percent.is_finite() or not -100 <= price_percent <= 1000:
            raise InvalidOfferings(
                "The percentage must be between -100 and +1000.", fields={"price_percent": "Enter -100 to 1000."}
            )
    scope = Product.objects.filter(pk__in=list(product_ids))
    if shop is not None:
        scope = scope.filter(shop=shop)
    locked = lock_products(product_ids=scope.values_list("pk", flat=True))
    rows = Offering.objects.filter(product_id__in=list(locked)).order_by("pk")
    if offering_ids is not None:
        rows = rows.filter(pk__in=list(offering_ids))
    offerings = list(rows)
    for offering in offerings:
        if price is not None:
            offering.price = price
        elif quantity is not None:
            offering.quantity = quantity
        else:
            offering.price = _percent_of(offering.price, price_percent)
            if offering.price > MAX_PRICE:
                raise InvalidOfferings("A price would exceed the maximum.", fields={"price_percent": "Too large."})
    Offering.objects.bulk_update(offerings, ["quantity" if quantity is not None else "price"])
    touched = sorted({o.product_id for o in offerings})
    refresh_listing_totals(product_ids=touched)
    send_products_changed_on_commit(product_ids=touched, reason="stock")
    return len(offerings)
