"""A deterministic demo catalog: shops, a category tree, listings with photos, past orders and reviews.

``iter_listings(seed=..., products=..., shops=...)`` yields the same ``ListingSpec``
sequence for the same arguments; each spec keeps the structured truth behind its
wording (kind, material, colour, vintage), which the search benchmark judges by.
``load_demo_catalog`` writes it with bulk inserts.

Where each step lives (this package names every public one, for callers and tests): ``specs`` (the
deterministic shops and listings), ``photos`` (their pictures), ``foundations`` (categories, demo accounts,
shops), ``history`` (favorites, past orders, reviews), ``bulk`` (batch size, dated bulk inserts),
``loading`` (``load_demo_catalog``: all of it in order).
"""

from demo.loader.bulk import BATCH
from demo.loader.foundations import DEMO_BUYERS, DEMO_PASSWORD
from demo.loader.loading import MAX_SALES_PER_SHOP, LoadReport, Progress, load_demo_catalog
from demo.loader.specs import CLOSING_LINES, SMALL_WORDS, ListingSpec, ShopSpec, iter_listings, iter_shops

__all__ = [
    "BATCH",
    "CLOSING_LINES",
    "DEMO_BUYERS",
    "DEMO_PASSWORD",
    "MAX_SALES_PER_SHOP",
    "SMALL_WORDS",
    "ListingSpec",
    "LoadReport",
    "Progress",
    "ShopSpec",
    "iter_listings",
    "iter_shops",
    "load_demo_catalog",
]
