from django.apps import AppConfig


class CartConfig(AppConfig):
    name = "cart"
    verbose_name = "Cart"

    def ready(self) -> None:
        from cart import receivers  # noqa: F401  (login merge, cart write-through)
