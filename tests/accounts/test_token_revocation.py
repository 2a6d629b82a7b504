"""Signing out of the API revokes the account's token, and so does a new password (the API's, the account
page's, a reset or staff's): a lost phone or a leaked token stops working at once, in every web process,
although each process keeps tokens it has seen (accounts.authentication)."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from django.test import Client
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from accounts.services import profile as profile_services
from etsy import cache, near_cache

pytestmark = pytest.mark.django_db

PASSWORD = "correct-horse-battery"  # tests.accounts.factories.UserFactory
NEW_PASSWORD = "a-much-better-passphrase"
ME = "/api/v1/me"


def _client(key: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    return client


def _kept(key: str) -> bool:
    raw = cache.raw_key(cache.account_token_key(key))
    return bool(near_cache.get().lookup([raw]))


@pytest.fixture
def warm_token(buyer, django_capture_on_commit_callbacks):
    """The buyer's token, signed in through the API and kept by this web process."""
    near = near_cache.get()
    assert near is not None and near.sync(), "the invalidation listener did not start"
    with django_capture_on_commit_callbacks(execute=True):
        response = APIClient().post("/api/v1/auth/token", {"email": buyer.email, "password": PASSWORD}, format="json")
    assert response.status_code == 200
    key = response.json()["token"]
    client = _client(key)
    for _ in range(2):  # read, marked, then kept
        assert client.get(ME).status_code == 200
        assert near.sync()
    assert _kept(key)
    return key


def _refused(key: str) -> bool:
    response = _client(key).get(ME)
    return response.status_code == 401 and response.json()["error"]["message"] == "Invalid token."


def test_signing_out_revokes_the_token_at_once(warm_token, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        response = _client(warm_token).delete("/api/v1/auth/token")
    assert response.status_code == 204
    assert not Token.objects.filter(key=warm_token).exists()
    assert not _kept(warm_token)
    assert _refused(warm_token)


def test_signing_out_without_a_token_is_401_json():
    response = APIClient().delete("/api/v1/auth/token")
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "not_authenticated"


def test_an_api_password_change_revokes_the_old_token_and_answers_a_new_one(
    warm_token, buyer, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = _client(warm_token).post(
            "/api/v1/me/password", {"current_password": PASSWORD, "new_password": NEW_PASSWORD}, format="json"
        )
    assert response.status_code == 200
    new_key = response.json()["token"]
    assert new_key != warm_token
    assert _refused(warm_token)
    assert _client(new_key).get(ME).json()["email"] == buyer.email


def test_a_password_changed_on_the_account_page_revokes_the_token(
    warm_token, buyer, django_capture_on_commit_callbacks
):
    browser = Client()
    assert browser.login(email=buyer.email, password=PASSWORD)
    form = {
        "password-current_password": PASSWORD,
        "password-new_password": NEW_PASSWORD,
        "password-new_password_again": NEW_PASSWORD,
    }
    with django_capture_on_commit_callbacks(execute=True):
        assert browser.post("/account/password/", form).status_code == 302
    assert _refused(warm_token)
    assert browser.get("/account/").status_code == 200  # the browser that changed it stays signed in


def test_a_password_set_by_a_reset_or_by_staff_revokes_the_token(warm_token, buyer, django_capture_on_commit_callbacks):
    user = get_user_model().objects.get(pk=buyer.pk)
    with django_capture_on_commit_callbacks(execute=True):
        user.set_password(NEW_PASSWORD)  # what SetPasswordForm (reset) and the admin's password form do
        user.save()
    assert _refused(warm_token)


def test_saving_the_account_without_a_new_password_keeps_the_token(
    warm_token, buyer, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        profile_services.update_profile(user=get_user_model().objects.get(pk=buyer.pk), display_name="Bea B.")
        user = get_user_model().objects.get(pk=buyer.pk)
        user.check_password(PASSWORD)  # a hash upgrade at sign-in would save the password without a mark
        user.save()
    assert _client(warm_token).get(ME).status_code == 200
