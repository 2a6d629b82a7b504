"""Live stock and holds of listings and their offerings (cached 30 seconds)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

from django.utils import timezone

from catalog import extensions
from catalog.models import StockWords
from etsy import cache


@dataclass(frozen=True)
class OfferingStock(StockWords):
    """Live stock, price and hold of one offering, as buyers see it (read with its listing's ``Inventory``).

    ``label`` is ``Offering.options_label`` computed in SQL (a test holds that they agree).
    """

    id: int
    quantity: int
    price: Decimal
    is_enabled: bool = True
    label: str = ""
    sku: str = ""
    reserved_by_user_id: int | None = None
    reserved_until: datetime | None = None

    def is_reserved_for_other(self, user_id: int | None) -> bool:
        return (
            self.reserved_until is not None
            and self.reserved_until > timezone.now()
            and self.reserved_by_user_id != user_id
        )


@dataclass(frozen=True)
class Inventory(StockWords):
    """Live stock of one product: quantity and the latest active reservation, if any, and per offering."""

    quantity: int
    reserved_by_user_id: int | None = None
    reserved_until: datetime | None = None
    offerings: dict[int, OfferingStock] = field(default_factory=dict)

    def get_offering(self, offering_id: int | None) -> OfferingStock | None:
        """Return the live stock of one of the listing's offerings (None: not one of its offerings any more)."""
        return self.offerings.get(offering_id) if offering_id is not None else None

    def is_reserved_for_other(self, user_id: int | None) -> bool:
        return (
            self.reserved_until is not None
            and self.reserved_until > timezone.now()
            and self.reserved_by_user_id != user_id
        )

    def is_held_by(self, user_id: int | None) -> bool:
        """Return whether ``user_id`` (a signed-in buyer) holds the item right now."""
        return (
            user_id is not None
            and self.reserved_until is not None
            and self.reserved_until > timezone.now()
            and self.reserved_by_user_id == user_id
        )


def _fetch_inventories(product_ids: list[int]) -> dict[int, Inventory]:
    """Read stock and live holds; holds are cart lines, so the cart app supplies the reader (catalog.extensions)."""
    return extensions.fetch_inventories(product_ids)


def get_inventory(*, product_id: int, known_missing: bool = False) -> Inventory:
    """Return the product's stock and reservation (cached 30 s, invalidated on sale and cart holds).

    Reservations are stored on cart lines; reading them here keeps "in another buyer's
    cart" on the product page without the catalog writing anything. One query, no lock:
    it is a primary-key read refreshed every 30 s for every product page.
    """
    return cache.cache_aside(
        cache.inventory_key(product_id),
        lambda: _fetch_inventories([product_id])[product_id],
        ttl=cache.TTL["inventory"],
        cache_type="inventory",
        known_missing=known_missing,
        lock=False,
    )


def get_inventories(*, product_ids: list[int], found: dict | None = None) -> dict[int, Inventory]:
    """Return the stock and reservation of several products (cached 30 s; one query for the misses).

    ``found``: the caller's read of these keys (``cache.cache_aside_many``).
    """
    return cache.cache_aside_many(
        product_ids,
        key=cache.inventory_key,
        fetch=_fetch_inventories,
        ttl=cache.TTL["inventory"],
        cache_type="inventory",
        found=found,
    )
