"""Custom order requests: a structured first message, a listing reserved for the buyer, bought by them only."""

from decimal import Decimal

import pytest

from cart import services as cart_services
from cart.models import CartItem
from catalog.exceptions import ProductNotFound
from messaging import services
from messaging.exceptions import ConversationNotFound, InvalidMessage
from messaging.models import Conversation, Message
from orders import payments
from orders.services.checkout import ShippingAddress, place_order
from tests.catalog.factories import ProductFactory

pytestmark = pytest.mark.django_db

ADDRESS = ShippingAddress(name="Bea Buyer", line1="1 Clay Lane", city="Portland", postcode="97201", country="US")


@pytest.fixture
def request_thread(buyer, shop, product):
    return services.request_custom_piece(
        buyer=buyer,
        shop_id=shop.pk,
        what="A teapot like this one, in green",
        budget="$80",
        by_when="before June",
        product_id=product.pk,
    )


@pytest.fixture
def offer(request_thread, seller):
    return services.offer_reserved_listing(
        seller=seller, conversation_id=request_thread.pk, title="Green teapot for Bea", price=Decimal("78.00")
    )


def test_a_custom_request_opens_a_thread_with_what_budget_and_by_when(request_thread):
    assert request_thread.kind == Conversation.Kind.CUSTOM_REQUEST
    assert request_thread.subject == "Custom request: A teapot like this one, in green"
    (message,) = request_thread.messages.all()
    assert message.kind == Message.Kind.CUSTOM_REQUEST
    assert message.details == {"what": "A teapot like this one, in green", "budget": "$80", "by_when": "before June"}


def test_a_custom_request_needs_a_what(buyer, shop):
    with pytest.raises(InvalidMessage) as caught:
        services.request_custom_piece(buyer=buyer, shop_id=shop.pk, what="  ", budget="$10")
    assert "what" in caught.value.extra["fields"]
    assert not Conversation.objects.exists()


def test_only_the_shop_owner_can_offer_a_reserved_listing(request_thread, buyer, other_buyer):
    for user in (buyer, other_buyer):
        with pytest.raises(ConversationNotFound):
            services.offer_reserved_listing(seller=user, conversation_id=request_thread.pk, title="x", price=Decimal(1))


def test_the_offer_is_a_unique_listing_reserved_for_the_buyer_shown_in_the_thread(offer, buyer, request_thread):
    product = offer.product
    assert product.reserved_for == buyer and product.quantity == 1 and product.shop == request_thread.shop
    request_thread.refresh_from_db()
    assert request_thread.is_unread_by_buyer


def test_only_the_buyer_it_is_reserved_for_can_put_it_in_a_cart(offer, buyer, other_buyer, client):
    with pytest.raises(ProductNotFound):
        cart_services.add_item(user=other_buyer, product_id=offer.product_id, quantity=1)
    session = client.session
    with pytest.raises(ProductNotFound):
        cart_services.add_guest_item(session=session, product_id=offer.product_id, quantity=1)
    line = cart_services.add_item(user=buyer, product_id=offer.product_id, quantity=1)
    assert line.product_id == offer.product_id
    assert not CartItem.objects.filter(user=other_buyer).exists()


def test_the_buyer_checks_out_the_reserved_listing(offer, buyer):
    cart_services.add_item(user=buyer, product_id=offer.product_id, quantity=1)
    result = place_order(buyer=buyer, address=ADDRESS, payment_method=payments.PM_SUCCEEDS, idempotency_key="custom-1")
    (order,) = result.orders
    assert [item.product_id for item in order.items.all()] == [offer.product_id]
    offer.product.refresh_from_db()
    assert offer.product.quantity == 0


def test_the_reserved_listing_page_is_not_public(offer, client, other_buyer):
    url = f"/listing/{offer.product_id}/{offer.product.slug}/"
    assert client.get(url).status_code == 404
    client.force_login(other_buyer)
    assert client.get(url).status_code == 404


def test_a_reserved_listing_offered_to_another_shops_listing_keeps_its_category(buyer, seller, shop):
    conversation = services.start_conversation(buyer=buyer, shop_id=shop.pk, body="Custom?")
    with pytest.raises(InvalidMessage):  # no listing asked about and no category chosen
        services.offer_reserved_listing(seller=seller, conversation_id=conversation.pk, title="x", price=Decimal(5))
    category = ProductFactory().category
    message = services.offer_reserved_listing(
        seller=seller, conversation_id=conversation.pk, title="Custom mug", price=Decimal(5), category=category
    )
    assert message.product.category == category


def test_the_cart_shows_the_reserved_listing_made_for_the_buyer(offer, buyer, client):
    cart_services.add_item(user=buyer, product_id=offer.product_id, quantity=1)
    client.force_login(buyer)
    page = client.get("/cart/").content.decode()
    assert offer.product.title in page and "Made for you" in page
    assert offer.product.get_absolute_url() not in page  # that page is not public; the thread is where it lives
