"""Reads of a seller's variations and offerings (the offerings editor, the seller API, the CSV export)."""

from __future__ import annotations

from django.db.models import Prefetch, QuerySet

from catalog.exceptions import ProductNotFound
from catalog.models import Offering, Product, Variation
from etsy.exceptions import NotFound


class OfferingNotFound(NotFound):
    code = "offering_not_found"
    default_message = "That offering does not exist on this listing."


def _grid_queryset() -> QuerySet[Offering]:
    return Offering.objects.select_related("option1__variation", "option2__variation").order_by(
        "option1__position", "option2__position", "pk"
    )


def list_offerings_grid(*, product: Product) -> list[Offering]:
    """The listing's offerings in grid order: by the first property's options, then the second's."""
    return list(_grid_queryset().filter(product=product))


def list_variations(*, product: Product) -> list[Variation]:
    """The listing's variation properties with their options, in order."""
    return list(Variation.objects.filter(product=product).prefetch_related("options").order_by("position"))


def with_offerings(products: QuerySet[Product]) -> QuerySet[Product]:
    """Prefetch each listing's properties (with options) and offerings in grid order: no query per listing."""
    return products.prefetch_related(
        Prefetch("variations", queryset=Variation.objects.prefetch_related("options").order_by("position")),
        Prefetch("offerings", queryset=_grid_queryset()),
    )


def get_offering_for_seller(*, shop, product_id: int, offering_id: int) -> Offering:
    """One offering of one of ``shop``'s listings. Raises ProductNotFound or OfferingNotFound."""
    if not Product.objects.filter(pk=product_id, shop=shop).exists():
        raise ProductNotFound()
    offering = _grid_queryset().select_related("product").filter(pk=offering_id, product_id=product_id).first()
    if offering is None:
        raise OfferingNotFound()
    return offering
