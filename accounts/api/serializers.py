from rest_framework import serializers

from accounts.models import Address, User
from etsy.api.fields import StrictJsonSerializer
from etsy.names import is_country_code, validate_visible_text


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


class NewTokenSerializer(serializers.Serializer):
    token = serializers.CharField(help_text="The new token: send as `Authorization: Token <token>`.")


class TokenSerializer(serializers.Serializer):
    token = serializers.CharField(help_text="Send as `Authorization: Token <token>`.")
    user = UserSerializer()


class EmailChangeRequestSerializer(StrictJsonSerializer):
    new_email = serializers.EmailField(max_length=254)
    current_password = serializers.CharField(write_only=True, max_length=128, style={"input_type": "password"})


class EmailChangeConfirmSerializer(StrictJsonSerializer):
    token = serializers.CharField(max_length=1000, help_text="The token of the link mailed to the new address.")


class PasswordChangeSerializer(StrictJsonSerializer):
    current_password = serializers.CharField(write_only=True, max_length=128, style={"input_type": "password"})
    new_password = serializers.CharField(write_only=True, max_length=128, style={"input_type": "password"})


class EmailChangeStartedSerializer(serializers.Serializer):
    message = serializers.CharField()


def _country(value: str) -> str:
    value = value.strip().upper()
    if not is_country_code(value):
        raise serializers.ValidationError("Use a two-letter country code (ISO 3166 alpha-2), like US.")
    return value


def _required_text(value: str) -> str:
    if not value.strip():
        raise serializers.ValidationError("This field may not be blank.")
    return value


class SavedAddressSerializer(serializers.ModelSerializer):
    """An address of the signed-in buyer's book."""

    class Meta:
        model = Address
        fields = [
            "id",
            "name",
            "line1",
            "line2",
            "city",
            "region",
            "postal_code",
            "country",
            "phone",
            "is_default",
            "created_at",
        ]
        read_only_fields = fields


class SavedAddressInputSerializer(StrictJsonSerializer):
    name = serializers.CharField(max_length=120, validators=[_required_text])
    line1 = serializers.CharField(max_length=200, validators=[_required_text])
    line2 = serializers.CharField(max_length=200, required=False, allow_blank=True)
    city = serializers.CharField(max_length=100, validators=[_required_text])
    region = serializers.CharField(max_length=100, required=False, allow_blank=True)
    postal_code = serializers.CharField(max_length=20, validators=[_required_text])
    country = serializers.CharField(max_length=2, help_text="ISO 3166 alpha-2, e.g. `US`.")
    phone = serializers.CharField(max_length=30, required=False, allow_blank=True)
    is_default = serializers.BooleanField(
        required=False, help_text="`true` makes it the default (the previous default stops being one)."
    )

    def validate_country(self, value: str) -> str:
        return _country(value)
