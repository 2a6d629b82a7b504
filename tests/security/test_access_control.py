"""Every object URL (HTML, API, admin) tried as anonymous, another buyer and another seller: denied,
rows unchanged. The URL list comes from the resolver: a new URL with an object id fails
``test_every_object_url_is_covered_by_a_rule`` until a rule (or a public reason) is added here.
Public reads without an id that are cached for everybody (search suggestions) are checked to
answer every visitor alike."""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal

import pytest
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from accounts.models import Address, UndeliverableAddress, User
from accounts.services.addresses import create_address
from cart.models import CartItem
from cases.models import Case, CaseEvent
from cases.services import open_case
from catalog.models import Favorite, Offering, Product, Variation
from etsy.outbox.models import OutboxMessage
from messaging.models import Block, Conversation, Message, Report
from messaging.services import report_message, send_message, set_blocked, start_conversation
from orders.models import Checkout, Order, Review
from payments.models import LedgerEntry
from shops.models import DigestLog, Shop
from shops.services import open_shop
from tests.accounts.factories import UserFactory
from tests.catalog.factories import CategoryFactory, ProductFactory
from tests.orders.factories import OrderFactory, OrderItemFactory

pytestmark = pytest.mark.django_db


def walk(resolver=None, prefix=""):
    for pattern in (resolver or get_resolver()).url_patterns:
        if isinstance(pattern, URLResolver):
            yield from walk(pattern, prefix + str(pattern.pattern))
        elif isinstance(pattern, URLPattern):
            yield prefix + str(pattern.pattern)


def object_routes() -> list[str]:
    return [route for route in walk() if "<" in route or "(?P" in route]


# Routes with a parameter that are public by design (catalog pages, media, token-checked reset, admin index).
PUBLIC = {
    "api/v1/products/<int:product_id>": "published listing",
    "api/v1/shops/<int:shop_id>": "public shop page",
    "api/v1/shops/<int:shop_id>/products": "public shop listings",
    "api/v1/shops/<int:shop_id>/reviews": "public reviews",
    "shops/<slug:slug>/": "public shop page",
    "c/<slug:slug>/": "public category",
    "listing/<int:pk>/": "public listing (redirect)",
    "listing/<int:pk>/<slug:slug>/": "public listing",
    "listing/choice/<int:pk>/": "public listing's price-and-stock line of one combination (listed listings only)",
    "media/<path:path>": "public uploaded pictures",
    "^media/(?P<path>.*)$": "DEBUG media",
    "accounts/reset/<uidb64>/<token>/": "guarded by the signed token itself",
    "accounts/signup/confirm/<uidb64>/<token>/": "guarded by the signed token itself",
    "account/email/confirm/<str:token>/": "guarded by the signed token itself",
    "admin/^(?P<app_label>auth|authtoken|outbox|accounts|shops|catalog|cart|orders|messaging|payments|cases)/$": (
        "admin index (staff check)"
    ),
    "admin/(?P<url>.*)$": "admin catch-all (staff check)",
    "admin/r/<path:content_type_id>/<path:object_id>/": "redirect to the public page",
}


@dataclass
class World:
    owner: User  # the buyer whose objects are attacked
    seller: User  # the seller whose shop sold to them
    shop: Shop
    product: Product
    order: Order
    review: Review
    cart_item: CartItem
    favorite: Favorite
    other_buyer: User
    other_seller: User
    category: object
    digest: DigestLog
    outbox_row: OutboxMessage
    undeliverable: UndeliverableAddress
    conversation: Conversation  # the owner's thread with the shop
    seller_message: Message
    report: Report
    block: Block
    address: Address  # in the owner's address book
    case: Case  # the owner's case about the order


