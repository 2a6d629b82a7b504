"""The account pages: profile (name, email change with a mailed link, password change), the address book.
Bad input is 400 with the errors on the page and nothing stored."""

import re

import pytest
from django.contrib.auth import get_user_model
from django.core import mail
from django.test import Client

from accounts.models import Address
from accounts.services import addresses as address_services

pytestmark = pytest.mark.django_db

PASSWORD = "correct-horse-battery"
HOME = {"name": "Bea Buyer", "line1": "1 Market Street", "city": "Hudson", "postal_code": "12534", "country": "US"}


@pytest.fixture
def signed_in(client, buyer):
    client.force_login(buyer)
    return client


def _link(message) -> str:
    return re.search(r"http://[^\s]+/account/email/confirm/[^\s]+/", message.body).group(0).split("8000", 1)[1]


def test_the_profile_page_needs_a_sign_in(client):
    response = client.get("/account/")
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]


def test_the_header_links_the_account_page_for_a_signed_in_buyer(signed_in):
    page = signed_in.get("/account/").content.decode()
    assert '<a href="/account/">Account</a>' in page
    assert "Display name" in page and "Default shipping address" in page


def test_changing_the_display_name(signed_in, buyer):
    response = signed_in.post("/account/name/", {"display_name": "  Bea   B. "})
    assert response.status_code == 302
    buyer.refresh_from_db()
    assert buyer.display_name == "Bea B."
    response = signed_in.post("/account/name/", {"display_name": "x" * 81})
    assert response.status_code == 400 and "at most 80" in response.content.decode()
    buyer.refresh_from_db()
    assert buyer.display_name == "Bea B."


