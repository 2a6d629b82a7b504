from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.exceptions import Throttled
from rest_framework.parsers import JSONParser, MultiPartParser
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response

from etsy.api.schema import error_response
from etsy.api.views import ApiListView, ApiView
from messaging import selectors, services
from messaging.api.serializers import (
    ConversationCreateSerializer,
    ConversationDetailSerializer,
    ConversationSerializer,
    MessageCreateSerializer,
    MessageSerializer,
    MessageUploadSerializer,
)
from messaging.exceptions import RateLimited
from messaging.models import Conversation

_CONVERSATION_404 = error_response("No such conversation among yours (`conversation_not_found`).")
_429 = error_response("`throttled`: too many conversations or messages lately; `Retry-After` says when to retry.")


def _throttled(exc: RateLimited) -> Throttled:
    return Throttled(wait=exc.retry_after, detail=exc.message)


def _detail(request, conversation: Conversation) -> dict:
    messages = list(selectors.list_messages(conversation=conversation))
    return ConversationDetailSerializer(conversation, context={"request": request, "messages": messages}).data


class ConversationListApi(ApiListView):
    permission_classes = [IsAuthenticated]
    serializer_class = ConversationSerializer

    def get_queryset(self):
        return selectors.list_conversations_for_user(user=self.request.user)

    @extend_schema(tags=["messages"], summary="Your conversations (as buyer or shop owner), unread first")
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)

    @extend_schema(
        tags=["messages"],
        summary="Message a shop, or request a custom piece (kind `custom_request`: what, budget, by when)",
        request=ConversationCreateSerializer,
        responses={
            201: ConversationDetailSerializer,
            400: error_response(
                "Invalid input, `invalid_message` (field errors: `body`, `what`, ...) or `cannot_message` "
                "(own shop, closed shop, a listing or order not of this shop)."
            ),
            403: error_response("`blocked`: the shop or you blocked the other."),
            429: _429,
        },
    )
    def post(self, request):
        serializer = ConversationCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        try:
            if data["kind"] == Conversation.Kind.CUSTOM_REQUEST:
                conversation = services.request_custom_piece(
                    buyer=request.user,
                    shop_id=data["shop_id"],
                    what=data.get("what", ""),
                    budget=data["budget"],
                    by_when=data["by_when"],
                    product_id=data["product_id"],
                )
            else:
                conversation = services.start_conversation(
                    buyer=request.user,
                    shop_id=data["shop_id"],
                    body=data.get("body", ""),
                    product_id=data["product_id"],
                    order_id=data["order_id"],
                )
        except RateLimited as exc:
            raise _throttled(exc) from exc
        conversation = selectors.get_conversation_for_user(user=request.user, conversation_id=conversation.pk)
        return Response(_detail(request, conversation), status=status.HTTP_201_CREATED)


class ConversationDetailApi(ApiView):
    permission_classes = [IsAuthenticated]

    @extend_schema(
        tags=["messages"],
        summary="One of your conversations with its messages",
        responses={200: ConversationDetailSerializer, 404: _CONVERSATION_404},
    )
    def get(self, request, conversation_id: int):
        conversation = selectors.get_conversation_for_user(user=request.user, conversation_id=conversation_id)
        return Response(_detail(request, conversation))


class ConversationMessagesApi(ApiView):
    permission_classes = [IsAuthenticated]
    parser_classes = [JSONParser, MultiPartParser]

    @extend_schema(
        tags=["messages"],
        summary="Send a message in one of your conversations (JSON, or multipart with up to 3 pictures)",
        request={"application/json": MessageCreateSerializer, "multipart/form-data": MessageUploadSerializer},
        responses={
            201: MessageSerializer,
            400: error_response("Invalid input or `invalid_message` (empty, too long, a bad picture: field errors)."),
            403: error_response("`blocked`: the shop or the buyer blocked the other."),
            404: _CONVERSATION_404,
            429: _429,
        },
    )
    def post(self, request, conversation_id: int):
        selectors.get_conversation_for_user(user=request.user, conversation_id=conversation_id)  # 404 first
        is_upload = request.content_type.startswith("multipart/")
        serializer = (MessageUploadSerializer if is_upload else MessageCreateSerializer)(data=request.data)
        serializer.is_valid(raise_exception=True)
        try:
            message = services.send_message(
                user=request.user,
                conversation_id=conversation_id,
                body=serializer.validated_data["body"],
                uploads=serializer.validated_data.get("images", []),
            )
        except RateLimited as exc:
            raise _throttled(exc) from exc
        message = selectors.list_messages(conversation=message.conversation).get(pk=message.pk)
        return Response(MessageSerializer(message, context={"request": request}).data, status=status.HTTP_201_CREATED)


class ConversationReadApi(ApiView):
    permission_classes = [IsAuthenticated]

    @extend_schema(
        tags=["messages"],
        summary="Mark one of your conversations read",
        request=None,
        responses={200: ConversationSerializer, 404: _CONVERSATION_404},
    )
    def post(self, request, conversation_id: int):
        services.mark_read(user=request.user, conversation_id=conversation_id)
        conversation = selectors.get_conversation_for_user(user=request.user, conversation_id=conversation_id)
        return Response(ConversationSerializer(conversation, context={"request": request}).data)
