"""The signed-in account's profile changes and address book (/me/...)."""

from django.contrib.auth import update_session_auth_hash
from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.authtoken.models import Token
from rest_framework.exceptions import Throttled
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response

from accounts import selectors, throttling
from accounts.api.serializers import (
    EmailChangeConfirmSerializer,
    EmailChangeRequestSerializer,
    EmailChangeStartedSerializer,
    NewTokenSerializer,
    PasswordChangeSerializer,
    SavedAddressInputSerializer,
    SavedAddressSerializer,
    UserSerializer,
)
from accounts.exceptions import InvalidEmailChangeLink
from accounts.services import addresses as address_services
from accounts.services import profile as profile_services
from etsy.api.schema import error_response
from etsy.api.throttling import AnonThrottle, AuthEndpointThrottle, UserThrottle
from etsy.api.views import ApiListView, ApiView

EMAIL_LINK_SENT = "We sent a link to the new address: the change happens when it is opened."
_THROTTLED = error_response(
    "`throttled`: too many requests from this address (API_THROTTLE_AUTH), or too many wrong passwords for "
    "this account (the sign-in cool-off); see Retry-After."
)
_ADDRESS_404 = error_response("No such address in your book (`not_found`); another buyer's address is 404 too.")


def _password_checked(call):
    try:
        return call()
    except throttling.LoginThrottled as exc:
        raise Throttled(wait=exc.retry_after) from exc


class MeEmailApi(ApiView):
    permission_classes = [IsAuthenticated]
    throttle_classes = [AnonThrottle, UserThrottle, AuthEndpointThrottle]

    @extend_schema(
        tags=["accounts"],
        summary="Change the email address: mail a confirmation link to the new one",
        description=(
            "Checks the current password, mails a link to `new_email` and tells the current address. Nothing "
            "changes until the link is opened (or its token is sent to `POST /me/email/confirm`). Whether "
            "`new_email` already has an account is not said here."
        ),
        request=EmailChangeRequestSerializer,
        responses={
            202: EmailChangeStartedSerializer,
            400: error_response("Invalid input, wrong `current_password`, or `new_email` is the current one."),
            429: _THROTTLED,
        },
    )
    def post(self, request):
        serializer = EmailChangeRequestSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        _password_checked(
            lambda: profile_services.request_email_change(
                user=request.user, address=throttling.client_address(request), **serializer.validated_data
            )
        )
        return Response(
            EmailChangeStartedSerializer({"message": EMAIL_LINK_SENT}).data, status=status.HTTP_202_ACCEPTED
        )


class MeEmailConfirmApi(ApiView):
    permission_classes = [IsAuthenticated]

    @extend_schema(
        tags=["accounts"],
        summary="Confirm an email change with the token of the mailed link",
        request=EmailChangeConfirmSerializer,
        responses={
            200: UserSerializer,
            400: error_response("`invalid_email_change_link`: used already, too old, or not this account's."),
            409: error_response("`email_taken`: another account uses the new address now."),
        },
    )
    def post(self, request):
        serializer = EmailChangeConfirmSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        user, _ = profile_services.read_email_change(token=serializer.validated_data["token"])
        if user.pk != request.user.pk:
            raise InvalidEmailChangeLink()
        user = profile_services.confirm_email_change(token=serializer.validated_data["token"])
        return Response(UserSerializer(user).data)


class MePasswordApi(ApiView):
    permission_classes = [IsAuthenticated]
    throttle_classes = [AnonThrottle, UserThrottle, AuthEndpointThrottle]

    @extend_schema(
        tags=["accounts"],
        summary="Change the password (the current one is required)",
        description=(
            "Every browser session signed in elsewhere is signed out (Django's session hash) and the account's "
            "API token is revoked. A client that signed in with the token gets its new one (200); a browser "
            "session stays signed in (204). The owner is told by email."
        ),
        request=PasswordChangeSerializer,
        responses={
            200: NewTokenSerializer,
            204: None,
            400: error_response("Wrong `current_password`, or a weak `new_password` (the validators' messages)."),
            429: _THROTTLED,
        },
    )
    def post(self, request):
        serializer = PasswordChangeSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        user = _password_checked(
            lambda: profile_services.change_password(
                user=request.user, address=throttling.client_address(request), **serializer.validated_data
            )
        )
        if isinstance(request.auth, Token):  # revoked with the old password: this client carries on with a new one
            return Response(NewTokenSerializer({"token": profile_services.issue_api_token(user=user)}).data)
        if hasattr(request, "session"):
            update_session_auth_hash(request, user)
        return Response(status=status.HTTP_204_NO_CONTENT)


class MeAddressListApi(ApiListView):
    permission_classes = [IsAuthenticated]
    serializer_class = SavedAddressSerializer
    pagination_class = None  # a book is small (ADDRESS_BOOK_LIMIT, 50 by default)

    def get_queryset(self):
        return selectors.list_addresses(owner=self.request.user)

    @extend_schema(tags=["accounts"], summary="Your address book, the default first")
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)

    @extend_schema(
        tags=["accounts"],
        summary="Add an address (your first one becomes the default)",
        request=SavedAddressInputSerializer,
        responses={
            201: SavedAddressSerializer,
            400: error_response("Invalid input (field errors); nothing stored."),
            409: error_response("`address_book_full` (`extra.limit`)."),
        },
    )
    def post(self, request, *args, **kwargs):
        serializer = SavedAddressInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        make_default = data.pop("is_default", False)
        address = address_services.create_address(owner=request.user, make_default=make_default, **data)
        return Response(SavedAddressSerializer(address).data, status=status.HTTP_201_CREATED)


class MeAddressDetailApi(ApiView):
    permission_classes = [IsAuthenticated]

    @extend_schema(
        tags=["accounts"],
        summary="One address of your book",
        responses={200: SavedAddressSerializer, 404: _ADDRESS_404},
    )
    def get(self, request, address_id: int):
        return Response(SavedAddressSerializer(selectors.get_address(owner=request.user, address_id=address_id)).data)

    @extend_schema(
        tags=["accounts"],
        summary="Change an address, or make it the default (`is_default: true`)",
        request=SavedAddressInputSerializer(partial=True),
        responses={
            200: SavedAddressSerializer,
            400: error_response("Invalid input; nothing stored."),
            404: _ADDRESS_404,
        },
    )
    def patch(self, request, address_id: int):
        selectors.get_address(owner=request.user, address_id=address_id)  # 404 before 400
        serializer = SavedAddressInputSerializer(data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        make_default = bool(data.pop("is_default", False))
        address = address_services.update_address(
            owner=request.user, address_id=address_id, make_default=make_default, **data
        )
        return Response(SavedAddressSerializer(address).data)

    @extend_schema(
        tags=["accounts"],
        summary="Delete an address (the newest other one becomes the default if it was)",
        responses={204: None, 404: _ADDRESS_404},
    )
    def delete(self, request, address_id: int):
        address_services.delete_address(owner=request.user, address_id=address_id)
        return Response(status=status.HTTP_204_NO_CONTENT)