@pytest.fixture
def world() -> World:
    category = CategoryFactory(slug="ac-cat")
    seller = UserFactory()
    shop = open_shop(owner=seller, name="Victim shop")
    product = ProductFactory(shop=shop, category=category, price=Decimal("10.00"), quantity=5)
    owner = UserFactory()
    order = OrderFactory(buyer=owner, shop=shop, status=Order.Status.DELIVERED)
    OrderItemFactory(order=order, product=product)
    review = Review.objects.create(order=order, shop=shop, reviewer=owner, rating=5, comment="lovely")
    other_seller = UserFactory()
    other_shop = open_shop(owner=other_seller, name="Rival shop")
    ProductFactory(shop=other_shop, category=category)
    conversation = start_conversation(buyer=owner, shop_id=shop.pk, body="Is it food safe?", product_id=product.pk)
    seller_message = send_message(user=seller, conversation_id=conversation.pk, body="Yes, it is.")
    report = report_message(user=owner, message_id=seller_message.pk, reason="test")
    set_blocked(user=owner, conversation_id=conversation.pk, blocked=True)
    return World(
        owner=owner,
        seller=seller,
        shop=shop,
        product=product,
        order=order,
        review=review,
        cart_item=CartItem.objects.create(user=owner, product=product, offering=product.offerings.get(), quantity=2),
        favorite=Favorite.objects.create(user=owner, kind=Favorite.Kind.PRODUCT, product=product),
        other_buyer=UserFactory(),
        other_seller=other_seller,
        category=category,
        digest=DigestLog.objects.create(shop=shop, day="2026-01-01"),
        outbox_row=OutboxMessage.objects.create(topic="order.placed", payload={"order_id": order.pk}),
        undeliverable=UndeliverableAddress.objects.create(email=owner.email, reason="bounced", provider="postmark"),
        conversation=conversation,
        seller_message=seller_message,
        report=report,
        block=Block.objects.get(shop=shop, buyer=owner),
        address=create_address(owner=owner, name="Owner", line1="1 Main St", city="Hudson", postal_code="12534"),
        case=open_case(buyer=owner, order_id=order.pk, kind="not_as_described", description="Chipped rim."),
    )


def snapshot(w: World):
    return (
        list(Order.objects.filter(pk=w.order.pk).values()),
        list(Review.objects.filter(pk=w.review.pk).values()),
        list(
            Product.objects.filter(pk=w.product.pk).values(  # counters others legitimately move excluded
                "title", "price", "quantity", "is_active", "shop_id", "description"
            )
        ),
        list(Shop.objects.filter(pk=w.shop.pk).values()),
        list(CartItem.objects.filter(user=w.owner).values()),
        list(Favorite.objects.filter(user=w.owner).values()),
        list(User.objects.filter(pk=w.owner.pk).values()),
        list(Checkout.objects.filter(pk=w.order.checkout_id).values()),
        list(OutboxMessage.objects.filter(pk=w.outbox_row.pk).values()),
        list(UndeliverableAddress.objects.filter(pk=w.undeliverable.pk).values()),
        Product.objects.filter(shop=w.shop).count(),
        list(Conversation.objects.filter(pk=w.conversation.pk).values()),
        list(Message.objects.filter(conversation=w.conversation).values()),
        list(Report.objects.values()),
        list(Block.objects.values()),
        list(LedgerEntry.objects.filter(order=w.order).values()),
        list(Address.objects.filter(owner=w.owner).values()),
        list(Case.objects.values()),
        list(CaseEvent.objects.values()),
        list(Offering.objects.filter(product=w.product).values()),
        list(Variation.objects.filter(product=w.product).values()),
    )


def api_client(user):
    client = APIClient()
    if user is not None:
        client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.get_or_create(user=user)[0].key}")
    return client


def web_client(user):
    client = Client()
    if user is not None:
        client.force_login(user)
    return client


