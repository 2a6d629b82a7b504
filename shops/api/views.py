from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.response import Response

from etsy.api.schema import error_response
from etsy.api.views import ApiView
from shops import selectors, services
from shops.api.permissions import IsShopOwner
from shops.api.serializers import (
    SellerShopSerializer,
    ShopSerializer,
    ShopUpdateSerializer,
    ShopWriteSerializer,
)
from shops.selectors_seller import get_shop_for_request

_SHOP_404 = error_response("No such shop, or it is closed (`shop_not_found`).")


class ShopDetailApi(ApiView):
    permission_classes = [AllowAny]

    @extend_schema(tags=["shops"], summary="A shop's public profile", responses={200: ShopSerializer, 404: _SHOP_404})
    def get(self, request, shop_id: int):
        shop = selectors.get_shop_card(shop_id=shop_id)
        return Response(ShopSerializer(shop, context={"request": request}).data)


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
