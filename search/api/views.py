from drf_spectacular.utils import extend_schema
from rest_framework.permissions import AllowAny
from rest_framework.response import Response

from etsy.api.schema import error_response
from etsy.api.views import ApiView
from search.api.serializers import (
    SearchParamsSerializer,
    SearchResultSerializer,
    SuggestionParamsSerializer,
    SuggestionsSerializer,
)
from search.selectors import list_suggestions, search_products
from search.types import SearchParams


class SearchApi(ApiView):
    permission_classes = [AllowAny]

    @extend_schema(
        tags=["search"],
        summary="Search listings: ranked hits, facets, spelling suggestion",
        parameters=[SearchParamsSerializer],
        responses={
            200: SearchResultSerializer,
            400: error_response(
                "Invalid parameters (`invalid`, `invalid_search` with `extra.field`, e.g. `price_min` above "
                "`price_max`)."
            ),
            404: error_response("Unknown category (`category_not_found`)."),
        },
    )
    def get(self, request):
        serializer = SearchParamsSerializer(data=request.query_params)
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        data["shop_id"] = data.pop("shop", None)
        result = search_products(params=SearchParams(**data))
        return Response(SearchResultSerializer(result, context={"request": request}).data)


class SearchSuggestionsApi(ApiView):
    permission_classes = [AllowAny]

    @extend_schema(
        tags=["search"],
        summary="Suggest searches and categories for what the shopper is typing",
        parameters=[SuggestionParamsSerializer],
        responses={
            200: SuggestionsSerializer,
            400: error_response("Invalid parameters (`invalid`): `q` repeated, too long or with NUL characters."),
        },
    )
    def get(self, request):
        serializer = SuggestionParamsSerializer(data=request.query_params)
        serializer.is_valid(raise_exception=True)
        suggestions = list_suggestions(prefix=serializer.validated_data["q"])
        return Response(SuggestionsSerializer({"suggestions": suggestions}).data)
