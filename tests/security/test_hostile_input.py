"""Hostile input, property-based (hypothesis): every write endpoint and form answers a clear 4xx, never
a 500, and stores nothing half-way. (The API's schema-wide fuzzing is tests/api/test_schemathesis.py;
this covers the HTML forms and the values schemathesis does not try: huge, non-numeric and unicode
numbers, 10 kB strings, malformed JSON, oversized bodies.)"""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from accounts.models import User
from cart.models import CartItem
from catalog.models import Favorite, Product
from orders.models import Checkout, Order, Review
from shops.models import Shop
from tests.accounts.factories import UserFactory
from tests.catalog.factories import ProductFactory
from tests.orders.factories import OrderFactory

pytestmark = pytest.mark.django_db

EXAMPLES = 30
HYPOTHESIS = settings(
    max_examples=EXAMPLES,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

WEIRD_NUMBERS = st.sampled_from(
    [
        0,
        -1,
        -0.0,
        1.5,
        2**31,
        2**63,
        10**30,
        "1e309",
        "-1e309",
        "NaN",
        "nan",
        "Infinity",
        "-Infinity",
        "0x10",
        "1_000",
        " 1 ",
        "",
        "١٢",
        "½",
        "1,5",
        "9" * 400,
        "12abc",
        "--1",
        "+-2",
        "1e2",
        "0.0000001",
        "∞",
        None,
        True,
        False,
        [],
        {},
        [1],
        {"a": 1},
    ]
)
NUMBERS = st.one_of(
    WEIRD_NUMBERS,
    st.integers(min_value=-(10**40), max_value=10**40),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=12),
)
TEXT = st.one_of(
    st.text(max_size=60),
    st.sampled_from(
        [
            "<script>alert(1)</script>",
            "\x00",
            "\u202e\u0000bidi",
            "' OR 1=1 --",
            "{{ 7*7 }}",
            "%s%s%n",
            "x" * 10_240,
            "😀" * 3000,
            "\ud7ff\ue000",
            "../../etc/passwd",
            "a\r\nSet-Cookie: x=1",
        ]
    ),
)
# JSON has no NaN or infinity: a client that sends the bare tokens is tested with raw bodies below.
JSON_NUMBERS = st.one_of(
    WEIRD_NUMBERS,
    st.integers(min_value=-(10**40), max_value=10**40),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=12),
)
JSON_VALUES = st.one_of(JSON_NUMBERS, TEXT)


def api_for(user) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.get_or_create(user=user)[0].key}")
    return client


def form_value(value) -> str:
    return "" if value is None else str(value)[:20_000]


def assert_clear_answer(response, allowed=(200, 201, 204, 301, 302, 303)):
    assert response.status_code < 500, (response.status_code, response.content[:300])
    assert response.status_code in allowed or 400 <= response.status_code < 500, response.status_code
    if response.status_code >= 400 and response.get("Content-Type", "").startswith("application/json"):
        assert "error" in response.json()  # the API's one error format


@pytest.fixture
def stocked(shop, category):
    return ProductFactory(shop=shop, category=category, quantity=5, price=Decimal("10.00"))


# --- cart ---------------------------------------------------------------------------------------
def test_cart_quantities_html_and_api(client, buyer, stocked):
    api = api_for(buyer)
    client.force_login(buyer)

    @HYPOTHESIS
    @given(quantity=NUMBERS, api_quantity=JSON_VALUES, product_id=JSON_VALUES)
    def run(quantity, api_quantity, product_id):
        assert_clear_answer(client.post(f"/cart/add/{stocked.pk}/", {"quantity": form_value(quantity)}))
        line = CartItem.objects.filter(user=buyer).first()
        line_id = line.pk if line else 1
        assert_clear_answer(client.post(f"/cart/update/{line_id}/", {"quantity": form_value(quantity)}))
        assert_clear_answer(
            api.post("/api/v1/cart/items", {"product_id": product_id, "quantity": api_quantity}, format="json")
        )
        assert_clear_answer(
            api.post("/api/v1/cart/items", {"product_id": stocked.pk, "quantity": api_quantity}, format="json")
        )
        line = CartItem.objects.filter(user=buyer).first()
        line_id = line.pk if line else 1
        assert_clear_answer(api.patch(f"/api/v1/cart/items/{line_id}", {"quantity": api_quantity}, format="json"))
        for line in CartItem.objects.filter(user=buyer):  # never more than the shop has, never <= 0
            assert 1 <= line.quantity <= 5

    run()
    assert Product.objects.get(pk=stocked.pk).quantity == 5


