from django.apps import AppConfig


class SearchConfig(AppConfig):
    name = "search"
    verbose_name = "Search"

    def ready(self) -> None:
        from etsy import outbox
        from search import events, receivers

        receivers.connect()
        for topic, handler in events.HANDLERS.items():
            outbox.register(topic, handler, queue=events.QUEUE)
