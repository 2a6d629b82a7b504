import logging
from dataclasses import asdict

from django.db import DatabaseError, InterfaceError
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.response import Response

from accounts.exceptions import AddressNotFound
from etsy import idempotency
from etsy.api.errors import error_body
from etsy.api.schema import error_response
from etsy.api.views import ApiListView, ApiView
from orders import payments, selectors, stats
from orders.api.checkout_request import CheckoutRequestSerializer
from orders.api.serializers import (
    BuyerOrderFilterSerializer,
    CheckoutResultSerializer,
    OrderReviewSerializer,
    OrderSerializer,
    ReplyRequestSerializer,
    ReviewRequestSerializer,
    ReviewSerializer,
    SellerOrderFilterSerializer,
    SellerOrderSerializer,
    SellerReviewSerializer,
    ShipRequestSerializer,
    ShopReviewsParamsSerializer,
    ShopStatsSerializer,
    StatsParamsSerializer,
)
from orders.exceptions import CardDataNotAccepted, CheckoutInterrupted, PaymentDeclined
from orders.services import address_book, fulfilment, reviews
from orders.services import checkout as checkout_service
from shops import selectors as shop_selectors
from shops.api.permissions import IsShopOwner
from shops.selectors_seller import get_shop_for_request

logger = logging.getLogger(__name__)

_ORDER_404 = error_response("No such order among yours (`order_not_found`).")

IDEMPOTENCY_KEY = OpenApiParameter(
    "Idempotency-Key",
    idempotency.KEY_SCHEMA,
    OpenApiParameter.HEADER,
    required=True,
    description=(
        "A unique key per checkout attempt (1-255 printable ASCII characters). Retrying with the same key "
        "and the same body replays the first response (`Idempotent-Replayed: true`) and never charges twice."
    ),
)


class CheckoutApi(ApiView):
    permission_classes = [IsAuthenticated]

    @extend_schema(
        tags=["checkout"],
        summary="Buy the whole cart: one order per shop, one payment",
        parameters=[IDEMPOTENCY_KEY],
        request=CheckoutRequestSerializer,
        responses={
            201: CheckoutResultSerializer,
            202: OpenApiResponse(
                CheckoutResultSerializer,
                description=(
                    "Orders created but not paid yet: the payment outcome is not known yet (`payment_status: "
                    "unknown`), or the buyer must authenticate (`requires_action`, with `client_secret`)."
                ),
            ),
            400: error_response(
                "Invalid input (`address_id` not one of the buyer's saved addresses, or both/neither of "
                "`address` and `address_id`), `idempotency_key_missing`, `idempotency_key_invalid`, `cart_empty`, "
                "`invalid_address` (fields in `error.fields`) or `card_data_not_accepted` (the body carried a "
                "card field: only the provider's `payment_method` id is taken)."
            ),
            500: error_response("`server_error`: an unexpected failure, answered in the same JSON format."),
            402: error_response(
                "`payment_declined` (`extra.decline_code`): nothing was charged; orders cancelled and the cart "
                "restored. `payment_method_refused` (`extra.decline_code`, e.g. `resource_missing`): the provider "
                "does not know that payment method; nothing was created."
            ),
            409: error_response(
                "`item_reserved` (`extra.reserved_until`), `item_unavailable` (`extra.products`, taken out of the "
                "cart: `extra.removed`; retry to buy the rest), `cart_changed`, `cart_total_changed` (the cart's "
                "total is not `expected_total`: `extra.expected_total`, `extra.total`; nothing charged), "
                "`checkout_busy`, `checkout_already_placed` (`extra.checkout_id`) or `request_in_progress` "
                "(same key still processing)."
            ),
            422: error_response("`idempotency_key_reused`: this key was used for a different request."),
            503: error_response(
                "`payments_unavailable` or `idempotency_unavailable`: nothing was charged. `checkout_interrupted`: "
                "the database connection was lost; retry with the same Idempotency-Key to finish the checkout."
            ),
        },
    )
    def post(self, request):
        if payments.has_card_data(request.data):  # before anything else looks at (or logs) the body
            raise CardDataNotAccepted()
        key = idempotency.parse_key(request.headers.get("Idempotency-Key"))
        data = CheckoutRequestSerializer.validated(request.data)
        if "address_id" in data:
            try:
                address = address_book.get_shipping_address(buyer=request.user, address_id=data["address_id"])
            except AddressNotFound:
                raise ValidationError({"address_id": ["No such address in your address book."]}) from None
        else:
            address = checkout_service.ShippingAddress(**data["address"])
        payload = {"address": asdict(address), "payment_method": data["payment_method"]}
        if data.get("expected_total") is not None:
            payload["expected_total"] = str(data["expected_total"])
        scope = idempotency.user_scope(request.user)
        fingerprint = checkout_service.fingerprint_checkout(buyer=request.user, payload=payload)
        with idempotency.attempt(scope=scope, key=key, fingerprint=fingerprint) as attempt:
            if attempt.replay is not None:
                return attempt.replay.to_response()
            try:
                result = checkout_service.place_order(
                    buyer=request.user,
                    address=address,
                    payment_method=data["payment_method"],
                    idempotency_key=key,
                    expected_total=data.get("expected_total"),
                )
            except (DatabaseError, InterfaceError) as exc:  # the service retried once already
                raise CheckoutInterrupted() from exc  # the key is given up: a retry finishes the checkout
            except PaymentDeclined as exc:  # after side effects: the answer is final for this key
                declined = exc
            else:
                declined = None
                if data.get("save_address") and "address" in data:
                    address_book.save_to_address_book(buyer=request.user, address=address.validated())
            # The cart is empty (or restored) now: the answer is stored once, under both states, so a retry of this
            # same request replays it whenever it arrives. A placed checkout took every line: no need to read it.
            attempt.also_matches(
                checkout_service.fingerprint_checkout(
                    buyer=request.user, payload=payload, cart_emptied=declined is None
                )
            )
            if declined is not None:
                response = attempt.complete_json(
                    status=declined.status_code,
                    data=error_body(code=declined.code, message=declined.message, extra=dict(declined.extra)),
                )
            else:
                response = attempt.complete_json(
                    status=status.HTTP_201_CREATED if result.payment_status == "paid" else status.HTTP_202_ACCEPTED,
                    data=CheckoutResultSerializer(result).data,
                )
            return response

    def handle_exception(self, exc):
        """Answer in the API's JSON error format even for a failure nobody planned for (500)."""
        try:
            return super().handle_exception(exc)
        except Exception:
            logger.exception("checkout failed", extra={"event": "checkout_error"})
            response = Response(
                error_body(
                    code="server_error",
                    message="Something went wrong on our side. Retry with the same Idempotency-Key: "
                    "it never charges twice.",
                ),
                status=status.HTTP_500_INTERNAL_SERVER_ERROR,
            )
            return self.finalize_response(self.request, response)


