from django.apps import AppConfig


class CatalogConfig(AppConfig):
    name = "catalog"
    verbose_name = "Catalog"

    def ready(self) -> None:
        from catalog import receivers  # noqa: F401  (cache invalidation)
        from catalog.personalization import send_buffered_views
        from etsy import worker_exit

        # A web process batches the product views it served (sent within a second): send what it holds as it exits.
        worker_exit.register(send_buffered_views)
