"""Orders to their end in Chromium (issue 17): delivery three ways, reviews and their edits, a cancellation
request accepted with its refund shown; every new page and state audited with axe-core."""

import hashlib
import hmac
import json
import re
import urllib.request

import pytest

from orders.models import CancellationRequest, Order, Review
from shops.services import get_sellers_group
from tests.browser.test_accessibility import _sign_in, axe  # noqa: F401  (fixture)
from tests.payments.conftest import run_outbox
from tests.web.conftest import catalog  # noqa: F811, F401  (fixture)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
SECRET = "trk_journey_secret"


def _as_seller(user) -> None:
    user.is_staff = True
    user.save(update_fields=["is_staff"])
    user.groups.add(get_sellers_group())


def _buy(page, base, products) -> list[Order]:
    for product in products:
        page.goto(base + product.get_absolute_url())
        page.get_by_role("button", name="Add to cart").click()
        page.get_by_text("Added to your cart.").wait_for()
    page.goto(base + "/orders/checkout/")
    page.get_by_label("Street address").fill("1 Market Street")
    page.get_by_label("City").fill("Hudson")
    page.get_by_label("ZIP / postcode").fill("12534")
    page.get_by_role("button", name=re.compile("Place order")).click()
    page.wait_for_url(re.compile(r"/orders/checkout/[0-9a-f-]+/$"))
    run_outbox()
    return list(Order.objects.order_by("shop__name"))


def _ship_in_admin(page, base, order, tracking: str) -> None:
    _sign_in(page, base, order.shop.owner.email, admin=True)
    page.goto(base + f"/admin/orders/order/{order.pk}/change/")
    page.get_by_role("link", name="Mark shipped").click()
    page.get_by_label(re.compile("Tracking number")).fill(tracking)
    page.get_by_role("button", name="Mark shipped and email the buyer").click()
    page.get_by_text("marked shipped").wait_for()
    page.context.clear_cookies()


