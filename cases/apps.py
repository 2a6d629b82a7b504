from django.apps import AppConfig


class CasesConfig(AppConfig):
    name = "cases"
    verbose_name = "Cases"

    def ready(self) -> None:
        from cases import events, receivers, selectors
        from etsy import outbox
        from orders import extensions
        from payments.signals import refund_booked

        for topic, handler in events.HANDLERS.items():
            outbox.register(topic, handler)
        # Orders asks, without importing us: no review while a case is open; the order page's case section.
        extensions.is_review_blocked.supply(selectors.has_active_case)
        extensions.order_case_section.supply(selectors.get_order_case_section)
        extensions.list_order_timeline_entries.supply(selectors.list_timeline_entries)
        # A full refund booked outside the case (payments admin, cancellation) resolves it.
        refund_booked.connect(receivers.resolve_case_after_full_refund_on_commit, dispatch_uid="cases.refund_booked")
