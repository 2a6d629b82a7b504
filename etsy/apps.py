from django.apps import AppConfig


class EtsyConfig(AppConfig):
    """The wiring package as an app: its system checks, and tracing started before anything is served."""

    name = "etsy"
    verbose_name = "Marketplace wiring"

    def ready(self) -> None:
        from etsy import (
            checks,  # noqa: F401 - registers the checks
            tracing,
        )

        tracing.start_tracing()
