from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.response import Response

from catalog import selectors as catalog_selectors
from catalog.api.serializers import ProductCardSerializer, ProductFilterSerializer
from etsy.api.schema import error_response
from etsy.api.views import ApiListView, ApiView
from shops import selectors, services, stats
from shops.api.permissions import IsShopOwner
from shops.api.serializers import (
    ReviewSerializer,
    SellerShopSerializer,
    ShopReviewsParamsSerializer,
    ShopSerializer,
    ShopStatsSerializer,
    ShopUpdateSerializer,
    ShopWriteSerializer,
    StatsParamsSerializer,
)
from shops.selectors_seller import get_shop_for_request

_SHOP_404 = error_response("No such shop, or it is closed (`shop_not_found`).")


class ShopProductFilterSerializer(ProductFilterSerializer):
    shop = None  # the shop is in the path


class ShopDetailApi(ApiView):
    permission_classes = [AllowAny]

    @extend_schema(tags=["shops"], summary="A shop's public profile", responses={200: ShopSerializer, 404: _SHOP_404})
    def get(self, request, shop_id: int):
        shop = selectors.get_shop_card(shop_id=shop_id)
        return Response(ShopSerializer(shop, context={"request": request}).data)


class ShopProductListApi(ApiListView):
    permission_classes = [AllowAny]
    serializer_class = ProductCardSerializer

    def get_queryset(self):
        shop = selectors.get_shop_card(shop_id=self.kwargs["shop_id"])
        params = ShopProductFilterSerializer(data=self.request.query_params)
        params.is_valid(raise_exception=True)
        return catalog_selectors.list_products(**{**params.listing_filters(), "shop_id": shop.pk})

    @extend_schema(
        tags=["shops"],
        summary="A shop's listings",
        description="404 `shop_not_found` for an unknown or closed shop.",
        parameters=[ShopProductFilterSerializer],
    )
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)


class ShopReviewListApi(ApiView):
    permission_classes = [AllowAny]

    @extend_schema(
        tags=["shops"],
        summary="A shop's latest reviews (newest first)",
        parameters=[ShopReviewsParamsSerializer],
        responses={200: ReviewSerializer(many=True), 404: _SHOP_404},
    )
    def get(self, request, shop_id: int):
        params = ShopReviewsParamsSerializer(data=request.query_params)
        params.is_valid(raise_exception=True)
        shop = selectors.get_shop_card(shop_id=shop_id)
        reviews = selectors.list_shop_reviews(shop_id=shop.pk, limit=params.validated_data["limit"])
        return Response(ReviewSerializer(reviews, many=True).data)


class OpenShopApi(ApiView):
    permission_classes = [IsAuthenticated]

    @extend_schema(
        tags=["seller"],
        summary="Open a shop (the caller becomes its owner)",
        request=ShopWriteSerializer,
        responses={
            201: SellerShopSerializer,
            409: error_response(
                "You already own a shop (`already_has_shop`) or the name is taken (`shop_name_taken`)."
            ),
        },
    )
    def post(self, request):
        serializer = ShopWriteSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        shop = services.open_shop(owner=request.user, **serializer.validated_data)
        return Response(SellerShopSerializer(shop, context={"request": request}).data, status=status.HTTP_201_CREATED)


class SellerShopApi(ApiView):
    permission_classes = [IsShopOwner]

    @extend_schema(tags=["seller"], summary="Your shop", responses={200: SellerShopSerializer})
    def get(self, request):
        return Response(SellerShopSerializer(get_shop_for_request(request), context={"request": request}).data)

    @extend_schema(
        tags=["seller"],
        summary="Edit your shop",
        request=ShopUpdateSerializer(partial=True),
        responses={200: SellerShopSerializer, 409: error_response("The name is taken (`shop_name_taken`).")},
    )
    def patch(self, request):
        serializer = ShopUpdateSerializer(data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        shop = services.update_shop(shop=get_shop_for_request(request), **serializer.validated_data)
        return Response(SellerShopSerializer(shop, context={"request": request}).data)


class SellerStatsApi(ApiView):
    permission_classes = [IsShopOwner]

    @extend_schema(
        tags=["seller"],
        summary="Your shop's sales figures",
        parameters=[StatsParamsSerializer],
        responses={200: ShopStatsSerializer},
    )
    def get(self, request):
        params = StatsParamsSerializer(data=request.query_params)
        params.is_valid(raise_exception=True)
        figures = stats.get_shop_stats(shop=get_shop_for_request(request), days=params.validated_data["days"])
        return Response(ShopStatsSerializer(figures).data)
