from django.dispatch import Signal

# Sent after commit when a shop's denormalized figures change through update():
# kwargs: shop_id: int, fields: list[str] (e.g. ["rating", "review_count"] or ["sales_count"])
shop_changed = Signal()
