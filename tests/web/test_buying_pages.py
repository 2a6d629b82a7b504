import pytest
from django.core import mail
from django.utils import timezone

from cart.models import CartItem
from orders.models import Order, Review
from tests.cart.factories import CartItemFactory
from tests.catalog.factories import set_listing_stock
from tests.orders.factories import OrderFactory, OrderItemFactory

pytestmark = pytest.mark.django_db

ADDRESS = {
    "ship_name": "Bea Buyer",
    "ship_line1": "1 Market Street",
    "ship_line2": "",
    "ship_city": "Hudson",
    "ship_postcode": "12534",
    "ship_country": "US",
    "payment_method": "pm_card_visa",
}


def _token(client) -> str:
    html = client.get("/orders/checkout/").content.decode()
    return html.split('name="token" value="')[1].split('"')[0]


def test_guest_adds_items_and_sees_the_cart_grouped_by_shop(client, catalog):
    a, b = catalog["products"][0], catalog["products"][1]  # two shops
    assert client.post(f"/cart/add/{a.pk}/").status_code == 302
    client.post(f"/cart/add/{b.pk}/")
    html = client.get("/cart/").content.decode()
    assert html.count('class="cart-group"') == 2
    assert "Clay Studio" in html and "Paper Birds" in html
    assert "Shop total" in html and "$4.00" in html  # shipping per shop
    assert "data-cart-count>2<" in html


def test_add_to_cart_errors_reshow_the_page_with_the_reason_not_500s(client, catalog, other_buyer):
    product = catalog["products"][2]
    CartItemFactory(user=other_buyer, product=product, reserved_until=timezone.now() + timezone.timedelta(minutes=5))
    response = client.post(f"/cart/add/{product.pk}/")
    assert response.status_code == 400
    assert "Someone else is checking out this item" in response.content.decode()
    lots = client.post(f"/cart/add/{product.pk}/", {"quantity": "lots"})
    assert lots.status_code == 400 and "Choose a quantity of at least 1." in lots.content.decode()
    assert client.post("/cart/add/999999/").status_code == 404
    assert client.get(f"/cart/add/{product.pk}/").status_code == 405


def test_signed_in_cart_shows_a_countdown_on_held_unique_items(client, catalog, buyer):
    client.force_login(buyer)
    client.post(f"/cart/add/{catalog['products'][0].pk}/")
    html = client.get("/cart/").content.decode()
    assert "Held for you for" in html and "data-countdown" in html


def test_cart_update_and_remove(client, catalog, buyer):
    client.force_login(buyer)
    print_ = catalog["products"][25]  # quantity 3
    client.post(f"/cart/add/{print_.pk}/")
    line = CartItem.objects.get(user=buyer, product=print_).pk  # the page's buttons name the line
    client.post(f"/cart/update/{line}/", {"quantity": "2"})
    assert CartItem.objects.get(user=buyer, product=print_).quantity == 2
    client.post(f"/cart/update/{line}/", {"quantity": "9"}, follow=True)
    assert CartItem.objects.get(user=buyer, product=print_).quantity == 2  # refused: only 3 in stock
    client.post(f"/cart/remove/{line}/")
    assert not CartItem.objects.filter(user=buyer).exists()


def test_checkout_requires_login_and_a_cart(client, buyer):
    assert "/accounts/login/" in client.get("/orders/checkout/")["Location"]
    client.force_login(buyer)
    assert client.get("/orders/checkout/")["Location"] == "/cart/"


def test_checkout_places_one_order_per_shop_and_shows_the_confirmation(client, catalog, buyer):
    client.force_login(buyer)
    for p in catalog["products"][:3]:
        client.post(f"/cart/add/{p.pk}/")
    response = client.post("/orders/checkout/", {**ADDRESS, "token": _token(client)})
    assert response.status_code == 303
    confirmation = client.get(response["Location"]).content.decode()
    assert "you have 2 orders" in confirmation
    assert Order.objects.filter(buyer=buyer).count() == 2
    history = client.get("/orders/").content.decode()
    assert history.count('class="order-card"') == 2


