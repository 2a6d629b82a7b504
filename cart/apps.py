from django.apps import AppConfig


class CartConfig(AppConfig):
    name = "cart"
    verbose_name = "Cart"

    def ready(self) -> None:
        from cart import inventory, receivers, selectors  # noqa: F401  (receivers: login merge, write-through)
        from catalog import extensions

        # Holds are cart lines: the catalog's stock reads and header badge come from here.
        extensions.fetch_inventories.supply(inventory.fetch_inventories)
        extensions.count_cart_items.supply(selectors.count_cart_items)
        extensions.is_in_guest_cart.supply(selectors.is_in_guest_cart)
