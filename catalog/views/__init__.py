"""Buyer pages of the catalog, a module per capability.

``browse`` (home feed, category listings), ``filters`` (a listing's query string), ``product`` (the product
page), ``buy_box`` (its buy box), ``favorites`` (the favorites page and buttons), ``media`` (uploaded files
and the benchmark's ceiling view).
"""

# Product page records cached before the views became a package pickled their buy box product as
# ``catalog.views.PageProduct``: that path keeps loading them until they expire.
from catalog.views.buy_box import PageProduct

__all__ = ["PageProduct"]