def test_double_submit_of_the_checkout_form_places_one_order_set(client, catalog, buyer):
    client.force_login(buyer)
    client.post(f"/cart/add/{catalog['products'][0].pk}/")
    data = {**ADDRESS, "token": _token(client)}
    first = client.post("/orders/checkout/", data)
    second = client.post("/orders/checkout/", data)
    assert first.status_code == second.status_code == 303
    assert first["Location"] == second["Location"]
    assert second["Idempotent-Replayed"] == "true"
    assert Order.objects.filter(buyer=buyer).count() == 1


def test_checkout_takes_out_an_item_that_just_sold_and_offers_the_rest(client, catalog, buyer, other_buyer):
    from catalog.models import Product

    client.force_login(buyer)
    gone, kept = catalog["products"][0], catalog["products"][1]
    client.post(f"/cart/add/{gone.pk}/")
    client.post(f"/cart/add/{kept.pk}/")
    token = _token(client)
    set_listing_stock(Product.objects.get(pk=gone.pk), quantity=0)  # sold elsewhere a moment ago
    response = client.post("/orders/checkout/", {**ADDRESS, "token": token})
    html = response.content.decode()
    assert response.status_code == 409
    assert f"{gone.title}</strong> just sold" in html
    assert "Place order for the rest" in html
    assert list(CartItem.objects.filter(user=buyer).values_list("product_id", flat=True)) == [kept.pk]
    new_token = html.split('name="token" value="')[1].split('"')[0]
    assert new_token != token
    done = client.post("/orders/checkout/", {**ADDRESS, "token": new_token})
    assert done.status_code == 303
    assert Order.objects.filter(buyer=buyer).count() == 1


def test_declined_card_keeps_the_cart_and_says_so(client, catalog, buyer):
    client.force_login(buyer)
    client.post(f"/cart/add/{catalog['products'][0].pk}/")
    response = client.post(
        "/orders/checkout/",
        {**ADDRESS, "payment_method": "pm_card_chargeDeclined", "token": _token(client)},
        follow=True,
    )
    assert "Nothing was charged" in response.content.decode()
    assert CartItem.objects.filter(user=buyer).exists()


def test_checkout_form_errors_are_400_with_labels(client, catalog, buyer):
    client.force_login(buyer)
    client.post(f"/cart/add/{catalog['products'][0].pk}/")
    response = client.post(
        "/orders/checkout/", {**ADDRESS, "ship_city": "", "payment_method": "12", "token": _token(client)}
    )
    assert response.status_code == 400
    html = response.content.decode()
    assert 'for="id_ship_city"' in html and "This field is required." in html


def test_order_detail_shows_status_and_tracking_and_hides_other_buyers_orders(client, buyer, other_buyer, shop):
    order = OrderFactory(
        buyer=buyer, shop=shop, status=Order.Status.SHIPPED, tracking_number="1Z999", shipped_at=timezone.now()
    )
    OrderItemFactory(order=order)
    client.force_login(buyer)
    html = client.get(f"/orders/{order.pk}/").content.decode()
    assert "Shipped" in html and "1Z999" in html
    client.force_login(other_buyer)
    assert client.get(f"/orders/{order.pk}/").status_code == 404


