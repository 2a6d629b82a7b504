"""Search's outbox topics: index work published in the writer's own transaction (registered in SearchConfig.ready()).

A broker outage delays this work and loses none: the row waits for the sweep, like an order's. The rows run on the
``search`` queue; a cluster error raises, so the outbox retries with backoff and parks a row that keeps failing.
"""

from __future__ import annotations

from etsy.outbox import DONE

TOPIC_INDEX_PRODUCTS = "search.index_products"
TOPIC_INDEX_SHOP = "search.index_shop"
TOPIC_REFRESH_CATEGORY = "search.refresh_category"
QUEUE = "search"


def index_products(payload: dict) -> str:
    from search import indexing

    indexing.index_products(list(payload["product_ids"]))
    return DONE


def index_shop(payload: dict) -> str:
    from search import indexing

    indexing.index_shop_products(int(payload["shop_id"]))
    return DONE


def refresh_category(payload: dict) -> str:
    from search.services import refresh_category_listings

    refresh_category_listings(category_id=int(payload["category_id"]))
    return DONE


HANDLERS = {
    TOPIC_INDEX_PRODUCTS: index_products,
    TOPIC_INDEX_SHOP: index_shop,
    TOPIC_REFRESH_CATEGORY: refresh_category,
}
