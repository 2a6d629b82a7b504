"""Sign-up, tokens and the profile endpoint."""

import pytest
from rest_framework.authtoken.models import Token

from accounts.models import User
from tests.api.conftest import error_of

pytestmark = pytest.mark.django_db


def test_register_creates_a_pending_account_and_emails_its_link(
    api_client, mailoutbox, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = api_client.post(
            "/api/v1/auth/register",
            {"email": "New.Maker@Example.com", "password": "a-long-enough-passphrase", "display_name": "New Maker"},
            format="json",
        )
    assert response.status_code == 202, response.content
    assert set(response.json()) == {"message"}
    user = User.objects.get(email="new.maker@example.com")
    assert user.display_name == "New Maker" and user.is_signup_pending and not user.is_active
    assert not Token.objects.filter(user=user).exists()
    assert [m.to for m in mailoutbox] == [["new.maker@example.com"]]
    assert "/accounts/signup/confirm/" in mailoutbox[0].body


def test_register_rejects_weak_password_as_field_error(api_client):
    response = api_client.post("/api/v1/auth/register", {"email": "a@example.com", "password": "123"}, format="json")
    assert response.status_code == 400
    error = error_of(response)
    assert error["code"] == "invalid"
    assert error["fields"]["password"]
    assert not User.objects.filter(email="a@example.com").exists()


def test_register_answers_a_taken_email_like_a_new_one(api_client, buyer):
    response = api_client.post(
        "/api/v1/auth/register", {"email": "BUYER@example.com", "password": "a-long-enough-passphrase"}, format="json"
    )
    assert response.status_code == 202
    assert set(response.json()) == {"message"}
    assert User.objects.filter(email__iexact="buyer@example.com").count() == 1


def test_register_rejects_malformed_body(api_client):
    response = api_client.post("/api/v1/auth/register", {"email": "not-an-email"}, format="json")
    assert response.status_code == 400
    error = error_of(response)
    assert set(error["fields"]) == {"email", "password"}


def test_malformed_json_is_a_400_in_the_error_format(api_client):
    response = api_client.post("/api/v1/auth/token", data="{not json", content_type="application/json")
    assert response.status_code == 400
    assert error_of(response)["code"] == "parse_error"


def test_token_for_valid_credentials_is_stable(api_client, buyer):
    first = api_client.post(
        "/api/v1/auth/token", {"email": "Buyer@Example.com", "password": "correct-horse-battery"}, format="json"
    )
    second = api_client.post(
        "/api/v1/auth/token", {"email": "buyer@example.com", "password": "correct-horse-battery"}, format="json"
    )
    assert first.status_code == second.status_code == 200
    assert first.json()["token"] == second.json()["token"] == Token.objects.get(user=buyer).key


def test_token_refused_for_wrong_password(api_client, buyer):
    response = api_client.post("/api/v1/auth/token", {"email": "buyer@example.com", "password": "wrong"}, format="json")
    assert response.status_code == 401
    assert error_of(response)["code"] == "invalid_credentials"
    assert not Token.objects.filter(user=buyer).exists()


def test_me_requires_authentication(api_client):
    response = api_client.get("/api/v1/me")
    assert response.status_code == 401
    assert error_of(response)["code"] == "not_authenticated"
    assert response["WWW-Authenticate"] == "Token"


def test_me_with_bad_token_is_401(api_client):
    api_client.credentials(HTTP_AUTHORIZATION="Token not-a-real-token")
    response = api_client.get("/api/v1/me")
    assert response.status_code == 401
    assert error_of(response)["code"] == "authentication_failed"


def test_me_returns_own_profile_and_is_never_cached(buyer_client, buyer):
    response = buyer_client.get("/api/v1/me")
    assert response.status_code == 200
    assert response.json()["email"] == buyer.email
    assert response["Cache-Control"] == "private, no-store"


def test_me_patch_changes_display_name_only(buyer_client, buyer):
    response = buyer_client.patch(
        "/api/v1/me", {"display_name": "Bea B.", "email": "hijack@example.com"}, format="json"
    )
    assert response.status_code == 200
    buyer.refresh_from_db()
    assert buyer.display_name == "Bea B."
    assert buyer.email == "buyer@example.com"


def test_session_auth_works_for_the_browser(client, buyer):
    client.force_login(buyer)
    response = client.get("/api/v1/me")
    assert response.status_code == 200
    assert response.json()["id"] == buyer.pk


def test_auth_endpoints_have_a_stricter_throttle(api_client, buyer, throttle_rates):
    throttle_rates(auth="3/min", anon="1000/min")
    wrong = {"email": "buyer@example.com", "password": "x"}
    statuses = [api_client.post("/api/v1/auth/token", wrong, format="json").status_code for _ in range(4)]
    assert statuses == [401, 401, 401, 429]
    response = api_client.post("/api/v1/auth/token", {"email": "buyer@example.com", "password": "x"}, format="json")
    error = error_of(response)
    assert error["code"] == "throttled"
    assert int(response["Retry-After"]) == error["extra"]["retry_after"] > 0
    # other endpoints are not affected by the auth scope
    assert api_client.get("/api/v1/me").status_code == 401


def test_anonymous_throttle_applies_to_auth_endpoints_too(api_client, throttle_rates):
    throttle_rates(anon="2/min", auth="100/min")
    wrong = {"email": "nobody@example.com", "password": "x"}
    statuses = [api_client.post("/api/v1/auth/token", wrong, format="json").status_code for _ in range(3)]
    assert statuses == [401, 401, 429]


def test_user_throttle_counts_per_user(buyer_client, other_buyer_client, throttle_rates):
    throttle_rates(user="2/min")
    assert [buyer_client.get("/api/v1/me").status_code for _ in range(3)] == [200, 200, 429]
    assert other_buyer_client.get("/api/v1/me").status_code == 200


def test_unknown_api_path_is_a_json_404(api_client):
    response = api_client.get("/api/v1/no-such-thing")
    assert response.status_code == 404
    assert error_of(response)["code"] == "not_found"