# route -> (kind, [(method, data)], builder(world) -> url)
API_RULES = {
    "api/v1/orders/<int:order_id>": [("get", None)],
    "api/v1/orders/<int:order_id>/review": [
        ("get", None),
        ("post", {"rating": 1, "comment": "hijack"}),
        ("put", {"rating": 1, "comment": "hijack"}),
    ],
    "api/v1/orders/<int:order_id>/received": [("post", {})],
    "api/v1/orders/<int:order_id>/cancellation": [("post", {"reason": "hijack"})],
    "api/v1/seller/orders/<int:order_id>/cancellation": [("post", {"decision": "accept"})],
    "api/v1/seller/orders/<int:order_id>": [("get", None)],
    "api/v1/seller/orders/<int:order_id>/ship": [("post", {"tracking_number": "1Z999"})],
    "api/v1/seller/orders/<int:order_id>/cancel": [("post", {})],
    "api/v1/seller/orders/<int:order_id>/refund": [("post", {})],
    "api/v1/seller/reviews/<int:review_id>/reply": [("post", {"reply": "hijack"})],
    "api/v1/seller/products/<int:product_id>": [("get", None), ("patch", {"price": "0.50"}), ("delete", None)],
    "api/v1/seller/products/<int:product_id>/images": [("post", {})],
    "api/v1/cart/items/<int:line_id>": [("patch", {"quantity": 1}), ("delete", None)],
    "api/v1/seller/products/<int:product_id>/offerings": [
        ("get", None),
        ("put", {"variations": [], "offerings": [{"options": [], "price": "0.50", "quantity": 0}]}),
    ],
    "api/v1/seller/products/<int:product_id>/offerings/<int:offering_id>": [("patch", {"quantity": 0})],
    "api/v1/seller/products/<int:product_id>/personalization": [("put", {"personalization": "optional"})],
    "api/v1/favorites/products/<int:target_id>": [("delete", None)],
    "api/v1/favorites/shops/<int:target_id>": [("delete", None)],
    "api/v1/conversations/<int:conversation_id>": [("get", None)],
    "api/v1/conversations/<int:conversation_id>/messages": [("post", {"body": "hijack"})],
    "api/v1/conversations/<int:conversation_id>/read": [("post", {})],
    "api/v1/me/addresses/<int:address_id>": [("get", None), ("patch", {"name": "hijack"}), ("delete", None)],
    "api/v1/orders/<int:order_id>/case": [("get", None), ("post", {"kind": "not_as_described", "description": "x"})],
    "api/v1/cases/<int:case_id>": [("get", None)],
    "api/v1/cases/<int:case_id>/messages": [("post", {"body": "hijack"})],
    "api/v1/cases/<int:case_id>/escalate": [("post", {})],
    "api/v1/cases/<int:case_id>/close": [("post", {})],
    "api/v1/seller/cases/<int:case_id>": [("get", None)],
    "api/v1/seller/cases/<int:case_id>/messages": [("post", {"body": "hijack"})],
    "api/v1/seller/cases/<int:case_id>/refund": [("post", {})],
}
HTML_RULES = {
    "orders/checkout/<uuid:checkout_id>/authenticate/": [("get", None), ("post", {})],
    "admin/payments/ledgerentry/refund/<int:order_id>/": [("post", {"amount": "1.00"})],
    "orders/<int:pk>/": [("get", None)],
    "orders/<int:pk>/review/": [("post", {"rating": "1", "comment": "hijack"})],
    "orders/<int:pk>/received/": [("post", {})],
    "orders/<int:pk>/cancellation/": [("post", {"reason": "hijack"})],
    "orders/checkout/<uuid:checkout_id>/": [("get", None)],
    "cart/add/<int:pk>/": [("post", {"quantity": "1"})],
    "cart/update/<int:pk>/": [("post", {"quantity": "1"})],
    "cart/remove/<int:pk>/": [("post", {})],
    "favorites/listing/<int:pk>/": [("post", {})],
    "favorites/shop/<int:pk>/": [("post", {})],
    "messages/<int:pk>/": [("get", None), ("post", {"body": "hijack"})],
    "messages/<int:pk>/block/": [("post", {"blocked": "0"})],
    "messages/<int:pk>/report/<int:message_id>/": [("post", {"reason": "hijack"})],
    "account/addresses/<int:pk>/edit/": [("get", None), ("post", {"name": "hijack"})],
    "account/addresses/<int:pk>/delete/": [("get", None), ("post", {})],
    "account/addresses/<int:pk>/default/": [("post", {})],
    "cases/orders/<int:order_id>/open/": [("get", None), ("post", {"kind": "not_as_described", "description": "x"})],
    "cases/<int:case_id>/message/": [("post", {"body": "hijack"})],
    "cases/<int:case_id>/escalate/": [("post", {})],
    "cases/<int:case_id>/close/": [("post", {})],
}
ADMIN_ACTIONS = {
    "change": ("post", {}),
    "delete": ("post", {"post": "yes"}),
    "history": ("get", None),
    "": ("get", None),
    "ship": ("post", {"tracking_number": "1Z999"}),
    "cancel": ("post", {}),
    "cancellation": ("post", {"decision": "accept"}),
    "offerings": ("post", {"save_variations": "1", "name_0": "Size", "options_0": "S"}),
    "packing-slip": ("get", None),
}


