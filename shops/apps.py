from django.apps import AppConfig


class ShopsConfig(AppConfig):
    name = "shops"
    verbose_name = "Shops"

    def ready(self) -> None:
        from shops import digest_log  # noqa: F401  (registers DigestLog)
