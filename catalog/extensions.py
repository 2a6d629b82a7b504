"""What the catalog asks of the apps above it, as hooks they supply from AppConfig.ready() (etsy/hooks.py).

Each default is the right answer when the upper app is absent, so catalog pages work on their own.
"""

from __future__ import annotations

from etsy.hooks import Hook


def _stock_without_holds(product_ids: list[int]) -> dict:
    from catalog.models import Product
    from catalog.selectors import Inventory

    found = dict(Product.objects.filter(pk__in=product_ids).values_list("pk", "quantity"))
    return {pk: Inventory(quantity=found.get(pk, 0)) for pk in product_ids}


#: ``(product_ids) -> {id: Inventory}``: stock with each product's latest live hold; the cart supplies it
#: (holds are cart lines). Read through the 30-second stock cache (catalog.selectors.get_inventories).
fetch_inventories = Hook("catalog.fetch_inventories", default=_stock_without_holds)

#: ``(*, session, product_id) -> bool``: whether a guest's cart has the listing (a guest's unique item is not held,
#: so the buy box asks); the cart supplies it.
is_in_guest_cart = Hook("catalog.is_in_guest_cart", default=lambda *, session, product_id: False)

#: ``(*, user=None, session=None) -> int``: the header's cart badge; the cart supplies it.
count_cart_items = Hook("catalog.count_cart_items", default=lambda *, user=None, session=None: 0)

#: ``(*, user_id) -> list[int]``: what a buyer has bought, a signal of the personalized feed; orders supplies it.
list_purchased_product_ids = Hook("catalog.list_purchased_product_ids", default=lambda *, user_id: [])

#: ``(*, shop_id, limit) -> list``: a shop's latest reviews, for the shop and product pages; orders supplies it.
list_shop_reviews = Hook("catalog.list_shop_reviews", default=lambda *, shop_id, limit=10: [])

#: ``(*, shop_ids, limit) -> {shop_id: list}``: each shop's latest reviews read from the database in one query (a
#: cached product page's check); orders supplies it.
list_latest_reviews_of_shops = Hook(
    "catalog.list_latest_reviews_of_shops", default=lambda *, shop_ids, limit: {pk: [] for pk in shop_ids}
)

#: ``(*, user_id) -> int``: conversations with a reply the buyer has not read (the header badge); messaging
#: supplies it, cached per user in Redis so a signed-in page stays one cache read.
count_unread_conversations = Hook("catalog.count_unread_conversations", default=lambda *, user_id: 0)
