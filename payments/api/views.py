from drf_spectacular.utils import extend_schema
from rest_framework.response import Response

from etsy.api.schema import error_response
from etsy.api.views import ApiView
from orders import selectors as order_selectors
from payments import selectors
from payments.api.serializers import RefundRequestSerializer, RefundResultSerializer, SellerPaymentsSerializer
from payments.services import refunds
from shops.api.permissions import IsShopOwner
from shops.selectors_seller import get_shop_for_request

ENTRIES_SHOWN = 500


class SellerPaymentsApi(ApiView):
    permission_classes = [IsShopOwner]

    @extend_schema(
        tags=["seller"],
        summary="Your shop's balance and ledger (sales, fees, refunds, fee refunds, disputes, payouts)",
        responses={200: SellerPaymentsSerializer},
    )
    def get(self, request):
        shop = get_shop_for_request(request)
        figures = selectors.get_shop_payments(shop_id=shop.pk)
        entries = selectors.list_ledger_entries(shop_id=shop.pk)[:ENTRIES_SHOWN]
        data = {"balance": figures.balance, "pending": figures.pending, "entries": entries}
        return Response(SellerPaymentsSerializer(data).data)


class SellerRefundOrderApi(ApiView):
    permission_classes = [IsShopOwner]

    @extend_schema(
        tags=["seller"],
        summary="Refund one of your shop's orders, fully or in part (the buyer is emailed)",
        request=RefundRequestSerializer,
        responses={
            200: RefundResultSerializer,
            400: error_response("`refund_too_large` (above what remains: `extra.remaining`) or invalid input."),
            404: error_response("No such order among your shop's (`order_not_found`)."),
            409: error_response("`order_not_refundable`: the order was never paid."),
        },
    )
    def post(self, request, order_id: int):
        serializer = RefundRequestSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        order = order_selectors.get_order_for_seller(seller=request.user, order_id=order_id)
        booked = refunds.refund_order(
            order=order,
            amount=serializer.validated_data.get("amount"),
            restock_items=serializer.validated_data["restock"],
        )
        return Response(RefundResultSerializer(booked).data)
