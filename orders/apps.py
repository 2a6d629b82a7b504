from django.apps import AppConfig


class OrdersConfig(AppConfig):
    name = "orders"
    verbose_name = "Orders"

    def ready(self) -> None:
        from catalog import extensions
        from etsy import outbox
        from orders import events, receivers, selectors  # noqa: F401  (receivers: reviews announce shop changes)

        for topic, handler in events.HANDLERS.items():
            outbox.register(topic, handler, many=events.MANY_HANDLERS.get(topic))
        # Reviews and purchases live here; the catalog's pages and feed ask for them through its hooks.
        extensions.list_shop_reviews.supply(selectors.list_shop_reviews)
        extensions.list_latest_reviews_of_shops.supply(selectors.list_latest_reviews_of_shops)
        extensions.list_purchased_product_ids.supply(selectors.list_purchased_product_ids)
