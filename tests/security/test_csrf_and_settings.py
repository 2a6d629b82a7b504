"""CSRF on every HTML form (found by crawling the pages), password validators, upload content checks,
and the production profile's cookie, session and header settings."""

from __future__ import annotations

import io
import os
import subprocess
import sys
from decimal import Decimal
from html.parser import HTMLParser
from pathlib import Path

import pytest
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.db import connection
from django.test import Client
from PIL import Image
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from cart.models import CartItem
from catalog.models import ProductImage
from etsy import images
from orders.models import Order
from tests.accounts.factories import UserFactory
from tests.catalog.factories import ProductFactory
from tests.orders.factories import OrderFactory, OrderItemFactory

pytestmark = pytest.mark.django_db
ROOT = Path(__file__).resolve().parents[2]


class FormFinder(HTMLParser):
    def __init__(self):
        super().__init__()
        self.forms: list[dict] = []
        self._current: dict | None = None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "form":
            self._current = {
                "method": (attrs.get("method") or "get").lower(),
                "action": attrs.get("action") or "",
                "inputs": {},
            }
            self.forms.append(self._current)
        elif tag in ("input", "textarea", "select", "button") and self._current is not None and attrs.get("name"):
            self._current["inputs"][attrs["name"]] = attrs.get("value") or ""

    def handle_endtag(self, tag):
        if tag == "form":
            self._current = None


def post_forms(client: Client, url: str) -> list[tuple[str, dict]]:
    response = client.get(url)
    assert response.status_code == 200, (url, response.status_code)
    finder = FormFinder()
    finder.feed(response.content.decode())
    found = []
    for form in finder.forms:
        if form["method"] == "post":
            found.append((form["action"] or url, form["inputs"]))
    return found


@pytest.fixture
def pages(shop, category):
    product = ProductFactory(shop=shop, category=category, price=Decimal("8.00"), quantity=3)
    buyer = UserFactory()
    order = OrderFactory(buyer=buyer, shop=shop, status=Order.Status.DELIVERED)
    OrderItemFactory(order=order, product=product)
    CartItem.objects.create(user=buyer, product=product, offering=product.offerings.get(), quantity=1)
    return {
        "buyer": buyer,
        "visitor_urls": [
            "/accounts/login/",
            "/accounts/signup/",
            "/accounts/password-reset/",
            product.get_absolute_url(),
            f"/c/{category.slug}/",
            f"/shops/{shop.slug}/",
            "/search/?q=mug",
        ],
        "buyer_urls": [
            "/",
            product.get_absolute_url(),
            f"/shops/{shop.slug}/",
            "/cart/",
            "/orders/checkout/",
            f"/orders/{order.pk}/",
            "/favorites/",
            "/sell/open/",
            "/search/?q=mug",
        ],
    }


def test_every_post_form_on_the_site_is_csrf_protected(pages):
    forms: dict[str, tuple[str, dict, bool]] = {}
    visitor = Client(enforce_csrf_checks=True)
    for url in pages["visitor_urls"]:
        for action, inputs in post_forms(visitor, url):
            forms.setdefault(action, (url, inputs, False))
    buyer = Client(enforce_csrf_checks=True)
    buyer.force_login(pages["buyer"])
    for url in pages["buyer_urls"]:
        for action, inputs in post_forms(buyer, url):
            forms.setdefault(action, (url, inputs, True))
    assert len(forms) >= 8, sorted(forms)  # login, signup, reset, cart, checkout, review, favorites, logout, ...
    for action, (page, inputs, signed_in) in forms.items():
        assert "csrfmiddlewaretoken" in inputs, f"form posting to {action} on {page} has no CSRF token"
        client = Client(enforce_csrf_checks=True)
        if signed_in:
            client.force_login(pages["buyer"])
        forged = {k: v for k, v in inputs.items() if k != "csrfmiddlewaretoken"}
        response = client.post(action, forged)
        assert response.status_code == 403, (action, page, response.status_code)


def test_admin_forms_are_csrf_protected(product):
    admin = UserFactory(is_staff=True, is_superuser=True)
    client = Client(enforce_csrf_checks=True)
    client.force_login(admin)
    response = client.post(f"/admin/catalog/product/{product.pk}/change/", {"title": "forged"})
    assert response.status_code == 403
    product.refresh_from_db()
    assert product.title != "forged"
    assert Client(enforce_csrf_checks=True).post("/admin/login/", {"username": "a", "password": "b"}).status_code == 403


@pytest.mark.parametrize("password", ["short1", "password123", "12345678901", "buyer@example.com", "qwertyuiop"])
def test_weak_passwords_are_refused_by_the_validators_in_every_sign_up(password, settings):
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {
            **settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"],
            "auth": "1000/min",
            "anon": "1000/min",
        },
    }
    email = "buyer@example.com"
    with pytest.raises(ValidationError):
        validate_password(password, user=UserFactory.build(email=email))
    html = Client().post("/accounts/signup/", {"email": email, "password": password, "display_name": "B"})
    assert html.status_code == 400
    api = APIClient().post("/api/v1/auth/register", {"email": email, "password": password}, format="json")
    assert api.status_code == 400 and "password" in api.json()["error"]["fields"]
    from accounts.models import User

    assert not User.objects.filter(email=email).exists()


