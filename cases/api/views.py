from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.exceptions import NotFound
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response

from cases import selectors, services
from cases.api.serializers import (
    CaseFilterSerializer,
    CaseSerializer,
    MessageRequestSerializer,
    NoteRequestSerializer,
    OpenCaseRequestSerializer,
    SellerRefundRequestSerializer,
)
from etsy.api.schema import error_response
from etsy.api.views import ApiListView, ApiView
from orders import selectors as order_selectors
from shops.api.permissions import IsShopOwner
from shops.selectors_seller import get_shop_for_request

_CASE_404 = error_response("No such case among yours (`case_not_found`).")
_CLOSED = "`case_closed`: the case is resolved or closed."


class OrderCaseApi(ApiView):
    permission_classes = [IsAuthenticated]

    @extend_schema(
        tags=["cases"],
        summary="The case on one of your orders (the newest)",
        responses={200: CaseSerializer, 404: error_response("No such order among yours, or it has no case.")},
    )
    def get(self, request, order_id: int):
        order = order_selectors.get_order_for_buyer(buyer=request.user, order_id=order_id)
        case = selectors.get_latest_case_for_order(buyer=request.user, order_id=order.pk)
        if case is None:
            raise NotFound("This order has no case.")
        return Response(CaseSerializer(case).data)

    @extend_schema(
        tags=["cases"],
        summary="Report a problem with one of your orders: not received, or not as described",
        request=OpenCaseRequestSerializer,
        responses={
            201: CaseSerializer,
            400: error_response("Invalid input (`invalid`, `invalid_case`)."),
            404: error_response("No such order among yours (`order_not_found`)."),
            409: error_response(
                "`case_too_early` (before the day after `extra.estimated_delivery`), `case_open` (`extra.case_id`), "
                "`order_cancelled`, `order_not_paid`, `order_delivered` (not received, yet delivered) or "
                "`order_not_shipped` (not as described, yet never shipped) or `case_decided` (a case of this order was "
                "refunded or decided by staff already)."
            ),
        },
    )
    def post(self, request, order_id: int):
        serializer = OpenCaseRequestSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        case = services.open_case(buyer=request.user, order_id=order_id, **serializer.validated_data)
        case = selectors.get_case_for_buyer(buyer=request.user, case_id=case.pk)
        return Response(CaseSerializer(case).data, status=status.HTTP_201_CREATED)


class CaseListApi(ApiListView):
    permission_classes = [IsAuthenticated]
    serializer_class = CaseSerializer

    def get_queryset(self):
        return selectors.list_cases_for_buyer(buyer=self.request.user)

    @extend_schema(tags=["cases"], summary="Your cases, newest first")
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)


class CaseDetailApi(ApiView):
    permission_classes = [IsAuthenticated]

    @extend_schema(tags=["cases"], summary="One of your cases", responses={200: CaseSerializer, 404: _CASE_404})
    def get(self, request, case_id: int):
        return Response(CaseSerializer(selectors.get_case_for_buyer(buyer=request.user, case_id=case_id)).data)


class CaseMessageApi(ApiView):
    permission_classes = [IsAuthenticated]

    @extend_schema(
        tags=["cases"],
        summary="Add a message to your case (the seller is emailed)",
        request=MessageRequestSerializer,
        responses={
            201: CaseSerializer,
            400: error_response("Invalid input (`invalid`, `invalid_case`)."),
            404: _CASE_404,
            409: error_response(_CLOSED),
        },
    )
    def post(self, request, case_id: int):
        serializer = MessageRequestSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        services.add_buyer_message(buyer=request.user, case_id=case_id, **serializer.validated_data)
        case = selectors.get_case_for_buyer(buyer=request.user, case_id=case_id)
        return Response(CaseSerializer(case).data, status=status.HTTP_201_CREATED)


