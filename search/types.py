"""The one result type every search backend returns, and the parameters it takes.

HTML views and the API call ``search.selectors.search_products(params=...)`` and
get a ``SearchResult`` whichever backend (Elasticsearch or PostgreSQL) answered.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Literal

SORTS = ("relevance", "newest", "price_asc", "price_desc")
SUGGESTION_KINDS = ("query", "category")

# The documents' four price facets: Under $25, $25-$50, $50-$100, $100+ (lower bound inclusive).
PRICE_RANGES: tuple[tuple[str, str, Decimal | None, Decimal | None], ...] = (
    ("under-25", "Under $25", None, Decimal("25")),
    ("25-50", "$25 to $50", Decimal("25"), Decimal("50")),
    ("50-100", "$50 to $100", Decimal("50"), Decimal("100")),
    ("100-plus", "$100 and up", Decimal("100"), None),
)


@dataclass(frozen=True)
class SearchParams:
    q: str = ""
    category: str | None = None  # category slug; includes its subcategories
    price_min: Decimal | None = None
    price_max: Decimal | None = None
    vintage: bool | None = None
    shop_id: int | None = None
    sort: str = "relevance"
    page: int = 1
    per_page: int = 24

    @property
    def has_filters(self) -> bool:
        return any(v is not None for v in (self.category, self.price_min, self.price_max, self.vintage, self.shop_id))

    @property
    def query_type(self) -> str:
        """'keyword' with words, 'browse' without; the metrics label."""
        return "keyword" if self.q.strip() else "browse"


@dataclass(frozen=True)
class CategoryFacet:
    slug: str
    name: str
    count: int


@dataclass(frozen=True)
class PriceRangeFacet:
    key: str
    label: str
    min: Decimal | None
    max: Decimal | None
    count: int


@dataclass
class SearchResult:
    params: SearchParams
    hits: list[Any]  # catalog.Product rows, in rank order, ready to render
    total: int
    categories: list[CategoryFacet] = field(default_factory=list)
    price_ranges: list[PriceRangeFacet] = field(default_factory=list)
    suggestion: str | None = None  # "did you mean"
    degraded: bool = False  # answered by the fallback because the primary backend failed
    backend: str = "postgres"

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.params.per_page))


@dataclass(frozen=True)
class Suggestion:
    """One line under the search box: a search to run or a category to open."""

    kind: Literal["query", "category"]
    label: str
    url: str
