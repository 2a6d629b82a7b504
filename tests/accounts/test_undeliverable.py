"""Email deliverability: bounce and complaint webhooks mark addresses, sending skips them; no console in production."""

from __future__ import annotations

import base64
import json

import pytest
from django.core import mail
from django.core.checks import Error
from django.core.mail import EmailMessage, send_mail

from accounts.models import UndeliverableAddress
from accounts.services import mark_address_undeliverable
from etsy.checks import check_production_email_backend

WEBHOOK = "/anymail/postmark/tracking/"
SECRET = "hook-user:hook-pass-0123456789"


@pytest.fixture
def postmark_webhook(settings):
    settings.ROOT_URLCONF = "etsy.urls"
    settings.ANYMAIL = {"WEBHOOK_SECRET": SECRET}

    def post(client, payload: dict, secret: str = SECRET):
        auth = base64.b64encode(secret.encode()).decode()
        return client.post(
            WEBHOOK, data=json.dumps(payload), content_type="application/json", HTTP_AUTHORIZATION=f"Basic {auth}"
        )

    return post


def bounce(email: str, bounce_type: str = "HardBounce") -> dict:
    return {
        "RecordType": "Bounce",
        "ID": 4323372036854775807,
        "Type": bounce_type,
        "MessageID": "883953f4-6105-42a2-a16a-77a8eac79483",
        "Description": "The server was unable to deliver your message (ex: unknown user, mailbox not found).",
        "Email": email,
        "BouncedAt": "2026-12-06T10:00:00Z",
    }


@pytest.mark.django_db
def test_hard_bounce_webhook_marks_the_address_undeliverable(client, postmark_webhook):
    response = postmark_webhook(client, bounce("Seller@Example.com"))
    assert response.status_code == 200
    address = UndeliverableAddress.objects.get()
    assert (address.email, address.reason, address.provider) == ("seller@example.com", "bounced", "Postmark")


@pytest.mark.django_db
def test_spam_complaint_webhook_marks_the_address(client, postmark_webhook):
    payload = {
        "RecordType": "SpamComplaint",
        "Type": "SpamComplaint",
        "MessageID": "00000000-0000-0000-0000-000000000000",
        "Email": "buyer@example.com",
        "BouncedAt": "2026-12-06T10:00:00Z",
    }
    assert postmark_webhook(client, payload).status_code == 200
    assert UndeliverableAddress.objects.get().reason == "complained"


@pytest.mark.django_db
def test_soft_bounce_leaves_the_address_deliverable(client, postmark_webhook):
    assert postmark_webhook(client, bounce("buyer@example.com", "SoftBounce")).status_code == 200
    assert not UndeliverableAddress.objects.exists()


@pytest.mark.django_db
def test_webhook_without_the_secret_is_refused_and_marks_nothing(client, postmark_webhook):
    response = postmark_webhook(client, bounce("buyer@example.com"), secret="intruder:guess")
    assert response.status_code == 400
    assert not UndeliverableAddress.objects.exists()


@pytest.fixture
def skipping_backend(settings):
    settings.EMAIL_BACKEND = "accounts.mail.SkipUndeliverableBackend"
    settings.EMAIL_DELIVERY_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    mail.outbox = []


@pytest.mark.django_db
def test_sending_skips_undeliverable_recipients(skipping_backend):
    mark_address_undeliverable(email="gone@example.com", reason="bounced")
    message = EmailMessage("Your order", "Thanks", to=["Gone Person <GONE@example.com>", "kept@example.com"])
    message.cc = ["gone@example.com"]
    assert message.send() == 1
    assert len(mail.outbox) == 1
    assert mail.outbox[0].to == ["kept@example.com"] and mail.outbox[0].cc == []


@pytest.mark.django_db
def test_message_to_only_undeliverable_addresses_is_not_sent(skipping_backend):
    mark_address_undeliverable(email="gone@example.com", reason="complained")
    assert send_mail("Digest", "Sales today", "shop@example.com", ["gone@example.com"]) == 0
    assert mail.outbox == []


@pytest.mark.django_db
def test_deliverable_mail_goes_through_unchanged(skipping_backend):
    assert send_mail("Digest", "Sales today", "shop@example.com", ["seller@example.com"]) == 1
    assert mail.outbox[0].to == ["seller@example.com"]


def test_production_profile_refuses_the_console_backend(settings):
    settings.IS_PRODUCTION = True
    settings.EMAIL_DELIVERY_BACKEND = "django.core.mail.backends.console.EmailBackend"
    errors = check_production_email_backend()
    assert [error.id for error in errors] == ["etsy.E002"] and isinstance(errors[0], Error)
    settings.EMAIL_DELIVERY_BACKEND = "anymail.backends.amazon_ses.EmailBackend"
    assert check_production_email_backend() == []
    settings.EMAIL_DELIVERY_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    assert check_production_email_backend() == []


def test_development_may_print_mail_to_the_console(settings):
    settings.IS_PRODUCTION = False
    settings.EMAIL_DELIVERY_BACKEND = "django.core.mail.backends.console.EmailBackend"
    assert check_production_email_backend() == []


@pytest.mark.parametrize(
    "recipient",
    [
        "GONE@Example.com",
        "first.last+tag@sub.example.co",
        "a_b-c@x-y.test",
        "Gone Person <GONE@example.com>",
        '"odd..name"@example.com',
        "gone@example.com (comment)",
        " gone@example.com ",
        "a..b@example.com",
        ".a@example.com",
        "o'brien@example.com",
    ],
)
def test_a_recipients_address_is_read_as_the_email_parser_reads_it(recipient):
    """accounts.mail._address takes a bare address as it is (lower-cased) and parses anything else: the same
    address either way."""
    from email.utils import parseaddr

    from accounts.mail import _address

    assert _address(recipient) == parseaddr(recipient)[1].strip().lower()


@pytest.mark.django_db
def test_a_bare_address_in_capitals_is_skipped_as_undeliverable(skipping_backend):
    mark_address_undeliverable(email="gone@example.com", reason="bounced")
    assert send_mail("Digest", "Sales today", "shop@example.com", ["GONE@Example.COM", "kept@example.com"]) == 1
    assert mail.outbox[0].to == ["kept@example.com"]
