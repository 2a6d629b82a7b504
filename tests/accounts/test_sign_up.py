"""Sign-up without account enumeration (accounts.services.sign_up): a known address gets the same
answer as a new one, its owner an email; the HTML form is throttled like the API."""

from __future__ import annotations

import re
import smtplib

import pytest
from django.core.mail.backends.base import BaseEmailBackend
from django.test import Client
from rest_framework.test import APIClient

from accounts.models import User
from tests.accounts.factories import UserFactory

pytestmark = pytest.mark.django_db

PASSWORD = "a-Long-enough-pass-42"
LINK = re.compile(r"https?://\S+")


@pytest.fixture(autouse=True)
def _roomy_throttles(throttle_rates):
    throttle_rates(auth="1000/min", anon="1000/min")


@pytest.fixture
def throttle_rates(settings):
    def set_rates(**rates):
        settings.REST_FRAMEWORK = {
            **settings.REST_FRAMEWORK,
            "DEFAULT_THROTTLE_RATES": {**settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"], **rates},
        }

    return set_rates


def html_sign_up(email, password=PASSWORD, address="10.0.0.1", client=None, **extra):
    client = client or Client(REMOTE_ADDR=address)
    return client.post("/accounts/signup/", {"email": email, "password": password, "display_name": "Nia", **extra})


def api_sign_up(email, password=PASSWORD, address="10.0.0.1"):
    return APIClient(REMOTE_ADDR=address).post(
        "/api/v1/auth/register", {"email": email, "password": password, "display_name": "Nia"}, format="json"
    )


def links_in(message) -> list[str]:
    return LINK.findall(message.body)


def test_html_sign_up_answers_a_known_address_exactly_like_a_new_one(mailoutbox, django_capture_on_commit_callbacks):
    owner = UserFactory(email="taken@example.com")
    with django_capture_on_commit_callbacks(execute=True):
        new = html_sign_up("fresh@example.com")
        known = html_sign_up("Taken@Example.com")
    assert (
        (new.status_code, new["Location"]) == (known.status_code, known["Location"]) == (302, "/accounts/signup/sent/")
    )
    assert set(new.cookies) == set(known.cookies)
    assert "_auth_user_id" not in new.wsgi_request.session and "_auth_user_id" not in known.wsgi_request.session
    page = Client().get("/accounts/signup/sent/")
    assert page.status_code == 200 and "Check your email" in page.content.decode()
    # the owner is told, with a link to reset the password; the account is unchanged
    by_address = {m.to[0]: m for m in mailoutbox}
    assert set(by_address) == {"fresh@example.com", "taken@example.com"}
    notice = by_address["taken@example.com"]
    assert "already have" in notice.body and "/accounts/reset/" in notice.body
    owner.refresh_from_db()
    assert owner.check_password("correct-horse-battery") and owner.is_active and owner.display_name != "Nia"
    assert User.objects.filter(email__iexact="taken@example.com").count() == 1


def test_api_sign_up_answers_a_known_address_exactly_like_a_new_one(mailoutbox, django_capture_on_commit_callbacks):
    UserFactory(email="taken@example.com")
    with django_capture_on_commit_callbacks(execute=True):
        new = api_sign_up("fresh@example.com")
        known = api_sign_up("TAKEN@example.com")
    assert new.status_code == known.status_code == 202
    assert new.json() == known.json()
    assert "token" not in new.json()
    assert sorted(m.to[0] for m in mailoutbox) == ["fresh@example.com", "taken@example.com"]


def test_a_weak_password_is_refused_the_same_way_for_a_known_and_a_new_address():
    UserFactory(email="taken@example.com")
    for email in ("taken@example.com", "fresh@example.com"):
        assert html_sign_up(email, password="123").status_code == 400
        response = api_sign_up(email, password="123")
        assert response.status_code == 400 and "password" in response.json()["error"]["fields"]
    assert not User.objects.filter(email="fresh@example.com").exists()


def test_a_new_account_opens_only_from_the_emailed_link(mailoutbox, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        html_sign_up("New@Example.com", next="/cart/")
    user = User.objects.get(email="new@example.com")
    assert not user.is_active and user.is_signup_pending
    assert Client().post("/accounts/login/", {"username": "new@example.com", "password": PASSWORD}).status_code == 200
    token = APIClient().post("/api/v1/auth/token", {"email": "new@example.com", "password": PASSWORD}, format="json")
    assert token.status_code in (400, 401)

    (link,) = links_in(mailoutbox[0])
    path = link.split("://", 1)[1].split("/", 1)[1]
    browser = Client()
    page = browser.get("/" + path)
    assert page.status_code == 200 and "new@example.com" in page.content.decode()
    assert User.objects.get(pk=user.pk).is_active is False  # opening the link (a mail scanner) confirms nothing
    confirmed = browser.post("/" + path, {"next": "/cart/"})
    assert confirmed.status_code == 302 and confirmed["Location"] == "/cart/"
    user.refresh_from_db()
    assert user.is_active and not user.is_signup_pending and user.display_name == "Nia"
    assert "Sign out" in browser.get("/").content.decode()
    again = Client().post("/" + path)  # a link works once
    assert again.status_code == 400 and "expired" in again.content.decode()


def test_signing_up_again_while_pending_replaces_the_password_and_kills_the_first_link(
    mailoutbox, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        html_sign_up("pending@example.com", password="first-Pass-2024-x")
    with django_capture_on_commit_callbacks(execute=True):
        html_sign_up("pending@example.com", password="second-Pass-2024-y")
    first, second = (links_in(m)[0].split("://", 1)[1].split("/", 1)[1] for m in mailoutbox)
    assert Client().post("/" + first).status_code == 400
    assert Client().post("/" + second).status_code == 302
    user = User.objects.get(email="pending@example.com")
    assert user.check_password("second-Pass-2024-y") and User.objects.filter(email="pending@example.com").count() == 1


def test_a_deactivated_account_gets_the_same_answer_and_no_email(mailoutbox, django_capture_on_commit_callbacks):
    UserFactory(email="gone@example.com", is_active=False)
    with django_capture_on_commit_callbacks(execute=True):
        response = html_sign_up("gone@example.com")
    assert response.status_code == 302 and response["Location"] == "/accounts/signup/sent/"
    assert mailoutbox == []
    assert not User.objects.get(email="gone@example.com").is_active


def test_html_sign_up_is_throttled_like_the_api(throttle_rates):
    """The probe: 40 sign-ups in 0.8 s, none refused. The form now shares API_THROTTLE_AUTH per address."""
    throttle_rates(auth="5/min")
    answers = [html_sign_up(f"probe{n}@example.com", address="10.4.4.4").status_code for n in range(8)]
    assert answers[:5] == [302] * 5
    assert answers[5:] == [429] * 3
    refused = html_sign_up("probe-last@example.com", address="10.4.4.4")
    assert int(refused["Retry-After"]) >= 1
    assert "Too many sign-ups" in refused.content.decode()
    assert not User.objects.filter(email="probe-last@example.com").exists()
    assert api_sign_up("probe-api@example.com", address="10.4.4.4").status_code == 429  # one budget per address
    assert html_sign_up("other@example.com", address="10.5.5.5").status_code == 302  # other addresses unaffected


class RefusingMailServer(BaseEmailBackend):
    def send_messages(self, email_messages):
        raise smtplib.SMTPServerDisconnected("the mail server went away")


def test_a_failing_mail_server_changes_no_answer(settings, django_capture_on_commit_callbacks):
    settings.EMAIL_BACKEND = f"{__name__}.RefusingMailServer"
    UserFactory(email="taken@example.com")
    with django_capture_on_commit_callbacks(execute=True):
        new = html_sign_up("fresh@example.com")
        known = html_sign_up("taken@example.com")
    assert (new.status_code, new["Location"]) == (known.status_code, known["Location"])
    assert User.objects.get(email="fresh@example.com").is_signup_pending  # signing up again sends a new link
