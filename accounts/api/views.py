from django.contrib.auth import authenticate
from django.core.exceptions import ValidationError as DjangoValidationError
from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.exceptions import AuthenticationFailed, NotAuthenticated, Throttled, ValidationError
from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.response import Response

from accounts import services, throttling
from accounts.api.serializers import (
    ProfileUpdateSerializer,
    RegisterSerializer,
    SignUpStartedSerializer,
    TokenRequestSerializer,
    TokenSerializer,
    UserSerializer,
)
from accounts.services import profile as profile_services
from etsy.api.schema import error_response
from etsy.api.throttling import AnonThrottle, AuthEndpointThrottle, UserThrottle
from etsy.api.views import ApiView

SIGN_UP_STARTED = "Check your email: the link in it confirms a new account or helps you into the existing one."


class RegisterApi(ApiView):
    permission_classes = [AllowAny]
    throttle_classes = [AnonThrottle, UserThrottle, AuthEndpointThrottle]

    @extend_schema(
        tags=["accounts"],
        summary="Sign up: email a link that confirms the account",
        description=(
            "Always answers 202 with the same body, whether or not the address already has an account "
            "(no account enumeration): a new address gets a link that confirms the account (then "
            "`POST /auth/token` signs in), an address with an account gets an email with a password-reset link."
        ),
        request=RegisterSerializer,
        responses={
            202: SignUpStartedSerializer,
            400: error_response("Invalid input or a weak password."),
            429: error_response("`throttled`: too many sign-ups from this address (API_THROTTLE_AUTH)."),
        },
    )
    def post(self, request):
        serializer = RegisterSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        try:
            services.sign_up(**serializer.validated_data)
        except DjangoValidationError as exc:  # password validators
            raise ValidationError({"password": exc.messages}) from exc
        body = SignUpStartedSerializer({"message": SIGN_UP_STARTED}).data
        return Response(body, status=status.HTTP_202_ACCEPTED)


class TokenApi(ApiView):
    permission_classes = [AllowAny]
    throttle_classes = [AnonThrottle, UserThrottle, AuthEndpointThrottle]

    @extend_schema(
        tags=["accounts"],
        summary="Exchange email and password for an API token",
        request=TokenRequestSerializer,
        responses={
            200: TokenSerializer,
            429: error_response("`throttled`: too many failed sign-ins for this account or address; see Retry-After."),
        },
    )
    def post(self, request):
        serializer = TokenRequestSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        email = serializer.validated_data["email"].lower()  # stored lower-cased by the manager
        try:  # per-account and per-address cool-off after repeated failures (accounts.throttling)
            throttling.check_login_allowed(username=email, address=throttling.client_address(request))
        except throttling.LoginThrottled as exc:
            raise Throttled(wait=exc.retry_after) from exc
        user = authenticate(request, email=email, password=serializer.validated_data["password"])
        if user is None:
            raise AuthenticationFailed("Unable to sign in with those credentials.", code="invalid_credentials")
        return Response(TokenSerializer({"token": profile_services.issue_api_token(user=user), "user": user}).data)

    @extend_schema(
        tags=["accounts"],
        summary="Sign out: revoke your API token",
        description=(
            "Deletes the account's API token: every client using it must sign in again (`POST /auth/token` "
            "issues a new one). Changing or resetting the password revokes it too."
        ),
        request=None,
        responses={204: None, 401: error_response("Not signed in (`not_authenticated`).")},
    )
    def delete(self, request):
        if not request.user.is_authenticated:
            raise NotAuthenticated()
        profile_services.revoke_api_tokens(user_id=request.user.pk)
        return Response(status=status.HTTP_204_NO_CONTENT)


class MeApi(ApiView):
    permission_classes = [IsAuthenticated]

    @extend_schema(tags=["accounts"], summary="The signed-in account", responses={200: UserSerializer})
    def get(self, request):
        return Response(UserSerializer(request.user).data)

    @extend_schema(
        tags=["accounts"],
        summary="Update the signed-in account",
        request=ProfileUpdateSerializer,
        responses={200: UserSerializer},
    )
    def patch(self, request):
        serializer = ProfileUpdateSerializer(data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        if "display_name" in serializer.validated_data:
            services.update_profile(user=request.user, display_name=serializer.validated_data["display_name"])
        return Response(UserSerializer(request.user).data)
