from contextlib import contextmanager

from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.exceptions import NotFound
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response

from cart import notices, selectors, services
from cart.api.serializers import (
    AddCartItemSerializer,
    CartItemSerializer,
    CartNoticeSerializer,
    CartSerializer,
    CartWithNoticesSerializer,
    SetQuantitySerializer,
)
from catalog.exceptions import OfferingNotFound, OfferingUnavailable, PersonalizationError
from etsy.api.schema import error_response
from etsy.api.views import ApiView

_CONFLICTS = error_response(
    "`item_reserved` (another buyer holds it: `extra.reserved_until`), `insufficient_stock` "
    "(`extra.available`, `extra.requested`) or `already_in_cart` (a one-of-a-kind item is there already)."
)
_NOT_IN_CART = "That line is not in your cart."
_CHOICE_ERRORS = (
    "Invalid input (`invalid`; `invalid_quantity`: 1 to 10,000 units a line), or a choice that cannot be bought, "
    "with `fields`: `offering_not_found` (another listing's offering, no such offering, or `product_id` of a "
    "listing with variations), `offering_unavailable` (switched off), `personalization_required`, "
    "`personalization_too_long`, `personalization_not_accepted`."
)


def _in_cart(user, line_id: int) -> bool:
    return selectors.has_cart_line(user=user, line_id=line_id)


@contextmanager
def _choice_fields(*, product_given: bool):
    """Name the request field a refused choice is about (the handler answers 400 with ``fields``)."""
    try:
        yield
    except (OfferingNotFound, OfferingUnavailable) as exc:
        field = "product_id" if product_given and not exc.extra.get("needs_offering") else "offering_id"
        exc.extra["fields"] = {field: [exc.message]}
        raise
    except PersonalizationError as exc:
        exc.extra["fields"] = {"personalization": [exc.message]}
        raise


class CartApi(ApiView):
    permission_classes = [IsAuthenticated]

    @extend_schema(
        tags=["cart"], summary="Your cart, grouped by shop with totals", responses={200: CartWithNoticesSerializer}
    )
    def get(self, request):
        summary = selectors.get_cart_summary(user=request.user)
        told = CartNoticeSerializer(notices.take_cart_notices(user=request.user), many=True).data
        return Response({**CartSerializer(summary).data, "notices": told})


class CartItemListApi(ApiView):
    permission_classes = [IsAuthenticated]

    @extend_schema(
        tags=["cart"],
        summary="Add a listing to your cart (holds unique items for you)",
        request=AddCartItemSerializer,
        responses={
            201: CartItemSerializer,
            400: error_response(_CHOICE_ERRORS),
            404: error_response("No such listing, or it cannot be bought (`product_not_found`)."),
            409: _CONFLICTS,
        },
    )
    def post(self, request):
        data = AddCartItemSerializer.validated(request.data)
        with _choice_fields(product_given=data.get("offering_id") is None):
            item = services.add_item(user=request.user, **data)
        return Response(CartItemSerializer.represent(item), status=status.HTTP_201_CREATED)


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
    def patch(self, request, line_id: int):
        serializer = SetQuantitySerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        if "quantity" not in serializer.validated_data:  # a partial update that changes nothing
            item = selectors.get_cart_line(user=request.user, line_id=line_id)
            if item is None:
                raise NotFound(_NOT_IN_CART)
            return Response(CartItemSerializer(item).data)
        if not _in_cart(request.user, line_id):
            raise NotFound(_NOT_IN_CART)
        item = services.set_quantity(user=request.user, line_id=line_id, **serializer.validated_data)
        if item is None:
            return Response(status=status.HTTP_204_NO_CONTENT)
        return Response(CartItemSerializer(item).data)

    @extend_schema(
        tags=["cart"],
        summary="Remove a line (releases your hold)",
        responses={204: None, 404: error_response("Not in your cart.")},
    )
    def delete(self, request, line_id: int):
        if not _in_cart(request.user, line_id):
            raise NotFound(_NOT_IN_CART)
        services.remove_item(user=request.user, line_id=line_id)
        return Response(status=status.HTTP_204_NO_CONTENT)
