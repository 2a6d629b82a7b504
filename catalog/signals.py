"""Events other apps listen to without the sender knowing them (search sync, cache invalidation).

``products_changed`` is sent after commit by every service that writes products
without ``Model.save()`` (``QuerySet.update``, ``bulk_create``): stock decrements
at checkout, restocks, bulk admin actions. ``save()`` already sends ``post_save``.
"""

from django.dispatch import Signal

# kwargs: product_ids: list[int], reason: str ("stock", "price", "listing", "bulk", "deleted"); optionally
# listings: {product id: (category_id, shop_id)} as committed, when the sender knows them (receivers need not read them)
products_changed = Signal()
