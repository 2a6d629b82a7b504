from django.apps import AppConfig


class MessagingConfig(AppConfig):
    name = "messaging"
    verbose_name = "Messages"

    def ready(self) -> None:
        from django.db.models.signals import post_delete, post_save

        from catalog import extensions
        from etsy import outbox
        from messaging import events, receivers, selectors
        from messaging.models import Conversation

        for topic, handler in events.HANDLERS.items():
            outbox.register(topic, handler)
        post_save.connect(
            receivers.forget_buyer_unread_count_after_commit, sender=Conversation, dispatch_uid="messaging_unread_save"
        )
        post_delete.connect(
            receivers.forget_buyer_unread_count_after_commit,
            sender=Conversation,
            dispatch_uid="messaging_unread_delete",
        )
        # The header's unread badge is part of the per-visitor account links the catalog's page shells fill.
        extensions.count_unread_conversations.supply(selectors.count_unread_conversations)