def test_buyer_reviews_a_delivered_order_once(client, buyer, shop):
    order = OrderFactory(buyer=buyer, shop=shop, status=Order.Status.DELIVERED, delivered_at=timezone.now())
    OrderItemFactory(order=order)
    client.force_login(buyer)
    assert "Post review" in client.get(f"/orders/{order.pk}/").content.decode()
    response = client.post(f"/orders/{order.pk}/review/", {"rating": "5", "comment": "Lovely!"}, follow=True)
    assert "Thank you! Your review" in response.content.decode()
    # The same form again edits the one review (inside the review window), never a second one.
    again = client.post(f"/orders/{order.pk}/review/", {"rating": "4", "comment": "x"}, follow=True)
    assert "Your review is updated." in again.content.decode()
    assert Review.objects.filter(order=order).count() == 1 and Review.objects.get(order=order).rating == 4
    assert client.post(f"/orders/{order.pk}/review/", {"rating": "9"}).status_code == 400


def test_review_form_is_not_offered_before_delivery(client, buyer, shop):
    order = OrderFactory(buyer=buyer, shop=shop, status=Order.Status.PAID)
    client.force_login(buyer)
    html = client.get(f"/orders/{order.pk}/").content.decode()
    assert "once it's delivered" in html


def test_sign_up_confirmed_from_the_email_logs_in_and_keeps_the_guest_cart(
    client, catalog, mailoutbox, django_capture_on_commit_callbacks
):
    product = catalog["products"][0]
    client.post(f"/cart/add/{product.pk}/")
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            "/accounts/signup/",
            {"email": "New@Example.com", "display_name": "Nia", "password": "a-Long-enough-pass-42"},
        )
    assert response.status_code == 302
    link = next(word for word in mailoutbox[0].body.split() if "/accounts/signup/confirm/" in word)
    assert client.post("/" + link.split("://", 1)[1].split("/", 1)[1]).status_code == 302
    html = client.get("/cart/").content.decode()
    assert product.title in html and "Sign out" in html
    assert CartItem.objects.get(product=product).user.email == "new@example.com"


def test_sign_up_errors(client, buyer):
    taken = client.post("/accounts/signup/", {"email": buyer.email, "password": "a-Long-enough-pass-42"})
    assert taken.status_code == 302 and taken["Location"] == "/accounts/signup/sent/"  # the same as a new address
    weak = client.post("/accounts/signup/", {"email": "x@example.com", "password": "123"})
    assert weak.status_code == 400 and "too short" in weak.content.decode()


def test_log_in_and_out(client, buyer):
    response = client.post("/accounts/login/", {"username": buyer.email, "password": "correct-horse-battery"})
    assert response.status_code == 302
    assert "Sign out" in client.get("/").content.decode()
    client.post("/accounts/logout/")
    assert "Sign in" in client.get("/").content.decode()


def test_password_reset_sends_an_email_with_a_working_link(client, buyer, settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    client.post("/accounts/password-reset/", {"email": buyer.email})
    assert len(mail.outbox) == 1
    link = next(line for line in mail.outbox[0].body.splitlines() if "/accounts/reset/" in line).strip()
    path = link.split("testserver", 1)[1]
    form_page = client.get(path, follow=True)
    assert "Choose a new password" in form_page.content.decode()
    done = client.post(
        form_page.redirect_chain[-1][0], {"new_password1": "N3w-secret-pass!", "new_password2": "N3w-secret-pass!"}
    )
    assert done.status_code == 302
    assert client.login(username=buyer.email, password="N3w-secret-pass!")


def test_add_to_cart_with_htmx_returns_the_buy_box_and_the_new_badge(client, catalog, buyer, other_buyer):
    client.force_login(buyer)
    product = catalog["products"][0]
    response = client.post(f"/cart/add/{product.pk}/", HTTP_HX_REQUEST="true")
    html = response.content.decode()
    assert response.status_code == 200
    assert 'id="buy-box"' in html and "Added to your cart." in html
    assert "held for you for" in html  # a unique item is now held for this buyer
    assert 'id="cart-count" data-cart-count hx-swap-oob="true">1<' in html
    client.force_login(other_buyer)
    refused = client.post(f"/cart/add/{product.pk}/", HTTP_HX_REQUEST="true").content.decode()
    assert "Someone else is checking out this item" in refused and 'role="alert"' in refused