def fill(route: str, w: World) -> str:
    ids = {
        "order_id": w.order.pk,
        "review_id": w.review.pk,
        "product_id": w.product.pk,
        "checkout_id": w.order.checkout_id,
        "conversation_id": w.conversation.pk,
        "message_id": w.seller_message.pk,
        "address_id": w.address.pk,
        "case_id": w.case.pk,
        "line_id": w.cart_item.pk,
        "offering_id": Offering.objects.get(product=w.product).pk,
    }
    if route.startswith(("orders/<int:pk>",)):
        ids["pk"] = w.order.pk
    elif route.startswith("messages/"):
        ids["pk"] = w.conversation.pk
    elif route.startswith("favorites/shop/"):
        ids["pk"] = w.shop.pk
    elif route.startswith("account/addresses/"):
        ids["pk"] = w.address.pk
    elif route.startswith(("cart/update/", "cart/remove/")):  # a cart line's id
        ids["pk"] = w.cart_item.pk
    else:
        ids["pk"] = w.product.pk
    ids["target_id"] = w.shop.pk if "favorites/shops" in route else w.product.pk

    def replace(match):
        return str(ids[match.group(1)])

    return "/" + re.sub(r"<(?:\w+:)?(\w+)>", replace, route)


def admin_objects(w: World) -> dict[str, object]:
    from django.contrib.auth.models import Group

    return {
        "auth/group": Group.objects.get(name="Sellers"),
        "authtoken/tokenproxy": Token.objects.get_or_create(user=w.owner)[0],
        "accounts/user": w.owner,
        "shops/shop": w.shop,
        "shops/digestlog": w.digest,
        "catalog/category": w.category,
        "catalog/product": w.product,
        "catalog/favorite": w.favorite,
        "cart/cartitem": w.cart_item,
        "orders/order": w.order,
        "orders/review": w.review,
        "orders/checkout": w.order.checkout,
        "outbox/outboxmessage": w.outbox_row,
        "accounts/undeliverableaddress": w.undeliverable,
        "messaging/conversation": w.conversation,
        "messaging/report": w.report,
        "messaging/block": w.block,
        "cases/case": w.case,
        "cases/escalatedcase": w.case,
        "payments/ledgerentry": LedgerEntry.objects.get_or_create(
            key=f"access-control:sale:{w.order.pk}",
            defaults={"shop": w.shop, "order": w.order, "kind": "sale", "amount": w.order.total},
        )[0],
    }


ADMIN_ROUTE = re.compile(r"^admin/(\w+)/(\w+)/(?:<path:object_id>|<id>)/(?:([\w-]+)/)?$")


def test_every_object_url_is_covered_by_a_rule(world):
    missing = []
    objects = admin_objects(world)
    for route in object_routes():
        if route in PUBLIC or route in API_RULES or route in HTML_RULES:
            continue
        match = ADMIN_ROUTE.match(route)
        if (
            match
            and f"{match.group(1)}/{match.group(2)}" in objects
            and (match.group(3) or "") in (*ADMIN_ACTIONS, "password")
        ):
            continue
        missing.append(route)
    assert not missing, f"object URLs without an access rule: {missing}"


