"""Issue 19 (what a careful buyer met), items 2, 8-13 and 16, through the HTML pages and the admin."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.core.cache import caches
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from cart import services as cart_services
from cart.models import CartItem
from catalog.models import Product
from orders import payments
from orders.carriers import tracking_link
from orders.models import Checkout, Order, Review
from orders.services.checkout import ShippingAddress, place_order
from orders.stats import get_shop_stats
from shops.models import Shop
from tests.admin.conftest import Seller
from tests.catalog.factories import ProductFactory, set_listing_stock
from tests.orders.conftest import terminate_app_connection
from tests.orders.factories import OrderFactory
from tests.shops.factories import ShopFactory
from tests.web.test_buying_pages import ADDRESS

pytestmark = pytest.mark.django_db


def _field(html: str, name: str) -> str:
    return html.split(f'name="{name}" value="')[1].split('"')[0]


def _checkout_form(client) -> dict:
    html = client.get("/orders/checkout/").content.decode()
    return {**ADDRESS, "token": _field(html, "token"), "cart_version": _field(html, "cart_version")}


# --- 2. The checkout charges what the page showed -------------------------------------------


def test_checkout_form_refuses_a_cart_changed_in_another_tab_and_shows_it(
    client, catalog, buyer, django_capture_on_commit_callbacks
):
    client.force_login(buyer)
    shown, added = catalog["products"][0], catalog["products"][20]
    with django_capture_on_commit_callbacks(execute=True):  # the cart is written through after commit
        client.post(f"/cart/add/{shown.pk}/")
    form = _checkout_form(client)  # the page showed one item
    with django_capture_on_commit_callbacks(execute=True):
        client.post(f"/cart/add/{added.pk}/", {"quantity": 3})  # another tab adds three more
    response = client.post("/orders/checkout/", form)
    html = response.content.decode()
    assert response.status_code == 409
    assert "Your cart changed after this page was shown" in html and added.title in html
    assert not Checkout.objects.exists() and not Order.objects.exists()
    assert CartItem.objects.filter(user=buyer).count() == 2  # nothing taken out, nothing charged
    retry = {**form, "token": _field(html, "token"), "cart_version": _field(html, "cart_version")}
    assert client.post("/orders/checkout/", retry).status_code == 303  # the updated page places the order
    assert Checkout.objects.get().total == shown.price + added.price * 3 + sum(o.shipping for o in Order.objects.all())


@pytest.mark.django_db(transaction=True)
def test_checkout_form_after_a_lost_connection_finishes_the_same_order_when_sent_again(client, buyer, monkeypatch):
    product = ProductFactory(shop=ShopFactory(), quantity=3)
    client.force_login(buyer)
    client.post(f"/cart/add/{product.pk}/")
    form = _checkout_form(client)
    real_confirm, kills = payments.confirm_payment, [2]  # the request and its own retry both lose the connection

    def charge(**kwargs):
        if kills[0]:
            kills[0] -= 1
            terminate_app_connection()
        return real_confirm(**kwargs)

    monkeypatch.setattr(payments, "confirm_payment", charge)
    first = client.post("/orders/checkout/", form)
    assert first.status_code == 503 and "never charges twice" in first.content.decode()
    again = client.post("/orders/checkout/", form)  # the same form, the same token
    assert again.status_code == 303
    checkout = Checkout.objects.get()
    assert checkout.payment_status == "paid" and again["Location"].endswith(f"/{checkout.pk}/")
    assert Product.objects.get(pk=product.pk).quantity == 2


# --- 8. A declined card keeps what the buyer typed ---------------------------------------


def test_declined_card_keeps_the_typed_address_and_says_nothing_was_charged_once(client, catalog, buyer):
    client.force_login(buyer)
    client.post(f"/cart/add/{catalog['products'][0].pk}/")
    typed = {
        **_checkout_form(client),
        "ship_name": "Robin Quill",
        "ship_line1": "42 Elm Road",
        "ship_line2": "Flat 3",
        "ship_city": "Kingston",
        "ship_postcode": "12401",
        "payment_method": "pm_card_chargeDeclined",
    }
    html = client.post("/orders/checkout/", typed, follow=True).content.decode()
    assert "Your card was declined" in html
    assert html.lower().count("nothing was charged") == 1 and "No money was taken" not in html
    for value in ("Robin Quill", "42 Elm Road", "Flat 3", "Kingston", "12401"):
        assert f'value="{value}"' in html
    assert "4000" not in html.split("<form")[1].split("</form>")[0].replace("4000 0000 0000 0002 is declined", "")


# --- 9. A sold-out line is not counted ---------------------------------------------------


def test_sold_out_line_is_not_counted_in_the_cart_total_or_the_place_order_button(client, buyer):
    shop = ShopFactory(shipping_base=Decimal("4.00"), shipping_additional=Decimal("1.00"))
    gone = ProductFactory(shop=shop, price=Decimal("500.00"), quantity=2)
    kept = ProductFactory(shop=shop, price=Decimal("24.95"), quantity=2)
    client.force_login(buyer)
    client.post(f"/cart/add/{gone.pk}/")
    client.post(f"/cart/add/{kept.pk}/")
    set_listing_stock(Product.objects.get(pk=gone.pk), quantity=0)  # sold elsewhere
    caches["strict"].delete_pattern("*")
    cart = client.get("/cart/").content.decode()
    assert "Sold out" in cart
    assert "$28.95" in cart and "$500.00 ×" not in cart and "$533" not in cart and "$529" not in cart
    checkout = client.get("/orders/checkout/").content.decode()
    assert "Place order · $28.95" in checkout


# --- 10. An ended hold is told, with an offer to add it again -------------------------------


def test_cart_page_says_which_hold_ended_and_offers_it_again_once(
    client, buyer, other_buyer, shop, django_capture_on_commit_callbacks
):
    free = ProductFactory(shop=shop, title="Walnut spoon", quantity=1)
    taken = ProductFactory(shop=shop, title="Brass candle snuffer", quantity=1)
    for product in (free, taken):
        cart_services.add_item(user=buyer, product_id=product.pk)
    CartItem.objects.filter(user=buyer).update(reserved_until=timezone.now() - timedelta(minutes=1))
    with django_capture_on_commit_callbacks(execute=True):
        assert cart_services.delete_expired_reservations() == 2
        cart_services.add_item(user=other_buyer, product_id=taken.pk)  # someone else holds this one now
    client.force_login(buyer)
    html = client.get("/cart/").content.decode()
    assert "hold on" in html and "Walnut spoon" in html and "Brass candle snuffer" in html
    assert f'action="/cart/add/{free.pk}/"' in html  # offered again
    assert f'action="/cart/add/{taken.pk}/"' not in html and "It is no longer available." in html
    assert "Walnut spoon" not in client.get("/cart/").content.decode()  # told once
    client.post(f"/cart/add/{free.pk}/")
    assert CartItem.objects.filter(user=buyer, product=free).exists()


# --- 11. A guest's one-of-a-kind item says "in your cart" ------------------------------------


def test_guest_second_add_of_a_unique_item_says_it_is_in_the_cart(client, shop):
    unique = ProductFactory(shop=shop, quantity=1)
    assert client.post(f"/cart/add/{unique.pk}/").status_code == 302
    response = client.post(f"/cart/add/{unique.pk}/", follow=True)
    html = response.content.decode()
    assert "already in your cart" in html and "not enough" not in html.lower()
    assert response.redirect_chain[-1][0] == "/cart/"
    htmx = client.post(f"/cart/add/{unique.pk}/", HTTP_HX_REQUEST="true").content.decode()
    assert "already in your cart" in htmx and "message-error" not in htmx


def test_product_page_tells_a_guest_their_unique_piece_is_in_their_cart_instead_of_add_to_cart(client, shop):
    unique, other = ProductFactory(shop=shop, quantity=1), ProductFactory(shop=shop, quantity=1)
    assert "Add to cart" in client.get(unique.get_absolute_url()).content.decode()
    client.post(f"/cart/add/{unique.pk}/")
    page = client.get(unique.get_absolute_url()).content.decode()
    assert "In your cart" in page and 'action="/cart/add/' not in page
    # Another visitor, and the guest's other listings, still offer the piece.
    assert "Add to cart" in client.get(other.get_absolute_url()).content.decode()
    assert "Add to cart" in Client().get(unique.get_absolute_url()).content.decode()


# --- 12. Sales counts agree and are current -------------------------------------------------


def test_shop_sales_count_is_current_and_equals_the_dashboards_units_sold(
    client, buyer, shop, django_capture_on_commit_callbacks
):
    product = ProductFactory(shop=shop, quantity=5)
    assert "0 items sold" in client.get(shop.get_absolute_url()).content.decode()  # cached now
    cart_services.add_item(user=buyer, product_id=product.pk, quantity=2)
    address = ShippingAddress(name="Bea", line1="1 Main St", city="Hudson", postcode="12534")
    with django_capture_on_commit_callbacks(execute=True):
        place_order(buyer=buyer, address=address, payment_method=payments.PM_SUCCEEDS, idempotency_key="k1")
    assert "2 items sold" in client.get(shop.get_absolute_url()).content.decode()
    assert Shop.objects.get(pk=shop.pk).sales_count == get_shop_stats(shop=shop).units_sold == 2


def test_a_checkout_waiting_for_its_payment_is_not_counted_as_sales(buyer, shop, monkeypatch):
    product = ProductFactory(shop=shop, quantity=5)
    cart_services.add_item(user=buyer, product_id=product.pk)
    address = ShippingAddress(name="Bea", line1="1 Main St", city="Hudson", postcode="12534")

    def provider_silent(**kwargs):
        raise payments.PaymentTimeout("no answer")

    monkeypatch.setattr(payments, "confirm_payment", provider_silent)
    result = place_order(buyer=buyer, address=address, payment_method=payments.PM_SUCCEEDS, idempotency_key="k2")
    assert result.payment_status == "unknown"
    assert Shop.objects.get(pk=shop.pk).sales_count == get_shop_stats(shop=shop).units_sold == 0


# --- 13. The admin offers only what the state allows ----------------------------------------


@pytest.mark.parametrize(
    ("status", "ship", "cancel"),
    [("paid", True, True), ("pending_payment", False, True), ("shipped", False, False), ("delivered", False, False)],
)
def test_order_admin_offers_only_the_actions_the_state_allows(category, status, ship, cancel):
    seller = Seller("state.seller@example.com", "State Shop", category)
    Order.objects.filter(pk=seller.order.pk).update(status=status)
    body = seller.client.get(reverse("admin:orders_order_change", args=[seller.order.pk])).content.decode()
    assert ("Mark shipped" in body) is ship
    assert ("Cancel and restock" in body) is cancel


@pytest.mark.parametrize(
    ("status", "offered"),
    [("paid", {"mark_shipped", "cancel_and_restock"}), ("pending_payment", {"cancel_and_restock"}), ("shipped", set())],
)
def test_order_list_filtered_by_status_offers_only_the_actions_it_allows(category, status, offered):
    seller = Seller("list.seller@example.com", "List Shop", category)
    response = seller.client.get(reverse("admin:orders_order_changelist"), {"status__exact": status})
    form = response.context["action_form"]  # None when no action is left at all
    choices = {name for name, _ in form.fields["action"].choices} if form is not None else set()
    assert choices & {"mark_shipped", "cancel_and_restock"} == offered


def test_order_admin_cancel_link_of_a_shipped_order_changes_nothing(category):
    seller = Seller("stale.seller@example.com", "Stale Shop", category)
    Order.objects.filter(pk=seller.order.pk).update(status="shipped")
    response = seller.client.get(reverse("admin:orders_order_cancel", args=[seller.order.pk]), follow=True)
    assert "A shipped order cannot be cancelled." in response.content.decode()
    assert Order.objects.get(pk=seller.order.pk).status == "shipped"


def test_admin_refusal_is_an_error_message_and_leaves_the_row_unchanged(category):
    seller = Seller("reply.seller@example.com", "Reply Shop", category)
    url = reverse("admin:orders_review_change", args=[seller.review.pk])
    response = seller.client.post(url, {"seller_reply": "x" * 2001, "_save": "Save"}, follow=True)
    assert response.status_code == 200
    assert "Not saved: A reply is at most 2000 characters." in response.content.decode()
    assert Review.objects.get(pk=seller.review.pk).seller_reply == ""


# --- 16. Wording and tracking links -------------------------------------------------------------


def test_cart_says_one_shop_in_the_singular_and_shops_in_the_plural(client, catalog):
    client.post(f"/cart/add/{catalog['products'][0].pk}/")
    html = client.get("/cart/").content.decode()
    assert "One shop ships your order." in html and "1 shop:" not in html
    client.post(f"/cart/add/{catalog['products'][1].pk}/")
    assert "2 shops: each ships its own order." in client.get("/cart/").content.decode()


@pytest.mark.parametrize(
    ("number", "carrier", "host"),
    [
        ("1Z999AA10123456784", "UPS", "www.ups.com"),
        ("9400 1000 0000 0000 0000 00", "USPS", "tools.usps.com"),
        ("EA123456789US", "USPS", "tools.usps.com"),
        ("123456789012", "FedEx", "www.fedex.com"),
        ("1234567890", "DHL", "www.dhl.com"),
        ("AB123456789GB", "Royal Mail", "www.royalmail.com"),
    ],
)
def test_tracking_numbers_of_known_carriers_become_links(number, carrier, host):
    link = tracking_link(number)
    assert link is not None and link.carrier == carrier and link.url.startswith(f"https://{host}/")


def test_order_page_links_a_known_tracking_number_and_shows_an_unknown_one_as_text(client, buyer, shop):
    ups = OrderFactory(buyer=buyer, shop=shop, status="shipped", tracking_number="1Z999AA10123456784")
    other = OrderFactory(buyer=buyer, shop=shop, status="shipped", tracking_number="LOCAL-COURIER-7")
    ups.shipped_at = other.shipped_at = timezone.now()
    Order.objects.filter(pk__in=[ups.pk, other.pk]).update(shipped_at=timezone.now())
    client.force_login(buyer)
    html = client.get(ups.get_absolute_url()).content.decode()
    assert 'href="https://www.ups.com/track?tracknum=1Z999AA10123456784"' in html
    plain = client.get(other.get_absolute_url()).content.decode()
    assert "<code>LOCAL-COURIER-7</code>" in plain and "track with" not in plain