class OrderListApi(ApiListView):
    permission_classes = [IsAuthenticated]
    serializer_class = OrderSerializer

    def get_queryset(self):
        params = BuyerOrderFilterSerializer(data=self.request.query_params)
        params.is_valid(raise_exception=True)
        return selectors.list_orders_for_buyer(buyer=self.request.user, **params.validated_data)

    @extend_schema(tags=["orders"], summary="Your orders, newest first", parameters=[BuyerOrderFilterSerializer])
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)


class OrderDetailApi(ApiView):
    permission_classes = [IsAuthenticated]

    @extend_schema(tags=["orders"], summary="One of your orders", responses={200: OrderSerializer, 404: _ORDER_404})
    def get(self, request, order_id: int):
        return Response(OrderSerializer(selectors.get_order_for_buyer(buyer=request.user, order_id=order_id)).data)


class OrderReviewApi(ApiView):
    permission_classes = [IsAuthenticated]

    @extend_schema(
        tags=["orders"],
        summary="Your review of one of your orders",
        responses={200: OrderReviewSerializer, 404: error_response("No such order among yours, or not reviewed yet.")},
    )
    def get(self, request, order_id: int):
        order = selectors.get_order_for_buyer(buyer=request.user, order_id=order_id)
        review = getattr(order, "review", None) if hasattr(order, "review") else None
        if review is None:
            raise NotFound("You have not reviewed this order.")
        return Response(OrderReviewSerializer(review).data)

    @extend_schema(
        tags=["orders"],
        summary="Review a delivered order (once)",
        request=ReviewRequestSerializer,
        responses={
            201: OrderReviewSerializer,
            400: error_response("Invalid input (`invalid`, `invalid_review`)."),
            404: _ORDER_404,
            409: error_response(
                "`order_not_reviewable` (the review window has not opened), `review_window_closed`, "
                "`case_open` or `already_reviewed`."
            ),
        },
    )
    def post(self, request, order_id: int):
        serializer = ReviewRequestSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        review = reviews.leave_review(buyer=request.user, order_id=order_id, **serializer.validated_data)
        return Response(OrderReviewSerializer(review).data, status=status.HTTP_201_CREATED)

    @extend_schema(
        tags=["orders"],
        summary="Edit your review (inside the review window: 100 days from delivery)",
        request=ReviewRequestSerializer,
        responses={
            200: OrderReviewSerializer,
            400: error_response("Invalid input (`invalid`, `invalid_review`)."),
            404: error_response(
                "No such order among yours (`order_not_found`), or no review yet (`review_not_found`)."
            ),
            409: error_response("`review_window_closed` or `case_open`."),
        },
    )
    def put(self, request, order_id: int):
        serializer = ReviewRequestSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        review = reviews.edit_review(buyer=request.user, order_id=order_id, **serializer.validated_data)
        return Response(OrderReviewSerializer(review).data)