@pytest.mark.parametrize("attacker", ["anonymous", "other_buyer", "other_seller"])
def test_api_object_urls_deny_strangers_and_change_nothing(world, attacker):
    user = None if attacker == "anonymous" else getattr(world, attacker)
    client = api_client(user)
    before = snapshot(world)
    for route, calls in API_RULES.items():
        url = fill(route, world)
        for method, data in calls:
            response = (
                getattr(client, method)(url, data, format="json") if data is not None else getattr(client, method)(url)
            )
            if route.startswith(("api/v1/cart/", "api/v1/favorites/")) and user is not None:
                # these act on the caller's own cart and favorites only
                assert response.status_code in (200, 204, 400, 404, 409), (url, method, response.status_code)
            else:
                expected = (401,) if user is None else (403, 404)
                assert response.status_code in expected, (attacker, method, url, response.status_code)
            assert snapshot(world) == before, (attacker, method, url)


@pytest.mark.parametrize("attacker", ["anonymous", "other_buyer", "other_seller"])
def test_html_object_urls_deny_strangers_and_change_nothing(world, attacker):
    user = None if attacker == "anonymous" else getattr(world, attacker)
    client = web_client(user)
    before = snapshot(world)
    for route, calls in HTML_RULES.items():
        url = fill(route, world)
        for method, data in calls:
            response = getattr(client, method)(url, data or {})
            if route.startswith(("orders/", "messages/", "cases/")):
                if user is None:
                    assert response.status_code == 302 and "/accounts/login/" in response["Location"], url
                else:
                    assert response.status_code == 404, (attacker, url, response.status_code)
            else:  # cart and favorites act on the caller's own rows (or ask to sign in)
                assert response.status_code in (200, 302, 303, 400, 404), (attacker, url, response.status_code)
            assert snapshot(world) == before, (attacker, method, url)


@pytest.mark.parametrize("attacker", ["anonymous", "other_buyer", "other_seller"])
def test_admin_object_urls_deny_strangers_and_change_nothing(world, attacker):
    user = None if attacker == "anonymous" else getattr(world, attacker)
    client = web_client(user)
    objects = admin_objects(world)
    before = snapshot(world)
    tried = 0
    for route in object_routes():
        match = ADMIN_ROUTE.match(route)
        if not match:
            continue
        obj = objects[f"{match.group(1)}/{match.group(2)}"]
        if obj is None:
            continue
        action = match.group(3) or ""
        method, data = ADMIN_ACTIONS.get(action, ("get", None))
        url = "/" + re.sub(r"<(?:path:)?(?:object_id|id)>", str(obj.pk), route)
        response = getattr(client, method)(url, data or {})
        tried += 1
        if user is None or not user.is_staff:
            assert response.status_code == 302 and "/admin/login/" in response["Location"], (attacker, url)
        elif method == "get" and match.group(2) == "category":  # shared, public and view-only for sellers
            assert response.status_code in (200, 302), (attacker, url, response.status_code)
        else:  # a seller: another shop's rows and non-seller models are out of reach
            assert response.status_code in (302, 403, 404), (attacker, url, response.status_code)
            if response.status_code == 302:
                location = response["Location"]
                assert (
                    "/admin/login/" in location
                    or location.rstrip("/").endswith("/admin")
                    or (action == "" and location == url + "change/")
                ), (attacker, url, location)
        assert snapshot(world) == before, (attacker, method, url)
    assert tried >= 40


# Public reads without an object id, cached by their parameters alone: nobody's answer may differ.
SHARED_READS = {
    "search/suggest": ("web", "/search/suggest?q=cat"),
    "api/v1/search/suggestions": ("api", "/api/v1/search/suggestions?q=cat"),
}


def test_shared_reads_are_routed_and_answer_everybody_alike(world):
    routes = set(walk())
    assert set(SHARED_READS) <= routes
    for route, (kind, url) in SHARED_READS.items():
        make = web_client if kind == "web" else api_client
        bodies = set()
        for user in (None, world.owner, world.other_buyer, world.other_seller):
            response = make(user).get(url)
            assert response.status_code == 200, (route, user, response.status_code)
            bodies.add(response.content)
        assert len(bodies) == 1, route
        assert world.category.name.encode() in bodies.pop(), route  # a real answer, not an empty one
