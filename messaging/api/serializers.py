"""Shapes of conversations in the API. Shape only; the rules live in messaging.services."""

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from etsy.api.fields import StrictJsonSerializer
from messaging.models import MAX_BODY_LENGTH, MAX_IMAGES_PER_MESSAGE, Conversation, Message, MessageImage
from messaging.services import MAX_DETAIL_LENGTH, MAX_WHAT_LENGTH

_MONEY = {"max_digits": 10, "decimal_places": 2}


class ShopCardSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    slug = serializers.CharField()


class ListingCardSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    title = serializers.CharField()
    price = serializers.DecimalField(**_MONEY)
    is_reserved = serializers.SerializerMethodField()

    def get_is_reserved(self, product) -> bool:
        return product.reserved_for_id is not None


class OrderCardSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    status = serializers.CharField()
    total = serializers.DecimalField(max_digits=12, decimal_places=2)


class MessageImageSerializer(serializers.ModelSerializer):
    url = serializers.SerializerMethodField()
    thumbnail_url = serializers.SerializerMethodField()

    class Meta:
        model = MessageImage
        fields = ["id", "url", "thumbnail_url", "width", "height"]

    def get_url(self, picture) -> str:
        return picture.image.url

    def get_thumbnail_url(self, picture) -> str:
        return picture.thumbnail.url if picture.thumbnail else picture.image.url


class CustomRequestDetailsSerializer(serializers.Serializer):
    what = serializers.CharField()
    budget = serializers.CharField(allow_blank=True)
    by_when = serializers.CharField(allow_blank=True)


class MessageSerializer(serializers.ModelSerializer):
    images = MessageImageSerializer(many=True, read_only=True)
    listing = ListingCardSerializer(source="product", read_only=True, allow_null=True)
    details = serializers.SerializerMethodField()

    class Meta:
        model = Message
        fields = ["id", "side", "kind", "body", "details", "listing", "images", "created_at"]

    @extend_schema_field(CustomRequestDetailsSerializer(allow_null=True))
    def get_details(self, message):
        return message.details or None


class ConversationSerializer(serializers.ModelSerializer):
    shop = ShopCardSerializer(read_only=True)
    listing = ListingCardSerializer(source="product", read_only=True, allow_null=True)
    order = OrderCardSerializer(read_only=True, allow_null=True)
    role = serializers.SerializerMethodField(help_text="Your side of the thread: `buyer` or `seller`.")
    is_unread = serializers.SerializerMethodField(help_text="The other side wrote after you last read the thread.")

    class Meta:
        model = Conversation
        fields = ["id", "kind", "subject", "shop", "listing", "order", "role", "is_unread", "last_message_at"]

    def _role(self, conversation) -> str:
        return "buyer" if conversation.buyer_id == self.context["request"].user.pk else "seller"

    def get_role(self, conversation) -> str:
        return self._role(conversation)

    def get_is_unread(self, conversation) -> bool:
        return conversation.has_unread_for(self._role(conversation))


class ConversationDetailSerializer(ConversationSerializer):
    messages = serializers.SerializerMethodField()

    class Meta(ConversationSerializer.Meta):
        fields = [*ConversationSerializer.Meta.fields, "messages"]

    @extend_schema_field(MessageSerializer(many=True))
    def get_messages(self, conversation):
        return MessageSerializer(self.context["messages"], many=True, context=self.context).data


class ConversationCreateSerializer(StrictJsonSerializer):
    shop_id = serializers.IntegerField(min_value=1)
    kind = serializers.ChoiceField(choices=Conversation.Kind.choices, required=False, default="question")
    body = serializers.CharField(
        max_length=MAX_BODY_LENGTH, required=False, allow_blank=True, help_text="The question (kind `question`)."
    )
    product_id = serializers.IntegerField(min_value=1, required=False, allow_null=True, default=None)
    order_id = serializers.IntegerField(min_value=1, required=False, allow_null=True, default=None)
    what = serializers.CharField(
        max_length=MAX_WHAT_LENGTH, required=False, allow_blank=True, help_text="Kind `custom_request`: what to make."
    )
    budget = serializers.CharField(max_length=MAX_DETAIL_LENGTH, required=False, allow_blank=True, default="")
    by_when = serializers.CharField(max_length=MAX_DETAIL_LENGTH, required=False, allow_blank=True, default="")


class MessageCreateSerializer(StrictJsonSerializer):
    body = serializers.CharField(max_length=MAX_BODY_LENGTH, allow_blank=True)


class MessageUploadSerializer(serializers.Serializer):
    body = serializers.CharField(max_length=MAX_BODY_LENGTH, allow_blank=True)
    images = serializers.ListField(
        child=serializers.ImageField(allow_empty_file=False, use_url=False),
        required=False,
        max_length=MAX_IMAGES_PER_MESSAGE,
        help_text=f"Up to {MAX_IMAGES_PER_MESSAGE} JPEG, PNG, GIF or WebP pictures.",
    )
