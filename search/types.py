"""The one result type every search backend returns, and the parameters it takes.

HTML views and the API call ``search.selectors.search_products(params=...)`` and
get a ``SearchResult`` whichever backend (Elasticsearch or PostgreSQL) answered.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Literal

from search.options import OptionFacet

SORTS = ("relevance", "newest", "price_asc", "price_desc")
SUGGESTION_KINDS = ("query", "category")

# The documents' four price facets: Under $25, $25-$50, $50-$100, $100+. Each is the half-open
# interval [low, high): a $50.00 listing is in "$50 to $100" only. The facet counts and the
# ``price_range`` filter both use these bounds (``price_range_bounds``), in both backends.
# A listing is in a range when one of its switched-on offerings in stock is: a ring offered at
# $20 and $60 is in "Under $25" and "$50 to $100", not in "$25 to $50" (``price_window``).
PRICE_RANGES: tuple[tuple[str, str, Decimal | None, Decimal | None], ...] = (
    ("under-25", "Under $25", None, Decimal("25")),
    ("25-50", "$25 to $50", Decimal("25"), Decimal("50")),
    ("50-100", "$50 to $100", Decimal("50"), Decimal("100")),
    ("100-plus", "$100 and up", Decimal("100"), None),
)
PRICE_RANGE_KEYS = tuple(key for key, *_ in PRICE_RANGES)


def price_range_bounds(key: str) -> tuple[Decimal | None, Decimal | None]:
    """Return the range's (inclusive low, exclusive high); raises KeyError for an unknown key."""
    for range_key, _label, low, high in PRICE_RANGES:
        if range_key == key:
            return low, high
    raise KeyError(key)


def price_window(params: SearchParams) -> tuple[Decimal | None, Decimal | None, bool] | None:
    """Return the one price window a listing must have an offering in: (inclusive low, high, high inclusive).

    ``price_min``/``price_max`` are inclusive, ``price_range`` half-open; given together, the window is
    their intersection (one offering must be in both). None: no price filter.
    """
    low, high, high_inclusive = params.price_min, params.price_max, params.price_max is not None
    if params.price_range is not None:
        range_low, range_high = price_range_bounds(params.price_range)
        if range_low is not None and (low is None or range_low > low):
            low = range_low
        if range_high is not None and (high is None or range_high <= high):
            high, high_inclusive = range_high, False
    if low is None and high is None:
        return None
    return low, high, high_inclusive


@dataclass(frozen=True)
class SearchParams:
    q: str = ""
    category: str | None = None  # category slug; includes its subcategories
    price_min: Decimal | None = None
    price_max: Decimal | None = None  # inclusive, like price_min
    price_range: str | None = None  # a PRICE_RANGES key: low <= price < high
    vintage: bool | None = None
    shop_id: int | None = None
    # Variation options (search/options.py): normalized values; a listing matches when one switched-on
    # offering in stock has every option chosen.
    colour: str | None = None
    size: str | None = None
    material: str | None = None
    sort: str = "relevance"
    page: int = 1
    per_page: int = 24

    @property
    def has_filters(self) -> bool:
        return any(
            v is not None
            for v in (
                self.category,
                self.price_min,
                self.price_max,
                self.price_range,
                self.vintage,
                self.shop_id,
                *self.chosen_options.values(),
            )
        )

    @property
    def chosen_options(self) -> dict[str, str]:
        """{facet: value} of the option filters given ("colour", "size", "material")."""
        return {facet: getattr(self, facet) for facet in ("colour", "size", "material") if getattr(self, facet)}

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


@dataclass(frozen=True)
class ShopMatch:
    """A shop whose name the query names ("rowan" -> Rowan Trading Post), shown above the results."""

    id: int
    name: str
    slug: str


@dataclass
class SearchResult:
    params: SearchParams
    hits: list[Any]  # catalog.Product rows, in rank order, ready to render
    total: int
    categories: list[CategoryFacet] = field(default_factory=list)
    price_ranges: list[PriceRangeFacet] = field(default_factory=list)
    options: list[OptionFacet] = field(default_factory=list)  # colour, size, material (those with values)
    suggestion: str | None = None  # "did you mean"
    degraded: bool = False  # answered by the fallback because the primary backend failed
    backend: str = "postgres"
    # Listings matching every concept of the query come first; ``exact_total`` of them. The rest
    # (missing one concept, or only a category) follow under "More results for part of your search".
    exact_total: int | None = None  # None: every hit matches the whole query
    shops: list[ShopMatch] = field(default_factory=list)
    offers_vintage_filter: bool = False  # the query asks for vintage pieces and the filter is not set
    total_is_capped: bool = False  # a broad query: more than ``total`` match ("10,000+"), facets of those ranked

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.params.per_page))

    @property
    def total_label(self) -> str:
        """The number of results as shown: "10,000+" past the bound broad queries are counted to."""
        return f"{self.total:,}+" if self.total_is_capped else f"{self.total:,}"

    @property
    def partial_from(self) -> int | None:
        """Index in ``hits`` where listings matching only part of the query start, or None."""
        if self.exact_total is None or self.exact_total >= self.total:
            return None
        start = max(0, self.exact_total - (self.params.page - 1) * self.params.per_page)
        return start if start < len(self.hits) else None

    @property
    def exact_hits(self) -> list[Any]:
        start = self.partial_from
        return self.hits if start is None else self.hits[:start]

    @property
    def partial_hits(self) -> list[Any]:
        start = self.partial_from
        return [] if start is None else self.hits[start:]


@dataclass(frozen=True)
class Suggestion:
    """One line under the search box: a search to run or a category to open."""

    kind: Literal["query", "category"]
    label: str
    url: str
