"""Offerings: what a buyer's choice of options resolves to, and a listing's offerings and variations."""

from __future__ import annotations

from collections.abc import Sequence

from django.db.models import Count, IntegerField, OuterRef, Q, QuerySet, Subquery, Value
from django.db.models.functions import Coalesce

from catalog.exceptions import OfferingNotFound, OfferingUnavailable
from catalog.models import Offering, Variation

# The contract every adapter that sells shares (cart API, cart form, product page):
#   HTML form fields posted to the cart's add view: ``product`` (listing id), ``options`` (repeated, one
#   VariationOption id per variation property), ``offering`` (optional: an offering id instead of the
#   options), ``quantity``, ``personalization``.
#   API (POST /api/v1/cart/items): ``offering_id`` (or ``product_id`` for a listing without variations),
#   ``quantity``, ``personalization``.
# Both resolve through ``get_offering_for_choice`` / ``get_offering`` below; listing visibility (listed, or
# reserved for this buyer) is the caller's rule (``Product.is_listed_for``), stock and holds the cart's.


def _offering_queryset() -> QuerySet[Offering]:
    return Offering.objects.select_related("product", "option1__variation", "option2__variation")


def check_offering_available(offering: Offering, *, include_sold_out: bool = False) -> Offering:
    if not offering.is_enabled:
        raise OfferingUnavailable(
            "That choice is switched off by the seller.",
            extra={"offering_id": offering.pk, "product_id": offering.product_id, "reason": "switched_off"},
        )
    if not include_sold_out and offering.quantity <= 0:
        raise OfferingUnavailable(
            "That choice is sold out.",
            extra={"offering_id": offering.pk, "product_id": offering.product_id, "reason": "sold_out"},
        )
    return offering


def _as_ids(values: Sequence) -> list[int] | None:
    ids = []
    for value in values:
        if isinstance(value, bool):
            return None
        try:
            ids.append(int(value))
        except (TypeError, ValueError):
            return None
    return ids


def _choice_ids(product_id, option_ids: Sequence) -> tuple[int, list[int]]:
    ids = _as_ids(option_ids)
    try:
        product_id = int(product_id)
    except (TypeError, ValueError):
        ids = None
    if ids is None or len(ids) != len(set(ids)) or len(ids) > Variation.MAX_PER_LISTING:
        raise OfferingNotFound(extra={"product_id": product_id})
    return product_id, ids


def list_offerings_for_choice(*, product_id: int, option_ids: Sequence[int] = ()) -> QuerySet[Offering]:
    """Return the listing's offerings (at most one) that carry exactly the chosen options, one per variation
    property; a listing without variations: its implicit offering. With listing and options loaded.

    The one home of "which offering is this choice" (``get_offering_for_choice`` asks it; the cart's locking
    read asks ``offering_choice_sql``, its hand-written twin). Raises OfferingNotFound for malformed input (not
    ids, an option twice, more than two).
    """
    product_id, ids = _choice_ids(product_id, option_ids)
    # The offering must carry exactly the chosen options and the listing exactly that many properties, so a
    # stale option-less offering of a listing that has since gained variations is never picked.
    variation_count = Subquery(
        Variation.objects.filter(product_id=OuterRef("product_id"))
        .values("product_id")
        .annotate(n=Count("id"))
        .values("n"),
        output_field=IntegerField(),
    )
    candidates = _offering_queryset().filter(product_id=product_id)
    if not ids:
        candidates = candidates.filter(option1__isnull=True, option2__isnull=True)
    elif len(ids) == 1:
        candidates = candidates.filter(option1_id=ids[0], option2__isnull=True)
    else:
        first, second = ids
        candidates = candidates.filter(Q(option1_id=first, option2_id=second) | Q(option1_id=second, option2_id=first))
    return candidates.alias(variation_count=Coalesce(variation_count, Value(0))).filter(variation_count=len(ids))


def offering_choice_sql(*, product_id: int, option_ids: Sequence[int] = (), offering: str = "o") -> tuple[str, list]:
    """``list_offerings_for_choice`` as a SQL condition over the offering row aliased ``offering``, with its
    parameters, for hand-written reads (``catalog.stock.lock_offering_with_listing``): the ORM took longer to
    build that read than PostgreSQL to answer it. tests/catalog/test_offering_choice_sql.py checks that the two
    pick the same offering. Raises OfferingNotFound for malformed input, as the queryset does.
    """
    product_id, ids = _choice_ids(product_id, option_ids)
    o = offering
    if not ids:
        options, params = f"{o}.option1_id IS NULL AND {o}.option2_id IS NULL", []
    elif len(ids) == 1:
        options, params = f"{o}.option1_id = %s AND {o}.option2_id IS NULL", ids
    else:
        options = f"(({o}.option1_id = %s AND {o}.option2_id = %s) OR ({o}.option1_id = %s AND {o}.option2_id = %s))"
        params = [ids[0], ids[1], ids[1], ids[0]]
    # Exactly as many variation properties as options chosen (see list_offerings_for_choice).
    condition = (
        f"{o}.product_id = %s AND {options} AND (SELECT COUNT(*) FROM {Variation._meta.db_table} AS v"
        f" WHERE v.product_id = {o}.product_id) = %s"
    )
    return condition, [product_id, *params, len(ids)]


def get_offering_for_choice(
    *, product_id: int, option_ids: Sequence[int] = (), include_sold_out: bool = False
) -> Offering:
    """Return the switched-on offering of the listing for the buyer's options (one per variation property).

    A listing without variations resolves to its implicit offering with no options. One query; the
    offering comes with its listing and its options' properties (``options_label`` reads them).
    Raises OfferingNotFound (no such combination, an option of another listing, a property left
    unchosen or chosen twice), OfferingUnavailable (switched off; sold out unless ``include_sold_out``).
    """
    offering = list_offerings_for_choice(product_id=product_id, option_ids=option_ids).first()
    if offering is None:
        raise OfferingNotFound(extra={"product_id": product_id})
    return check_offering_available(offering, include_sold_out=include_sold_out)


def get_offering(*, offering_id: int, product_id: int | None = None, include_sold_out: bool = False) -> Offering:
    """Return a switched-on offering by id (of ``product_id`` when given), with its listing and options.

    Raises OfferingNotFound (unknown, or of another listing), OfferingUnavailable (switched off; sold out
    unless ``include_sold_out``).
    """
    try:
        offering_id = int(offering_id)
    except (TypeError, ValueError):
        raise OfferingNotFound(extra={"product_id": product_id}) from None
    offerings = _offering_queryset().filter(pk=offering_id)
    if product_id is not None:
        offerings = offerings.filter(product_id=product_id)
    offering = offerings.first()
    if offering is None:
        raise OfferingNotFound("That choice does not exist for this item.", extra={"product_id": product_id})
    return check_offering_available(offering, include_sold_out=include_sold_out)


def list_offerings(*, product_id: int) -> list[Offering]:
    """Return the listing's offerings (switched off ones too) with their options, in option order."""
    return list(
        _offering_queryset()
        .filter(product_id=product_id)
        .order_by("option1__position", "option1_id", "option2__position", "option2_id", "id")
    )


def list_variations(*, product_id: int) -> list[Variation]:
    """Return the listing's variation properties in order, each with its options prefetched in order."""
    return list(Variation.objects.filter(product_id=product_id).prefetch_related("options").order_by("position"))