class SellerOrderListApi(ApiListView):
    permission_classes = [IsShopOwner]
    serializer_class = SellerOrderSerializer

    def get_queryset(self):
        params = SellerOrderFilterSerializer(data=self.request.query_params)
        params.is_valid(raise_exception=True)
        return selectors.list_orders_for_shop(shop=get_shop_for_request(self.request), **params.validated_data)

    @extend_schema(
        tags=["seller"], summary="Your shop's orders, newest first", parameters=[SellerOrderFilterSerializer]
    )
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)


class SellerOrderDetailApi(ApiView):
    permission_classes = [IsShopOwner]

    @extend_schema(
        tags=["seller"], summary="One of your shop's orders", responses={200: SellerOrderSerializer, 404: _ORDER_404}
    )
    def get(self, request, order_id: int):
        order = selectors.get_order_for_seller(seller=request.user, order_id=order_id)
        return Response(SellerOrderSerializer(order).data)


class SellerShipOrderApi(ApiView):
    permission_classes = [IsShopOwner]

    @extend_schema(
        tags=["seller"],
        summary="Mark a paid order shipped (the buyer is emailed)",
        request=ShipRequestSerializer,
        responses={
            200: SellerOrderSerializer,
            404: _ORDER_404,
            409: error_response(
                "`invalid_order_transition` (not paid), `invalid_tracking` or `cancellation_pending` "
                "(the buyer asked to cancel: decide first)."
            ),
        },
    )
    def post(self, request, order_id: int):
        serializer = ShipRequestSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        order = selectors.get_order_for_seller(seller=request.user, order_id=order_id)
        fulfilment.mark_shipped(order=order, **serializer.validated_data)
        order = selectors.get_order_for_seller(seller=request.user, order_id=order_id)
        return Response(SellerOrderSerializer(order).data)


class SellerCancelOrderApi(ApiView):
    permission_classes = [IsShopOwner]

    @extend_schema(
        tags=["seller"],
        summary="Cancel an unshipped order of your shop (its items go back in stock)",
        request=None,
        responses={
            200: SellerOrderSerializer,
            404: _ORDER_404,
            409: error_response("`order_already_shipped`: shipped or delivered orders cannot be cancelled."),
        },
    )
    def post(self, request, order_id: int):
        order = selectors.get_order_for_seller(seller=request.user, order_id=order_id)
        fulfilment.cancel_order(order=order)
        order = selectors.get_order_for_seller(seller=request.user, order_id=order_id)
        return Response(SellerOrderSerializer(order).data)


class SellerReviewReplyApi(ApiView):
    permission_classes = [IsShopOwner]

    @extend_schema(
        tags=["seller"],
        summary="Reply publicly to a review of your shop",
        request=ReplyRequestSerializer,
        responses={
            200: SellerReviewSerializer,
            400: error_response("Invalid input (`invalid`, `invalid_review`)."),
            404: error_response("No such review of your shop (`review_not_found`)."),
        },
    )
    def post(self, request, review_id: int):
        serializer = ReplyRequestSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        review = reviews.reply_to_review(seller=request.user, review_id=review_id, **serializer.validated_data)
        return Response(SellerReviewSerializer(review).data)


class ShopReviewListApi(ApiView):
    permission_classes = [AllowAny]

    @extend_schema(
        tags=["shops"],
        summary="A shop's latest reviews (newest first)",
        parameters=[ShopReviewsParamsSerializer],
        responses={
            200: ReviewSerializer(many=True),
            404: error_response("No such shop, or it is closed (`shop_not_found`)."),
        },
    )
    def get(self, request, shop_id: int):
        params = ShopReviewsParamsSerializer(data=request.query_params)
        params.is_valid(raise_exception=True)
        shop = shop_selectors.get_shop_card(shop_id=shop_id)
        reviews = selectors.list_shop_reviews(shop_id=shop.pk, limit=params.validated_data["limit"])
        return Response(ReviewSerializer(reviews, many=True).data)


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
