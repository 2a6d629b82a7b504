"""The CSRF token filled into cached pages (etsy.cache.csrf_token) is Django's token, drawn faster."""

from __future__ import annotations

from collections import Counter

from django.middleware.csrf import CSRF_ALLOWED_CHARS, _unmask_cipher_token
from django.test import Client, RequestFactory

from etsy import cache


def test_a_visitor_with_a_cookie_gets_a_fresh_mask_of_their_own_secret_and_the_cookie_renewed():
    request = RequestFactory().get("/")
    request.META["CSRF_COOKIE"] = secret = "a" * 16 + "Z9" * 8
    first, second = cache.csrf_token(request), cache.csrf_token(request)
    assert len(first) == 64 and set(first) <= set(CSRF_ALLOWED_CHARS)
    assert first != second  # masked anew each time (BREACH)
    assert _unmask_cipher_token(first) == secret == _unmask_cipher_token(second)
    assert request.META["CSRF_COOKIE_NEEDS_UPDATE"] is True


def test_a_visitor_without_a_cookie_gets_a_new_secret_to_be_set():
    request = RequestFactory().get("/")
    token = cache.csrf_token(request)
    secret = request.META["CSRF_COOKIE"]
    assert len(secret) == 32 and set(secret) <= set(CSRF_ALLOWED_CHARS)
    assert _unmask_cipher_token(token) == secret and request.META["CSRF_COOKIE_NEEDS_UPDATE"] is True


def test_the_mask_draws_every_character_alike():
    drawn = Counter("".join(cache.pages._random_csrf_string() for _ in range(4000)))
    expected = 4000 * 32 / len(CSRF_ALLOWED_CHARS)
    assert set(drawn) == set(CSRF_ALLOWED_CHARS)
    assert all(abs(n - expected) < 0.15 * expected for n in drawn.values())  # ~2,065 each, sd ~45


def test_the_product_pages_token_is_accepted_by_a_strict_client(client, product):
    browser = Client(enforce_csrf_checks=True)
    html = browser.get(product.get_absolute_url()).content.decode()
    token = html.split('name="csrfmiddlewaretoken" value="')[1].split('"')[0]
    assert _unmask_cipher_token(token) == browser.cookies["csrftoken"].value
    answered = browser.post(f"/cart/add/{product.pk}/", {"csrfmiddlewaretoken": token, "quantity": "1"})
    assert answered.status_code == 302  # a forged post would get 403
