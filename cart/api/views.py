from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.exceptions import NotFound
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response

from cart import selectors, services
from cart.api.serializers import AddCartItemSerializer, CartItemSerializer, CartSerializer, SetQuantitySerializer
from etsy.api.schema import error_response
from etsy.api.views import ApiView

_CONFLICTS = error_response(
    "`item_reserved` (another buyer holds it: `extra.reserved_until`), `insufficient_stock` "
    "(`extra.available`, `extra.requested`) or `already_in_cart` (a one-of-a-kind item is there already)."
)
_NOT_IN_CART = "That listing is not in your cart."


def _in_cart(user, product_id: int) -> bool:
    return selectors.has_cart_line(user=user, product_id=product_id)


class CartApi(ApiView):
    permission_classes = [IsAuthenticated]

    @extend_schema(tags=["cart"], summary="Your cart, grouped by shop with totals", responses={200: CartSerializer})
    def get(self, request):
        return Response(CartSerializer(selectors.get_cart_summary(user=request.user)).data)


class CartItemListApi(ApiView):
    permission_classes = [IsAuthenticated]

    @extend_schema(
        tags=["cart"],
        summary="Add a listing to your cart (holds unique items for you)",
        request=AddCartItemSerializer,
        responses={
            201: CartItemSerializer,
            400: error_response("Invalid input (`invalid`, `invalid_quantity`)."),
            404: error_response("No such listing, or it cannot be bought (`product_not_found`)."),
            409: _CONFLICTS,
        },
    )
    def post(self, request):
        serializer = AddCartItemSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        item = services.add_item(user=request.user, **serializer.validated_data)
        return Response(CartItemSerializer(item).data, status=status.HTTP_201_CREATED)


class CartItemApi(ApiView):
    permission_classes = [IsAuthenticated]

    @extend_schema(
        tags=["cart"],
        summary="Change a line's quantity (0 removes it)",
        request=SetQuantitySerializer,
        responses={
            200: CartItemSerializer,
            204: None,
            404: error_response("Not in your cart, or no longer for sale."),
            409: _CONFLICTS,
        },
    )
    def patch(self, request, product_id: int):
        serializer = SetQuantitySerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        if not _in_cart(request.user, product_id):
            raise NotFound(_NOT_IN_CART)
        item = services.set_quantity(user=request.user, product_id=product_id, **serializer.validated_data)
        if item is None:
            return Response(status=status.HTTP_204_NO_CONTENT)
        return Response(CartItemSerializer(item).data)

    @extend_schema(
        tags=["cart"],
        summary="Remove a line (releases your hold)",
        responses={204: None, 404: error_response("Not in your cart.")},
    )
    def delete(self, request, product_id: int):
        if not _in_cart(request.user, product_id):
            raise NotFound(_NOT_IN_CART)
        services.remove_item(user=request.user, product_id=product_id)
        return Response(status=status.HTTP_204_NO_CONTENT)
