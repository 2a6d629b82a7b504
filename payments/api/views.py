from drf_spectacular.utils import extend_schema
from rest_framework.response import Response

from etsy.api.views import ApiView
from payments import selectors
from payments.api.serializers import SellerPaymentsSerializer
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
