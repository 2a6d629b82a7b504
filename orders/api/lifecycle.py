"""The order's lifecycle in the API: the buyer confirms receipt or asks to cancel; the seller decides."""

from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response

from etsy.api.schema import error_response
from etsy.api.views import ApiView
from orders import selectors
from orders.api.serializers import (
    CancellationDecisionSerializer,
    CancellationRequestSerializer,
    OrderSerializer,
    SellerOrderSerializer,
)
from orders.services import cancellations, fulfilment
from shops.api.permissions import IsShopOwner

_ORDER_404 = error_response("No such order among yours (`order_not_found`).")


class OrderReceivedApi(ApiView):
    permission_classes = [IsAuthenticated]

    @extend_schema(
        tags=["orders"],
        summary="Confirm you received a shipped order (the review window opens; idempotent)",
        request=None,
        responses={
            200: OrderSerializer,
            404: _ORDER_404,
            409: error_response("`order_not_shipped` (not shipped yet) or `order_cancelled`."),
        },
    )
    def post(self, request, order_id: int):
        fulfilment.confirm_received(buyer=request.user, order_id=order_id)
        return Response(OrderSerializer(selectors.get_order_for_buyer(buyer=request.user, order_id=order_id)).data)


class OrderCancellationApi(ApiView):
    permission_classes = [IsAuthenticated]

    @extend_schema(
        tags=["orders"],
        summary="Ask the shop to cancel an unshipped order (once; the shop accepts or declines)",
        request=CancellationRequestSerializer,
        responses={
            201: OrderSerializer,
            400: error_response("Invalid input (`invalid`, `invalid_cancellation_reason`)."),
            404: _ORDER_404,
            409: error_response(
                "`order_already_shipped`, `order_cancelled` or `cancellation_already_requested` "
                "(`extra.status`: pending, accepted or declined)."
            ),
        },
    )
    def post(self, request, order_id: int):
        serializer = CancellationRequestSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        cancellations.request_cancellation(buyer=request.user, order_id=order_id, **serializer.validated_data)
        order = selectors.get_order_for_buyer(buyer=request.user, order_id=order_id)
        return Response(OrderSerializer(order).data, status=status.HTTP_201_CREATED)


class SellerCancellationDecisionApi(ApiView):
    permission_classes = [IsShopOwner]

    @extend_schema(
        tags=["seller"],
        summary="Accept or decline the buyer's cancellation request (accepting refunds in full and restocks, once)",
        request=CancellationDecisionSerializer,
        responses={
            200: SellerOrderSerializer,
            400: error_response("Invalid input (`invalid`)."),
            404: _ORDER_404,
            409: error_response(
                "`no_cancellation_request` or `cancellation_already_decided` (`extra.decision`); "
                "the same decision again is a no-op (200)."
            ),
        },
    )
    def post(self, request, order_id: int):
        serializer = CancellationDecisionSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        order = selectors.get_order_for_seller(seller=request.user, order_id=order_id)
        cancellations.decide_cancellation(order=order, **serializer.validated_data)
        order = selectors.get_order_for_seller(seller=request.user, order_id=order_id)
        return Response(SellerOrderSerializer(order).data)
