from django.apps import AppConfig


class DemoConfig(AppConfig):
    """The demo catalog loader: the top layer, free to use every app below it; nothing imports it."""

    name = "demo"
    verbose_name = "Demo catalog"