# --- checkout -----------------------------------------------------------------------------------
ADDRESS_FIELDS = ["name", "line1", "line2", "city", "postcode", "country"]


def test_checkout_with_hostile_address_and_card_stores_nothing(client, buyer, stocked):
    api = api_for(buyer)
    client.force_login(buyer)
    CartItem.objects.create(user=buyer, product=stocked, offering=stocked.offerings.get(), quantity=1)
    counter = iter(range(10**6))

    @HYPOTHESIS
    @given(
        address=st.fixed_dictionaries({f: TEXT for f in ADDRESS_FIELDS}),
        card=JSON_VALUES,
        extra=st.dictionaries(st.text(max_size=8), JSON_VALUES, max_size=2),
    )
    def run(address, card, extra):
        card = card if str(card).replace(" ", "").isdigit() is False else "1234"  # never a real test card
        response = api.post(
            "/api/v1/checkout",
            {"address": address, "payment_method": card, **extra},
            format="json",
            HTTP_IDEMPOTENCY_KEY=f"hostile-{next(counter)}",
        )
        assert_clear_answer(response, allowed=())
        form = {f"ship_{k}": form_value(v) for k, v in address.items()} | {
            "payment_method": form_value(card),
            "token": f"hostile-form-{next(counter)}",
        }
        assert_clear_answer(client.post("/orders/checkout/", form), allowed=())
        assert Checkout.objects.count() == 0 and Order.objects.count() == 0

    run()
    assert Product.objects.get(pk=stocked.pk).quantity == 5


@pytest.mark.parametrize("header", ["", " ", "x" * 256, "é", "a\tb", '"', "\\"])
def test_checkout_refuses_bad_idempotency_keys(buyer, stocked, header):
    CartItem.objects.create(user=buyer, product=stocked, offering=stocked.offerings.get(), quantity=1)
    response = api_for(buyer).post(
        "/api/v1/checkout", {"address": {}, "payment_method": "1"}, format="json", HTTP_IDEMPOTENCY_KEY=header
    )
    assert response.status_code == 400
    assert Checkout.objects.count() == 0


# --- reviews, favorites -------------------------------------------------------------------------
def test_reviews_with_hostile_rating_and_comment(client, buyer, shop):
    order = OrderFactory(buyer=buyer, shop=shop, status=Order.Status.DELIVERED)
    api = api_for(buyer)
    client.force_login(buyer)

    @HYPOTHESIS
    @given(rating=NUMBERS, comment=TEXT)
    def run(rating, comment):
        before = Review.objects.count()
        response = api.post(f"/api/v1/orders/{order.pk}/review", {"rating": rating, "comment": comment}, format="json")
        assert_clear_answer(response)
        html = client.post(
            f"/orders/{order.pk}/review/", {"rating": form_value(rating), "comment": form_value(comment)}
        )
        assert_clear_answer(html)
        created = Review.objects.count() - before
        assert created <= 1
        for review in Review.objects.all():
            assert 1 <= review.rating <= 5 and len(review.comment) <= 5000

    run()
    assert Review.objects.filter(order=order).count() <= 1


def test_favorites_with_hostile_ids(client, buyer, stocked):
    api = api_for(buyer)

    @HYPOTHESIS
    @given(kind=JSON_VALUES, target=JSON_VALUES)
    def run(kind, target):
        assert_clear_answer(api.post("/api/v1/favorites", {"kind": kind, "id": target}, format="json"))

    run()
    assert all(f.product_id == stocked.pk or f.product_id is None for f in Favorite.objects.all())


# --- shops and listings -------------------------------------------------------------------------
SHOP_FIELDS = {
    "name": TEXT,
    "description": TEXT,
    "location": TEXT,
    "shipping_base": NUMBERS,
    "shipping_additional": NUMBERS,
    "free_shipping_threshold": NUMBERS,
    "processing_days": NUMBERS,
    "policy_text": TEXT,
}


def test_open_shop_html_and_api_with_hostile_fields():
    @HYPOTHESIS
    @given(fields=st.fixed_dictionaries(SHOP_FIELDS))
    def run(fields):
        user = UserFactory()
        from django.test import Client

        web = Client()
        web.force_login(user)
        html = web.post("/sell/open/", {k: form_value(v) for k, v in fields.items()})
        assert_clear_answer(html)
        other = UserFactory()
        api = api_for(other).post("/api/v1/shops", fields, format="json")
        assert_clear_answer(api)
        for shop in Shop.objects.filter(owner__in=[user, other]):
            assert shop.name.strip() and shop.shipping_base >= 0 and shop.shipping_additional >= 0
            assert len(shop.name) <= 100

    run()