def test_an_email_change_waits_for_the_link_mailed_to_the_new_address(
    signed_in, buyer, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = signed_in.post(
            "/account/email/", {"email-new_email": "Bea.New@Example.com", "email-current_password": PASSWORD}
        )
    assert response.status_code == 302
    buyer.refresh_from_db()
    assert buyer.email == "buyer@example.com"  # nothing yet
    confirm, notice = mail.outbox
    assert confirm.to == ["bea.new@example.com"] and notice.to == ["buyer@example.com"]
    link = _link(confirm)
    anonymous = Client()
    page = anonymous.get(link)  # a mail scanner opening the link changes nothing
    assert page.status_code == 200 and "bea.new@example.com" in page.content.decode()
    buyer.refresh_from_db()
    assert buyer.email == "buyer@example.com"
    assert anonymous.post(link).status_code == 302
    buyer.refresh_from_db()
    assert buyer.email == "bea.new@example.com"
    again = anonymous.post(link)  # works once
    assert again.status_code == 400 and "already used" in again.content.decode()


def test_an_email_change_to_a_taken_address_is_refused_when_the_link_is_opened(
    signed_in, buyer, other_buyer, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        signed_in.post("/account/email/", {"email-new_email": other_buyer.email, "email-current_password": PASSWORD})
    response = Client().post(_link(mail.outbox[0]))
    assert response.status_code == 400 and "Another account" in response.content.decode()
    buyer.refresh_from_db()
    assert buyer.email == "buyer@example.com"


def test_an_email_change_with_a_wrong_password_or_a_bad_address_is_400_and_sends_nothing(
    signed_in, buyer, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        wrong = signed_in.post(
            "/account/email/", {"email-new_email": "new@example.com", "email-current_password": "nope"}
        )
        bad = signed_in.post(
            "/account/email/", {"email-new_email": "not an address", "email-current_password": PASSWORD}
        )
    assert wrong.status_code == 400 and "current password is not right" in wrong.content.decode()
    assert bad.status_code == 400 and "valid email" in bad.content.decode()
    assert mail.outbox == []


def test_wrong_current_passwords_are_throttled_like_sign_ins(signed_in, settings):
    settings.LOGIN_THROTTLE_USERNAME_LIMIT = 2
    form = {
        "password-current_password": "nope",
        "password-new_password": "x-new-passphrase-1",
        "password-new_password_again": "x-new-passphrase-1",
    }
    assert [signed_in.post("/account/password/", form).status_code for _ in range(2)] == [400, 400]
    refused = signed_in.post("/account/password/", form | {"password-current_password": PASSWORD})
    assert refused.status_code == 429 and refused["Retry-After"]


def test_changing_the_password_keeps_this_session_and_signs_out_the_others(buyer, django_capture_on_commit_callbacks):
    here, elsewhere = Client(), Client()
    for client in (here, elsewhere):
        assert client.login(email=buyer.email, password=PASSWORD)
    form = {
        "password-current_password": PASSWORD,
        "password-new_password": "a-much-better-passphrase",
        "password-new_password_again": "a-much-better-passphrase",
    }
    with django_capture_on_commit_callbacks(execute=True):
        response = here.post("/account/password/", form)
    assert response.status_code == 302
    assert here.get("/account/").status_code == 200
    assert elsewhere.get("/account/").status_code == 302  # signed out
    assert get_user_model().objects.get(pk=buyer.pk).check_password("a-much-better-passphrase")
    assert [m.subject for m in mail.outbox] == ["Your Makers' Market password was changed"]


def test_a_weak_or_mismatched_new_password_is_400_and_keeps_the_old_one(signed_in, buyer):
    weak = signed_in.post(
        "/account/password/",
        {"password-current_password": PASSWORD, "password-new_password": "123", "password-new_password_again": "123"},
    )
    assert weak.status_code == 400 and "too short" in weak.content.decode()
    differ = signed_in.post(
        "/account/password/",
        {
            "password-current_password": PASSWORD,
            "password-new_password": "a-much-better-passphrase",
            "password-new_password_again": "another",
        },
    )
    assert differ.status_code == 400 and "differ" in differ.content.decode()
    buyer.refresh_from_db()
    assert buyer.check_password(PASSWORD)


def test_adding_editing_making_default_and_deleting_addresses(signed_in, buyer):
    assert "No saved addresses yet" in signed_in.get("/account/addresses/").content.decode()
    assert signed_in.post("/account/addresses/new/", HOME | {"country": "us"}).status_code == 302
    assert signed_in.post("/account/addresses/new/", HOME | {"name": "Work", "region": "NY"}).status_code == 302
    home, work = Address.objects.get(name="Bea Buyer"), Address.objects.get(name="Work")
    assert home.is_default and home.country == "US" and not work.is_default
    page = signed_in.get("/account/addresses/").content.decode()
    assert page.index("Bea Buyer") < page.index("Work") and "12534 Hudson, NY" in page
    assert signed_in.post(f"/account/addresses/{work.pk}/default/").status_code == 302
    work.refresh_from_db()
    assert work.is_default
    edit = signed_in.post(f"/account/addresses/{home.pk}/edit/", HOME | {"line1": "2 Market Street"})
    assert edit.status_code == 302
    assert Address.objects.get(pk=home.pk).line1 == "2 Market Street"
    assert "Delete this address?" in signed_in.get(f"/account/addresses/{work.pk}/delete/").content.decode()
    assert signed_in.post(f"/account/addresses/{work.pk}/delete/").status_code == 302
    assert list(Address.objects.values_list("name", "is_default")) == [("Bea Buyer", True)]


def test_a_bad_address_is_400_with_field_errors_and_nothing_stored(signed_in):
    response = signed_in.post("/account/addresses/new/", HOME | {"country": "U1", "city": ""})
    page = response.content.decode()
    assert response.status_code == 400 and "two-letter country code" in page and "This field is required" in page
    assert not Address.objects.exists()


def test_another_buyers_address_pages_are_404(signed_in, other_buyer):
    theirs = address_services.create_address(owner=other_buyer, **HOME)
    for url in (f"/account/addresses/{theirs.pk}/edit/", f"/account/addresses/{theirs.pk}/delete/"):
        assert signed_in.get(url).status_code == 404
    assert signed_in.post(f"/account/addresses/{theirs.pk}/delete/").status_code == 404
    assert signed_in.post(f"/account/addresses/{theirs.pk}/default/").status_code == 404
    assert Address.objects.filter(pk=theirs.pk).exists()