class CaseEscalateApi(ApiView):
    permission_classes = [IsAuthenticated]

    @extend_schema(
        tags=["cases"],
        summary="Ask marketplace staff to decide your case (after the seller's deadline; idempotent)",
        request=NoteRequestSerializer,
        responses={
            200: CaseSerializer,
            400: error_response("Invalid input."),
            404: _CASE_404,
            409: error_response(f"`case_deadline_not_passed` (`extra.seller_deadline`) or {_CLOSED}"),
        },
    )
    def post(self, request, case_id: int):
        serializer = NoteRequestSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        services.escalate_by_buyer(buyer=request.user, case_id=case_id, **serializer.validated_data)
        return Response(CaseSerializer(selectors.get_case_for_buyer(buyer=request.user, case_id=case_id)).data)


class CaseCloseApi(ApiView):
    permission_classes = [IsAuthenticated]

    @extend_schema(
        tags=["cases"],
        summary="Close your case: the problem is solved (idempotent)",
        request=NoteRequestSerializer,
        responses={
            200: CaseSerializer,
            400: error_response("Invalid input."),
            404: _CASE_404,
            409: error_response(_CLOSED),
        },
    )
    def post(self, request, case_id: int):
        serializer = NoteRequestSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        services.close_by_buyer(buyer=request.user, case_id=case_id, **serializer.validated_data)
        return Response(CaseSerializer(selectors.get_case_for_buyer(buyer=request.user, case_id=case_id)).data)


class SellerCaseListApi(ApiListView):
    permission_classes = [IsShopOwner]
    serializer_class = CaseSerializer

    def get_queryset(self):
        params = CaseFilterSerializer(data=self.request.query_params)
        params.is_valid(raise_exception=True)
        return selectors.list_cases_for_shop(shop=get_shop_for_request(self.request), **params.validated_data)

    @extend_schema(tags=["seller"], summary="Your shop's cases, newest first", parameters=[CaseFilterSerializer])
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)


class SellerCaseDetailApi(ApiView):
    permission_classes = [IsShopOwner]

    @extend_schema(tags=["seller"], summary="One of your shop's cases", responses={200: CaseSerializer, 404: _CASE_404})
    def get(self, request, case_id: int):
        return Response(CaseSerializer(selectors.get_case_for_seller(seller=request.user, case_id=case_id)).data)


class SellerCaseMessageApi(ApiView):
    permission_classes = [IsShopOwner]

    @extend_schema(
        tags=["seller"],
        summary="Answer a case of your shop (the buyer is emailed; an open case becomes `seller_responded`)",
        request=MessageRequestSerializer,
        responses={
            201: CaseSerializer,
            400: error_response("Invalid input (`invalid`, `invalid_case`)."),
            404: _CASE_404,
            409: error_response(_CLOSED),
        },
    )
    def post(self, request, case_id: int):
        serializer = MessageRequestSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        services.add_seller_message(seller=request.user, case_id=case_id, **serializer.validated_data)
        case = selectors.get_case_for_seller(seller=request.user, case_id=case_id)
        return Response(CaseSerializer(case).data, status=status.HTTP_201_CREATED)


class SellerCaseRefundApi(ApiView):
    permission_classes = [IsShopOwner]

    @extend_schema(
        tags=["seller"],
        summary="Refund the buyer from a case: in full resolves it, in part answers it (once per case)",
        request=SellerRefundRequestSerializer,
        responses={
            200: CaseSerializer,
            400: error_response("Invalid input, or `refund_too_large` (`extra.remaining`)."),
            404: _CASE_404,
            409: error_response(
                f"`case_escalated` (staff decide now), `case_already_refunded`, `order_not_refundable` or {_CLOSED}"
            ),
        },
    )
    def post(self, request, case_id: int):
        serializer = SellerRefundRequestSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        services.refund_by_seller(seller=request.user, case_id=case_id, **serializer.validated_data)
        return Response(CaseSerializer(selectors.get_case_for_seller(seller=request.user, case_id=case_id)).data)
