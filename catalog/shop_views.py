"""The public shop page (a shop's storefront): banner, logo, listings, reviews, favorite-shop button."""

from __future__ import annotations

from django.http import Http404, HttpRequest, HttpResponse

from catalog import extensions
from catalog import selectors as catalog_selectors
from catalog.shells import favorite_ids_of, render_personal, shell_response
from catalog.views.filters import PER_PAGE, SORT_CHOICES, filters_query, listing_filters
from etsy import cache
from shops import selectors
from shops.exceptions import ShopNotFound


def shop_detail(request: HttpRequest, slug: str) -> HttpResponse:
    try:
        shop = selectors.get_shop_by_slug(slug=slug)
    except ShopNotFound:
        raise Http404("No such shop") from None
    filters = listing_filters(request)
    key = f"page:shop:{shop.pk}:{cache.params_digest(filters)}"

    def build():
        return {
            "shop": shop,
            "listing": catalog_selectors.list_products_page(shop_id=shop.pk, per_page=PER_PAGE, **filters),
            "reviews": extensions.list_shop_reviews(shop_id=shop.pk),
            "filters": filters,
            "query": filters_query(filters),
            "sort_choices": SORT_CHOICES,
        }

    is_favorite = shop.pk in favorite_ids_of(request).shop_ids
    return shell_response(
        request,
        key=key,
        ttl=cache.TTL["shop"],
        cache_type="page",
        template="shops/shop_detail.html",
        build_context=build,
        gen_keys=(cache.shop_products_gen_key(shop.pk),),
        holes={
            "favorite_shop": render_personal(
                request, "favorite_shop_button", {"shop_id": shop.pk, "is_favorite": is_favorite}
            )
        },
    )