def test_seller_listing_create_and_update_with_hostile_fields(seller, shop, category):
    api = api_for(seller)
    listing = ProductFactory(shop=shop, category=category, price=Decimal("12.00"), quantity=3, title="Steady")

    @HYPOTHESIS
    @given(
        title=TEXT,
        price=NUMBERS,
        quantity=NUMBERS,
        tags=st.one_of(st.lists(TEXT, max_size=4), JSON_VALUES),
        description=TEXT,
    )
    def run(title, price, quantity, tags, description):
        before = Product.objects.count()
        body = {
            "title": title,
            "price": price,
            "quantity": quantity,
            "category": category.slug,
            "tags": tags,
            "description": description,
        }
        created = api.post("/api/v1/seller/products", body, format="json")
        assert_clear_answer(created)
        if created.status_code >= 400:
            assert Product.objects.count() == before
        updated = api.patch(
            f"/api/v1/seller/products/{listing.pk}", {"price": price, "quantity": quantity}, format="json"
        )
        assert_clear_answer(updated)
        listing.refresh_from_db()
        if updated.status_code >= 400:
            assert (listing.price, listing.quantity) == (Decimal("12.00"), 3)
        for row in Product.objects.filter(shop=shop):
            assert row.price >= 0 and row.quantity >= 0 and row.price.is_finite()  # the model allows free listings
        if updated.status_code < 400:  # put it back for the next example
            Product.objects.filter(pk=listing.pk).update(price=Decimal("12.00"), quantity=3)

    run()


# --- sign-up and search -------------------------------------------------------------------------
def test_signup_html_and_api_with_hostile_fields(client, settings):
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {
            **settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"],
            "auth": "100000/min",
            "anon": "100000/min",
        },
    }

    @HYPOTHESIS
    @given(email=TEXT, password=TEXT, name=TEXT)
    def run(email, password, name):
        before = User.objects.count()
        html = client.post("/accounts/signup/", {"email": email, "password": password, "display_name": name})
        assert_clear_answer(html)
        client.logout()
        api = APIClient().post(
            "/api/v1/auth/register", {"email": email, "password": password, "display_name": name}, format="json"
        )
        assert_clear_answer(api, allowed=(202,))  # accepted: a link is emailed (accounts.services.sign_up)
        assert User.objects.count() - before <= 1  # the same email never makes two accounts
        for user in User.objects.all():
            assert "@" in user.email and len(user.display_name) <= 80

    run()


def test_search_with_unicode_huge_and_non_numeric_parameters(client, stocked):
    @HYPOTHESIS
    @given(q=TEXT, price_min=NUMBERS, price_max=NUMBERS, page=NUMBERS, sort=TEXT, category=TEXT)
    def run(q, price_min, price_max, page, sort, category):
        params = {
            "q": q,
            "price_min": form_value(price_min),
            "price_max": form_value(price_max),
            "page": form_value(page),
            "sort": sort,
            "category": category,
        }
        params = {k: v.replace("\x00", "") for k, v in params.items()}
        assert_clear_answer(client.get("/search/", params))
        assert_clear_answer(client.get("/api/v1/search", params))
        assert_clear_answer(client.get("/api/v1/products", params))

    run()
    big = client.get("/api/v1/search", {"q": "wallet " * 1500})  # ~10 kB
    assert big.status_code in (200, 400)
    assert client.get("/search/", {"q": "ü" * 10_240}).status_code in (200, 400)


# --- malformed bodies ---------------------------------------------------------------------------
JSON_WRITES = [
    ("post", "/api/v1/cart/items"),
    ("patch", "/api/v1/cart/items/{product}"),
    ("post", "/api/v1/checkout"),
    ("post", "/api/v1/favorites"),
    ("post", "/api/v1/shops"),
    ("post", "/api/v1/seller/products"),
    ("patch", "/api/v1/seller/products/{product}"),
    ("post", "/api/v1/auth/register"),
    ("post", "/api/v1/auth/token"),
    ("post", "/api/v1/orders/{order}/review"),
    ("patch", "/api/v1/me"),
]
MALFORMED = [
    b"{",
    b"[1,2",
    b'{"quantity": }',
    b"\xff\xfe\x00",
    b"null",
    b"[]",
    b'"text"',
    b"1e999",
    b'{"a":' * 5000,
    b'{"quantity": NaN}',
]


