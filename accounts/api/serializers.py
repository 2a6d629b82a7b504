from rest_framework import serializers

from accounts.models import User
from etsy.api.fields import StrictJsonSerializer
from etsy.names import validate_visible_text


class UserSerializer(serializers.ModelSerializer):
    has_shop = serializers.SerializerMethodField()

    class Meta:
        model = User
        fields = ["id", "email", "display_name", "public_name", "has_shop", "created_at"]
        read_only_fields = ["id", "email", "public_name", "has_shop", "created_at"]

    def get_has_shop(self, user: User) -> bool:
        return hasattr(user, "shop")


class ProfileUpdateSerializer(StrictJsonSerializer):
    display_name = serializers.CharField(max_length=80, allow_blank=True, validators=[validate_visible_text])


class RegisterSerializer(StrictJsonSerializer):
    email = serializers.EmailField(max_length=254)
    password = serializers.CharField(write_only=True, max_length=128, style={"input_type": "password"})
    display_name = serializers.CharField(
        max_length=80, required=False, allow_blank=True, default="", validators=[validate_visible_text]
    )


class SignUpStartedSerializer(serializers.Serializer):
    message = serializers.CharField(help_text="The same for every address: what to do next.")


class TokenRequestSerializer(StrictJsonSerializer):
    email = serializers.EmailField(max_length=254)
    password = serializers.CharField(write_only=True, max_length=128, style={"input_type": "password"})


class TokenSerializer(serializers.Serializer):
    token = serializers.CharField(help_text="Send as `Authorization: Token <token>`.")
    user = UserSerializer()
