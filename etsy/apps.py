from django.apps import AppConfig


class EtsyConfig(AppConfig):
    """The wiring package as an app: only for its system checks."""

    name = "etsy"
    verbose_name = "Marketplace wiring"

    def ready(self) -> None:
        from etsy import checks  # noqa: F401 - registers the checks