@pytest.mark.parametrize("method,path", JSON_WRITES)
def test_malformed_json_is_a_400_in_the_error_format(seller, shop, category, method, path, settings):
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {
            **settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"],
            "auth": "100000/min",
            "anon": "100000/min",
        },
    }
    product = ProductFactory(shop=shop, category=category)
    order = OrderFactory(buyer=seller, shop=shop, status=Order.Status.DELIVERED)
    api = api_for(seller)
    url = path.format(product=product.pk, order=order.pk)
    for body in MALFORMED:
        response = getattr(api, method)(url, body, content_type="application/json", HTTP_IDEMPOTENCY_KEY="m-1")
        assert 400 <= response.status_code < 500, (url, body[:20], response.status_code, response.content[:200])
        assert "error" in response.json()
    wrong_type = getattr(api, method)(url, "quantity=1", content_type="application/x-www-form-urlencoded")
    assert wrong_type.status_code in (400, 415)


def test_oversized_bodies_are_refused_not_crashed(client, buyer, seller, shop, stocked):
    huge = b'{"quantity": 1, "pad": "' + b"x" * (11 * 1024 * 1024) + b'"}'
    response = api_for(buyer).post("/api/v1/cart/items", huge, content_type="application/json")
    assert 400 <= response.status_code < 500
    client.force_login(buyer)
    form = client.post(f"/cart/add/{stocked.pk}/", {"quantity": "1", "pad": "x" * (11 * 1024 * 1024)})
    assert 400 <= form.status_code < 500
    from django.core.files.uploadedfile import SimpleUploadedFile

    big_file = SimpleUploadedFile("big.png", b"\x89PNG\r\n\x1a\n" + b"\0" * (11 * 1024 * 1024), "image/png")
    upload = api_for(seller).post(
        f"/api/v1/seller/products/{stocked.pk}/images", {"image": big_file}, format="multipart"
    )
    assert 400 <= upload.status_code < 500
    assert stocked.images.count() == 0


# --- the seller admin ---------------------------------------------------------------------------
def test_seller_admin_listing_and_shop_forms_with_hostile_fields(category):
    from django.test import Client

    owner = UserFactory()
    from shops.services import open_shop

    shop = open_shop(owner=owner, name="Admin fuzz shop")
    client = Client()
    client.force_login(owner)
    listing = ProductFactory(shop=shop, category=category, price=Decimal("12.00"), quantity=3, title="Steady")

    @HYPOTHESIS
    @given(title=TEXT, price=NUMBERS, quantity=NUMBERS, tags=TEXT, shipping=NUMBERS, days=NUMBERS)
    def run(title, price, quantity, tags, shipping, days):
        before = Product.objects.count()
        form = {
            "shop": str(shop.pk),
            "title": form_value(title),
            "description": "d",
            "price": form_value(price),
            "quantity": form_value(quantity),
            "category": str(category.pk),
            "tags": form_value(tags),
            "is_active": "on",
            "images-TOTAL_FORMS": "0",
            "images-INITIAL_FORMS": "0",
            "_save": "Save",
        }
        added = client.post("/admin/catalog/product/add/", {k: v.replace("\x00", "") for k, v in form.items()})
        assert_clear_answer(added)
        if added.status_code == 200:  # the form came back with errors: nothing saved
            assert Product.objects.count() == before
        changed = client.post(
            f"/admin/catalog/product/{listing.pk}/change/",
            {**form, "title": "Steady"} | {k: v.replace("\x00", "") for k, v in {"price": form_value(price)}.items()},
        )
        assert_clear_answer(changed)
        shop_form = client.post(
            f"/admin/shops/shop/{shop.pk}/change/",
            {
                "name": "Admin fuzz shop",
                "description": form_value(title).replace("\x00", ""),
                "shipping_base": form_value(shipping),
                "shipping_additional": "1.00",
                "processing_days": form_value(days),
                "_save": "Save",
            },
        )
        assert_clear_answer(shop_form)
        for row in Product.objects.filter(shop=shop):
            assert row.price >= 0 and row.price.is_finite() and row.quantity >= 0
        shop.refresh_from_db()
        assert shop.shipping_base >= 0 and shop.processing_days >= 0

    run()


@pytest.mark.parametrize("token", ["NaN", "Infinity", "-Infinity", "1e999"])
@pytest.mark.parametrize("path", ["/api/v1/cart/items", "/api/v1/checkout"])
def test_json_number_tokens_outside_json_get_a_clear_400(buyer, stocked, token, path):
    body = f'{{"product_id": {token}, "quantity": {token}, "address": {{"name": {token}}}, "payment": {token}}}'
    response = api_for(buyer).generic(
        "POST", path, body, content_type="application/json", HTTP_IDEMPOTENCY_KEY=f"nan-{token}"
    )
    assert response.status_code == 400, response.content
    assert response.json()["error"]["code"]