def _post_tracking(base: str, body: dict) -> dict:
    raw = json.dumps(body).encode()
    signature = "sha256=" + hmac.new(SECRET.encode(), raw, hashlib.sha256).hexdigest()
    request = urllib.request.Request(
        base + "/webhooks/tracking",
        data=raw,
        headers={"Content-Type": "application/json", "X-Tracking-Signature": signature},
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.loads(response.read())


def _review(page, rating: str, comment: str, button: str) -> None:
    page.get_by_label("Rating").select_option(rating)
    page.get_by_label("Your review (optional)").fill(comment)
    page.get_by_role("button", name=button).click()


def test_two_shops_shipped_delivered_two_ways_reviewed_and_one_review_edited(
    live_server,
    page,
    shot,
    axe,  # noqa: F811
    catalog,  # noqa: F811
    buyer,
    settings,
    mailoutbox,
):
    settings.TRACKING_WEBHOOK_SECRET = SECRET
    base = live_server.url
    for shop in (catalog["shop_a"], catalog["shop_b"]):
        _as_seller(shop.owner)
    _sign_in(page, base, buyer.email)
    clay, birds = _buy(page, base, [catalog["products"][1], catalog["products"][25]])
    assert {clay.shop.name, birds.shop.name} == {"Clay Studio", "Paper Birds"}
    page.goto(base + clay.get_absolute_url())
    assert page.get_by_test_id("estimated-delivery").is_visible()
    found = axe(page, base + clay.get_absolute_url())  # paid: the estimate and the cancellation form
    shot(page, "life_01_paid_order")

    page.context.clear_cookies()
    _ship_in_admin(page, base, clay, "1Z999AA10123456784")
    _ship_in_admin(page, base, birds, "9400111899223856921234")
    shipped_mail = [m for m in mailoutbox if "has shipped" in m.subject]
    assert len(shipped_mail) == 2 and all("Estimated delivery" in m.body for m in shipped_mail)

    _sign_in(page, base, buyer.email)
    page.goto(base + clay.get_absolute_url())
    found += axe(page, base + clay.get_absolute_url())  # shipped: the received button, the tracking link
    shot(page, "life_02_shipped_order")
    page.get_by_role("button", name="I received this order").click()
    page.get_by_text("Thanks for letting us know it arrived").wait_for()
    assert "Delivered" in page.get_by_test_id("order-status").inner_text()

    outcome = _post_tracking(
        base, {"carrier": "USPS", "tracking_number": "9400111899223856921234", "status": "in_transit"}
    )
    assert outcome["outcome"] == "recorded"
    outcome = _post_tracking(
        base, {"carrier": "USPS", "tracking_number": "9400111899223856921234", "status": "delivered"}
    )
    assert outcome["outcome"] == "delivered"
    run_outbox()
    delivered_mail = [m for m in mailoutbox if "was delivered" in m.subject]
    assert len(delivered_mail) == 2 and all("#review" in m.body for m in delivered_mail)

    for order, rating, comment in ((clay, "4", "Lovely glaze."), (birds, "3", "Nice print, bent corner.")):
        page.goto(base + order.get_absolute_url())
        _review(page, rating, comment, "Post review")
        page.get_by_text("Thank you! Your review is on the shop's page.").wait_for()
    found += axe(page, base + birds.get_absolute_url())  # reviewed: the edit form and the timeline
    shot(page, "life_03_reviewed_order")
    page.goto(base + birds.get_absolute_url())
    assert page.get_by_role("heading", name="Edit your review").is_visible()
    assert page.get_by_text("In transit").is_visible()
    _review(page, "5", "The shop sent a flat replacement. Perfect.", "Update review")
    page.get_by_text("Your review is updated.").wait_for()
    shot(page, "life_04_review_edited")

    assert {r.order_id: r.rating for r in Review.objects.all()} == {clay.pk: 4, birds.pk: 5}
    assert Review.objects.get(order=birds).edited_at is not None
    assert Order.objects.get(pk=birds.pk).delivered_via == "carrier"
    page.goto(base + catalog["shop_b"].get_absolute_url())
    assert page.get_by_text("The shop sent a flat replacement. Perfect.").is_visible()
    assert found == [], "\n".join(found)


def test_cancellation_requested_accepted_in_the_admin_and_the_refund_shown(
    live_server,
    page,
    shot,
    axe,  # noqa: F811
    catalog,  # noqa: F811
    buyer,
    mailoutbox,
):
    base = live_server.url
    _as_seller(catalog["shop_a"].owner)
    _sign_in(page, base, buyer.email)
    [order] = _buy(page, base, [catalog["products"][3]])
    page.goto(base + order.get_absolute_url())
    page.get_by_label("Why do you want to cancel?").fill("I ordered the wrong colour.")
    page.get_by_role("button", name="Ask to cancel").click()
    page.get_by_text("Your request is with the shop").wait_for()
    found = axe(page, base + order.get_absolute_url())  # the request pending
    shot(page, "life_05_cancellation_requested")

    page.context.clear_cookies()
    _sign_in(page, base, order.shop.owner.email, admin=True)
    page.goto(base + "/admin/orders/order/")
    found += axe(page, base + "/admin/orders/order/")
    page.get_by_role("link", name="Accept or decline").click()
    assert page.get_by_text("I ordered the wrong colour.").is_visible()
    found += axe(page, page.url)
    shot(page, "life_06_admin_decides")
    page.get_by_role("button", name="Accept and refund in full").click()
    page.get_by_text("cancelled and refunded in full").wait_for()
    run_outbox()

    page.context.clear_cookies()
    _sign_in(page, base, buyer.email)
    page.goto(base + order.get_absolute_url())
    status = page.get_by_test_id("order-status").inner_text()
    assert status == f"Cancelled — refunded ${order.total}", status
    found += axe(page, base + order.get_absolute_url())
    shot(page, "life_07_cancelled_refunded")
    assert CancellationRequest.objects.get().status == "accepted"
    subjects = [m.subject for m in mailoutbox]
    assert f"Your order #{order.pk} from Clay Studio is cancelled — ${order.total} refunded" in subjects
    assert found == [], "\n".join(found)
