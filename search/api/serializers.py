"""Shapes of search requests and results. The rules (ranges, sorts) are the selector's."""

from rest_framework import serializers

from catalog.api.serializers import ProductCardSerializer
from etsy.api.fields import MAX_ID, MAX_QUERY_TEXT_LENGTH, MONEY_KWARGS, DecimalStringField, QuerySerializer
from search.options import FACET_KEYS
from search.options import MAX_VALUE_LENGTH as MAX_OPTION_VALUE_LENGTH
from search.selectors import MAX_PAGE, MAX_PER_PAGE, MAX_SUGGEST_LENGTH, MIN_SUGGEST_LENGTH
from search.types import PRICE_RANGE_KEYS, SORTS, SUGGESTION_KINDS


class SearchParamsSerializer(QuerySerializer):
    q = serializers.CharField(required=False, allow_blank=True, default="", max_length=MAX_QUERY_TEXT_LENGTH)
    category = serializers.SlugField(
        required=False, max_length=120, help_text="Category slug; includes its subcategories."
    )
    price_min = DecimalStringField(
        required=False,
        help_text="Inclusive lower bound: one of the listing's offerings in stock costs this or more.",
        **MONEY_KWARGS,
    )
    price_max = DecimalStringField(required=False, help_text="Inclusive upper bound.", **MONEY_KWARGS)
    price_range = serializers.ChoiceField(
        choices=list(PRICE_RANGE_KEYS),
        required=False,
        help_text="A price facet's key: its half-open range, low <= price < high (the bounds its count used).",
    )
    vintage = serializers.BooleanField(required=False)
    shop = serializers.IntegerField(
        required=False, min_value=1, max_value=MAX_ID, help_text="Only this shop's listings."
    )
    colour = serializers.CharField(
        required=False,
        max_length=MAX_OPTION_VALUE_LENGTH,
        help_text="A colour option (e.g. `green`): listings with a switched-on offering of it in stock.",
    )
    size = serializers.CharField(
        required=False,
        max_length=MAX_OPTION_VALUE_LENGTH,
        help_text="A size option (e.g. `8`, `xl`). With another option: one offering in stock has both.",
    )
    material = serializers.CharField(
        required=False, max_length=MAX_OPTION_VALUE_LENGTH, help_text="A material option (e.g. `silver`)."
    )
    sort = serializers.ChoiceField(choices=list(SORTS), required=False, default="relevance")
    page = serializers.IntegerField(required=False, default=1, min_value=1, max_value=MAX_PAGE)
    per_page = serializers.IntegerField(required=False, default=24, min_value=1, max_value=MAX_PER_PAGE)


class CategoryFacetSerializer(serializers.Serializer):
    slug = serializers.CharField()
    name = serializers.CharField()
    count = serializers.IntegerField()


class PriceRangeFacetSerializer(serializers.Serializer):
    key = serializers.CharField()
    label = serializers.CharField()
    min = serializers.DecimalField(max_digits=10, decimal_places=2, allow_null=True)
    max = serializers.DecimalField(max_digits=10, decimal_places=2, allow_null=True)
    count = serializers.IntegerField()


class OptionValueFacetSerializer(serializers.Serializer):
    value = serializers.CharField(help_text="The filter's value (normalized: lower case, single spaces).")
    label = serializers.CharField()
    count = serializers.IntegerField()


class OptionFacetSerializer(serializers.Serializer):
    key = serializers.ChoiceField(choices=list(FACET_KEYS), help_text="The filter's parameter.")
    label = serializers.CharField()
    is_chosen = serializers.BooleanField(help_text="Filtered by it: `values` is the chosen one.")
    values = OptionValueFacetSerializer(many=True, help_text="Listings with a switched-on offering in stock of each.")


class FacetsSerializer(serializers.Serializer):
    categories = CategoryFacetSerializer(many=True)
    price_ranges = PriceRangeFacetSerializer(
        many=True, help_text="A listing counts in each range one of its switched-on offerings in stock is in."
    )
    options = OptionFacetSerializer(many=True, help_text="Colour, size, material: those with values.")


class ShopMatchSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    slug = serializers.CharField()


class SearchResultSerializer(serializers.Serializer):
    hits = ProductCardSerializer(many=True, help_text="Listings in rank order.")
    total = serializers.IntegerField()
    page = serializers.IntegerField(source="params.page")
    per_page = serializers.IntegerField(source="params.per_page")
    pages = serializers.IntegerField()
    facets = FacetsSerializer(source="*")
    suggestion = serializers.CharField(allow_null=True, help_text="“Did you mean”, when the query looks misspelt.")
    exact_total = serializers.IntegerField(
        allow_null=True,
        help_text="Hits matching the whole query; those after them match part of it. Null: every hit matches it.",
    )
    shops = ShopMatchSerializer(many=True, help_text="Shops the query names.")
    total_is_capped = serializers.BooleanField(
        help_text="A broad query: more than `total` listings match; the facets count the `total` ranked."
    )
    offers_vintage_filter = serializers.BooleanField(help_text="The query asks for vintage pieces: offer the filter.")
    degraded = serializers.BooleanField(
        help_text="True when the primary search engine failed and the fallback answered."
    )


class SuggestionParamsSerializer(QuerySerializer):
    q = serializers.CharField(
        required=False,
        allow_blank=True,
        default="",
        max_length=MAX_QUERY_TEXT_LENGTH,
        help_text=(
            f"What the shopper has typed so far. Only the first {MAX_SUGGEST_LENGTH} characters are read; "
            f"fewer than {MIN_SUGGEST_LENGTH} (after trimming) give no suggestions."
        ),
    )


class SuggestionSerializer(serializers.Serializer):
    kind = serializers.ChoiceField(
        choices=list(SUGGESTION_KINDS), help_text="`query`: a search to run; `category`: a category to open."
    )
    label = serializers.CharField(help_text="What to show; for `query`, the search text itself.")
    url = serializers.CharField(help_text="Path of the page: the search results, or the category page.")


class SuggestionsSerializer(serializers.Serializer):
    suggestions = SuggestionSerializer(many=True, help_text="Searches (most listings first), then categories.")
