"""Buyer pages of the catalog, a module per capability.

``browse`` (home feed, category listings), ``filters`` (a listing's query string), ``product`` (the product
page), ``buy_box`` (its buy box), ``favorites`` (the favorites page and buttons), ``media`` (uploaded files
and the benchmark's ceiling view).
"""

# Product page records pickle their buy box product as ``catalog.views.PageProduct``, the path it had before the
# views became a package: records of either code are read by the other (a rolling deploy, a rollback).
from catalog.views.buy_box import PageProduct

PageProduct.__module__ = __name__

__all__ = ["PageProduct"]
