"""Search backends: each turns SearchParams into a BackendResult of listing ids in rank order.

``search.selectors.search_products`` picks the backend, caches the answer and loads
the listings; backends never touch the cache or render anything.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from search.options import OptionFacet
from search.types import CategoryFacet, PriceRangeFacet, ShopMatch


@dataclass
class BackendResult:
    ids: list[int]
    total: int
    categories: list[CategoryFacet] = field(default_factory=list)
    price_ranges: list[PriceRangeFacet] = field(default_factory=list)
    options: list[OptionFacet] = field(default_factory=list)
    suggestion: str | None = None
    backend: str = "postgres"
    exact_total: int | None = None  # listings matching the whole query, when partial matches follow them
    shops: list[ShopMatch] = field(default_factory=list)
    offers_vintage_filter: bool = False
    total_is_capped: bool = False  # more than ``total`` match; facets count the listings ranked
