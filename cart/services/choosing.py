"""The offering and quantity a buyer names: parsed, looked up or locked with its listing, checked for sale."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.db.models import QuerySet

from cart.exceptions import MAX_LINE_QUANTITY, InvalidQuantity
from catalog import selectors as catalog_selectors
from catalog.exceptions import OfferingNotFound, ProductNotFound
from catalog.models import Offering, Product
from catalog.stock import lock_offering_with_listing
from etsy.exceptions import DomainError


def _check_quantity(quantity: Any, *, allow_zero: bool = False) -> int:
    lowest = 0 if allow_zero else 1
    if isinstance(quantity, bool) or not isinstance(quantity, int) or not lowest <= quantity <= MAX_LINE_QUANTITY:
        raise InvalidQuantity(
            f"Quantity must be a whole number from {lowest} to {MAX_LINE_QUANTITY:,}.",
            extra={"min": lowest, "max": MAX_LINE_QUANTITY},
        )
    return quantity


def _as_int(value: Any, error: type[DomainError], **extra) -> int:
    if isinstance(value, bool):
        raise error(extra=extra)
    try:
        return int(value)
    except (TypeError, ValueError):
        raise error(extra=extra) from None


def _choice(*, offering_id: Any, product_id: Any, option_ids: Sequence[Any] | None) -> QuerySet[Offering]:
    """The offerings (at most one) the buyer names: ``offering_id`` (of ``product_id`` when given), else the
    one of the chosen ``option_ids`` (one per variation property), else a plain listing's implicit one."""
    if offering_id is not None:
        offerings = Offering.objects.select_related("option1__variation", "option2__variation").filter(
            pk=_as_int(offering_id, OfferingNotFound, product_id=product_id)
        )
        return offerings if product_id is None else offerings.filter(product_id=_as_id(product_id))
    product_id = _as_int(product_id, ProductNotFound)
    return catalog_selectors.list_offerings_for_choice(product_id=product_id, option_ids=option_ids or ())


def _choice_ids(*, offering_id: Any, product_id: Any) -> dict[str, int | None]:
    """The ids the buyer names, as ``catalog.stock.lock_offering_with_listing`` takes them."""
    if offering_id is not None:
        offering_id = _as_int(offering_id, OfferingNotFound, product_id=product_id)
        return {"offering_id": offering_id, "product_id": None if product_id is None else _as_id(product_id)}
    return {"offering_id": None, "product_id": _as_int(product_id, ProductNotFound)}


def _refuse_choice(*, offering_id: Any, product_id: Any, option_ids: Sequence[Any] | None) -> None:
    """Say why a choice named nothing (the error path only: one more read)."""
    if offering_id is not None:
        raise OfferingNotFound("That choice does not exist for this item.", extra={"product_id": product_id})
    if not Product.objects.filter(pk=_as_id(product_id)).exists():
        raise ProductNotFound()
    if option_ids:
        raise OfferingNotFound(extra={"product_id": _as_id(product_id)})
    raise OfferingNotFound(
        "This item comes in several choices: choose one.",
        extra={"product_id": _as_id(product_id), "needs_offering": True},
    )


def _checked(offering: Offering | None, *, user_id: int | None, **choice) -> Offering:
    """The named offering, if its listing is listed for this buyer and the offering switched on.

    Sold-out offerings pass (the stock check says how many are left). Raises ProductNotFound,
    OfferingNotFound, OfferingUnavailable.
    """
    if offering is None:
        _refuse_choice(**choice)
    if not offering.product.is_listed_for(user_id):  # a custom piece only for the buyer it is reserved for
        raise ProductNotFound()
    return catalog_selectors.check_offering_available(offering, include_sold_out=True)


def _lock_offering_for_sale(
    *, offering_id: Any, product_id: Any, user_id: int | None, option_ids: Sequence[Any] | None = None
) -> Offering:
    """Lock the listing of the named offering and return the offering with the locked listing as
    ``offering.product``, in one statement (``catalog.stock.lock_offering_with_listing``).

    Raises ProductNotFound, OfferingNotFound, OfferingUnavailable (switched off).
    """
    choice = {"offering_id": offering_id, "product_id": product_id, "option_ids": option_ids}
    offering = lock_offering_with_listing(
        **_choice_ids(offering_id=offering_id, product_id=product_id), option_ids=option_ids or ()
    )
    return _checked(offering, user_id=user_id, **choice)


def _as_id(value: Any) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return -1