def _png(size=(64, 64)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, (200, 30, 30)).save(buffer, "PNG")
    return buffer.getvalue()


HOSTILE_UPLOADS = {
    "html-after-png-magic": b"\x89PNG\r\n\x1a\n<html><script>alert(1)</script></html>",
    "svg-with-script": b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>',
    "html-named-png": b"<!doctype html><script>alert(1)</script>",
    "truncated-png": _png()[:60],
}


def _bomb() -> bytes:
    buffer = io.BytesIO()
    Image.new("1", (30000, 30000), 0).save(buffer, "PNG")  # ~900 megapixels in a few hundred kB
    return buffer.getvalue()


@pytest.mark.parametrize("name", [*HOSTILE_UPLOADS, "decompression-bomb"])
def test_hostile_picture_uploads_are_refused_through_the_api(seller, shop, category, name):
    from django.core.files.uploadedfile import SimpleUploadedFile

    payload = _bomb() if name == "decompression-bomb" else HOSTILE_UPLOADS[name]
    product = ProductFactory(shop=shop, category=category)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.get_or_create(user=seller)[0].key}")
    upload = SimpleUploadedFile(f"{name}.png", payload, content_type="image/png")
    response = client.post(f"/api/v1/seller/products/{product.pk}/images", {"image": upload}, format="multipart")
    assert response.status_code == 400, (name, response.status_code, response.content[:200])
    assert ProductImage.objects.filter(product=product).count() == 0
    with pytest.raises(Exception):
        images.process_upload(SimpleUploadedFile(f"{name}.png", payload, content_type="image/png"))


def test_accepted_picture_is_re_encoded_under_a_server_chosen_name(seller, shop, category):
    from django.core.files.uploadedfile import SimpleUploadedFile

    product = ProductFactory(shop=shop, category=category)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.get_or_create(user=seller)[0].key}")
    payload = _png((400, 300)) + b"<script>alert(1)</script>"
    upload = SimpleUploadedFile("../../evil name.php.png", payload, content_type="image/png")
    response = client.post(f"/api/v1/seller/products/{product.pk}/images", {"image": upload}, format="multipart")
    assert response.status_code == 201, response.content[:300]
    stored = ProductImage.objects.get(product=product)
    assert "evil" not in stored.image.name and ".php" not in stored.image.name and ".." not in stored.image.name
    with stored.image.open("rb") as handle:
        assert b"<script>" not in handle.read()


def test_production_profile_has_secure_cookies_headers_and_a_clean_deploy_check(tmp_path):
    db = connection.settings_dict
    env = {
        **os.environ,
        "DATABASE_URL": f"postgres://{db['USER']}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}",
        "ETSY_ENV": "production",
        "SECRET_KEY": "x" * 30 + "-deploy-check-0123456789-abcdefghij",
        "ALLOWED_HOSTS": "shop.example.com",
        "METRICS_BEARER_TOKEN": "test-only-metrics-token",
        "LOG_LEVEL": "ERROR",
        "STATIC_ROOT": str(tmp_path / "static"),
        # Production refuses the test payment provider (payments.E001) and Stripe without its secrets (E002/E003).
        "PAYMENT_PROVIDER": "orders.payments_stripe.StripePaymentProvider",
        "STRIPE_SECRET_KEY": "sk_test_check_only",
        "STRIPE_PUBLISHABLE_KEY": "pk_test_check_only",
        "STRIPE_WEBHOOK_SECRET": "whsec_check_only",
    }
    # Production serves hashed static names from the manifest that a deploy's collectstatic writes.
    collected = subprocess.run(
        [sys.executable, "manage.py", "collectstatic", "--no-input", "-v0"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert collected.returncode == 0, collected.stderr[-2000:]
    script = (
        "import django;django.setup();from django.conf import settings as s;"
        "from django.test import Client;"
        "assert s.SESSION_COOKIE_SECURE and s.CSRF_COOKIE_SECURE and s.SESSION_COOKIE_HTTPONLY;"
        "assert s.SECURE_SSL_REDIRECT and s.SECURE_HSTS_SECONDS >= 31536000 and not s.DEBUG;"
        "r=Client(HTTP_HOST='shop.example.com').get('/accounts/login/', secure=True);"
        "h=r.headers;assert r.status_code==200, r.status_code;"
        "assert 'Content-Security-Policy' in h and \"script-src 'self'\" in h['Content-Security-Policy'];"
        "assert h['X-Frame-Options']=='DENY' and h['X-Content-Type-Options']=='nosniff';"
        "assert h['Strict-Transport-Security'].startswith('max-age=31536000');"
        "assert h['Referrer-Policy']=='same-origin';"
        "c=r.cookies['csrftoken'];assert c['secure'] and c['samesite'];"
        "print('ok')"
    )
    checked = subprocess.run(
        [sys.executable, "-c", script],
        cwd=ROOT,
        env={**env, "DJANGO_SETTINGS_MODULE": "etsy.settings"},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert checked.returncode == 0 and checked.stdout.strip().endswith("ok"), checked.stderr[-2000:]
    deploy = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert deploy.returncode == 0, deploy.stdout[-2000:] + deploy.stderr[-2000:]
