"""Every email has a plain-text part and an HTML part in the shared layout; the plain text and the subject
are never HTML-escaped, the HTML always is (a shop named ``Tom & Jerry's``, a buyer named ``<Ann & Bo>``)."""

import datetime as dt
import re
from decimal import Decimal

import pytest
from django.core import mail
from django.urls import reverse
from django.utils import timezone
from django.utils.html import escape

from accounts.services import profile, signup
from etsy.emails import render_email, send_templated_email
from messaging import events as messaging_events
from messaging import services as messaging_services
from orders import events
from orders.models import Checkout, Order
from orders.services import digest
from payments.services import refunds
from tests.accounts.factories import UserFactory
from tests.orders.factories import CheckoutFactory, OrderFactory, OrderItemFactory
from tests.shops.factories import ShopFactory

pytestmark = pytest.mark.django_db

SHOP = "Tom & Jerry's"  # escaped in HTML: Tom &amp; Jerry&#x27;s


def _parts(message) -> tuple[str, str]:
    assert len(message.alternatives) == 1, "one HTML alternative"
    html, mimetype = message.alternatives[0]
    assert mimetype == "text/html"
    return message.body, html


def assert_well_formed(message, *, raw: str = SHOP, in_subject: bool = True) -> tuple[str, str]:
    text, html = _parts(message)
    assert "&amp;" not in text and "&#x27;" not in text and "<" not in text.replace("<http", "")
    assert raw in text
    assert "&amp;" not in message.subject and "&#x27;" not in message.subject and "\n" not in message.subject
    if in_subject:
        assert raw in message.subject
    assert '<html lang="en"' in html and "Makers&#x27; Market" in html  # the shared layout
    assert "http://" in html and re.search(r'<a href="http[^"]+"[^>]*>http', html)  # a plain link too
    assert raw not in html and escape(raw) in html
    assert "<img" not in html or 'alt="' in html
    return text, html


@pytest.fixture
def tom_shop(seller):
    return ShopFactory(owner=seller, name=SHOP)


@pytest.fixture
def paid_checkout(buyer, tom_shop):
    checkout = CheckoutFactory(
        buyer=buyer,
        total=Decimal("61.47"),
        payment_status=Checkout.PaymentStatus.PAID,
        ship_name="Bea O'Brien & Co",
        ship_region="NY",
    )
    first = OrderFactory(
        checkout=checkout,
        buyer=buyer,
        shop=tom_shop,
        subtotal=Decimal("29.98"),
        shipping=Decimal("4.50"),
        total=Decimal("34.48"),
        tracking_number="1Z999AA10123456784",
    )
    OrderItemFactory(order=first, product__title="Mug & saucer", price_at_purchase=Decimal("14.99"), quantity=2)
    other = ShopFactory(name="Plain Shop")
    second = OrderFactory(
        checkout=checkout,
        buyer=buyer,
        shop=other,
        subtotal=Decimal("26.99"),
        shipping=Decimal("0.00"),
        total=Decimal("26.99"),
    )
    OrderItemFactory(order=second, product__title="Linen towel", price_at_purchase=Decimal("26.99"))
    return checkout


def test_the_order_confirmation_lists_each_shops_order_to_the_cent_and_the_address(paid_checkout, buyer):
    assert events.confirm_checkout_to_buyer({"checkout_id": str(paid_checkout.pk)}) == "done"
    (message,) = mail.outbox
    assert message.to == [buyer.email]
    assert message.subject == "Your Makers' Market order: 2 shops, $61.47"
    text, html = assert_well_formed(message, in_subject=False)
    for needle in ("2 x Mug & saucer: $29.98", "Items:    $29.98", "Shipping: $4.50", "Total:    $34.48"):
        assert needle in text
    assert "Shipping: Free" in text and "Total:    $26.99" in text and "Paid in total: $61.47" in text
    assert "Bea O'Brien & Co\n1 Market Street\n12534 Hudson, NY\nUS" in text
    assert "Bea O&#x27;Brien &amp; Co" in html and "$61.47" in html
    for order in paid_checkout.orders.all():
        assert f"/orders/{order.pk}/" in text and f"/orders/{order.pk}/" in html


def test_the_order_confirmation_shows_the_estimated_delivery_when_orders_have_one(paid_checkout):
    if not hasattr(Order, "estimated_delivery"):
        pytest.skip("Order.estimated_delivery is not on this branch yet")
    Order.objects.filter(checkout=paid_checkout).update(estimated_delivery=dt.date(2026, 12, 14))
    events.confirm_checkout_to_buyer({"checkout_id": str(paid_checkout.pk)})
    text, html = _parts(mail.outbox[0])
    assert text.count("Estimated delivery: Monday, December 14") == 2
    assert "Monday, December 14" in html


def test_the_order_confirmation_is_not_sent_for_an_unpaid_checkout_or_leaves_out_cancelled_orders(paid_checkout):
    Checkout.objects.filter(pk=paid_checkout.pk).update(payment_status=Checkout.PaymentStatus.UNKNOWN)
    assert events.confirm_checkout_to_buyer({"checkout_id": str(paid_checkout.pk)}) == "done"
    assert mail.outbox == []
    Checkout.objects.filter(pk=paid_checkout.pk).update(payment_status=Checkout.PaymentStatus.PAID)
    paid_checkout.orders.filter(shop__name="Plain Shop").update(status=Order.Status.CANCELLED)
    events.confirm_checkout_to_buyer({"checkout_id": str(paid_checkout.pk)})
    assert "Plain Shop" not in mail.outbox[0].body and mail.outbox[0].subject.endswith(f"{SHOP}, $34.48")


def test_the_seller_new_order_email(paid_checkout, tom_shop, seller):
    order = paid_checkout.orders.get(shop=tom_shop)
    events.notify_seller_of_order({"order_id": order.pk})
    (message,) = mail.outbox
    assert message.to == [seller.email]
    text, _ = assert_well_formed(message)
    assert "2 x Mug & saucer: $29.98" in text and "Ship to:\nBea" in text


def test_the_checkouts_emails_are_built_from_their_reads_alone(paid_checkout, settings, django_assert_num_queries):
    """The sellers' emails and the buyer's confirmation read only the columns they show (orders.selectors): a
    template showing one more of the shop's, a person's or the checkout's would read it in a query of its own."""
    settings.EMAIL_BACKEND = "accounts.mail.SkipUndeliverableBackend"  # production's: one read of undeliverable
    settings.EMAIL_DELIVERY_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    payloads = [{"order_id": order.pk} for order in paid_checkout.orders.order_by("id")]
    with django_assert_num_queries(2):  # the orders with all their emails show; the undeliverable addresses
        assert events.notify_sellers_of_orders(payloads) == ["done", "done"]
    with django_assert_num_queries(2):  # the checkout with all its confirmation shows; the undeliverable addresses
        assert events.confirm_checkout_to_buyer({"checkout_id": str(paid_checkout.pk)}) == "done"
    assert len(mail.outbox) == 3


def test_the_shipped_email_links_the_carriers_tracking_page(paid_checkout, tom_shop):
    order = paid_checkout.orders.get(shop=tom_shop)
    events.notify_buyer_of_shipment({"order_id": order.pk})
    text, html = assert_well_formed(mail.outbox[0])
    link = order.tracking_link
    assert link is not None and link.url in text and f'href="{link.url}"' in html


def test_the_refund_email(paid_checkout, tom_shop):
    order = Order.objects.select_related("shop", "buyer").get(checkout=paid_checkout, shop=tom_shop)
    refunds._email_buyer(order=order, amount=Decimal("10.5"))
    text, _ = assert_well_formed(mail.outbox[0])
    assert "refunded $10.50 of your order" in text and "(total $34.48)" in text


def test_the_sellers_daily_digest(paid_checkout, tom_shop):
    Order.objects.filter(checkout=paid_checkout).update(created_at=dt.datetime(2026, 3, 9, 12, tzinfo=dt.UTC))
    outcome = digest.send_daily_digest(shop_id=tom_shop.pk, day=dt.date(2026, 3, 10))
    assert outcome.sent
    text, _ = assert_well_formed(mail.outbox[0])
    assert "($34.48 in total)" in text


def test_the_new_message_email(buyer, tom_shop):
    thread = messaging_services.start_conversation(
        buyer=buyer, shop_id=tom_shop.pk, body="Is Tom & Jerry's mug <b>ok</b>?"
    )
    reply = messaging_services.send_message(
        user=tom_shop.owner, conversation_id=thread.pk, body="Yes, it's fine & safe"
    )
    later = timezone.now() + dt.timedelta(hours=1)  # the buyer is not reading the thread any more
    assert messaging_events.notify_other_side({"message_id": reply.pk}, now=later) == "done"
    message = [m for m in mail.outbox if m.to == [buyer.email]][0]
    text, html = assert_well_formed(message)
    assert "Yes, it's fine & safe" in text and "<b>" not in html.replace("<blockquote", "")


def test_the_sign_up_emails(db):
    signup.sign_up(email="tom&jerry@example.com", password="correct-horse-battery-9")
    signup.send_signup_confirmation(user_id=UserFactory._meta.model.objects.get(email="tom&jerry@example.com").pk)
    text, html = assert_well_formed(mail.outbox[-1], raw="tom&jerry@example.com", in_subject=False)
    assert "/accounts/signup/confirm/" in text
    known = UserFactory(email="known&co@example.com")
    signup.send_signup_attempt_notice(user_id=known.pk)
    text, _ = assert_well_formed(mail.outbox[-1], raw="known&co@example.com", in_subject=False)
    assert "/accounts/reset/" in text


def test_the_password_reset_email(client, buyer):
    response = client.post(reverse("accounts:password_reset"), {"email": buyer.email})
    assert response.status_code == 302
    (message,) = mail.outbox
    assert message.subject == "Reset your Makers' Market password"
    text, html = _parts(message)
    assert "/accounts/reset/" in text and "Makers' Market" in text and "&#x27;" not in text
    assert '<html lang="en"' in html


def test_the_email_change_and_password_changed_emails(django_capture_on_commit_callbacks):
    user = UserFactory(email="tom@example.com", display_name=SHOP)
    with django_capture_on_commit_callbacks(execute=True):
        profile.request_email_change(user=user, new_email="jerry@example.com", current_password="correct-horse-battery")
    confirm, notice = mail.outbox
    assert confirm.to == ["jerry@example.com"] and notice.to == ["tom@example.com"]
    assert_well_formed(confirm, in_subject=False)
    assert_well_formed(notice, in_subject=False)
    assert "jerry@example.com" not in notice.body  # the old address sees the new one masked
    with django_capture_on_commit_callbacks(execute=True):
        profile.change_password(
            user=user, current_password="correct-horse-battery", new_password="a-much-better-passphrase"
        )
    assert_well_formed(mail.outbox[-1], in_subject=False)


def test_a_subject_string_is_used_as_given_on_one_line(buyer):
    send_templated_email(
        template="account_password_reset",
        to=[buyer.email],
        context={"email": buyer.email, "link": "http://x.test/r"},
        subject="Tom & Jerry's\n  reset",
    )
    assert mail.outbox[0].subject == "Tom & Jerry's reset"


def test_render_email_escapes_only_the_html_part():
    subject, text, html = render_email(
        template="order_refunded_buyer",
        context={
            "order": OrderFactory(shop__name=SHOP, buyer__display_name="<script>x</script>"),
            "shop": type("S", (), {"name": SHOP})(),
            "amount": Decimal("1"),
        },
    )
    assert SHOP in subject and SHOP in text and "<script>x</script>" in text
    assert "&lt;script&gt;" in html and "<script>" not in html


@pytest.mark.parametrize("thousand_separator", [False, True])
@pytest.mark.parametrize("autoescape", [True, False])
def test_the_email_templates_print_every_kind_of_value_as_djangos_templates_do(
    settings, autoescape, thousand_separator
):
    """The emails moved from Django's template language to Jinja2 (etsy.email_templates) byte for byte: values
    are localized, datetimes shown in the current time zone, and HTML escaped Django's way (&#x27;, &quot;)."""
    from django.template import Context, Template, engines
    from django.utils.safestring import mark_safe

    settings.USE_THOUSAND_SEPARATOR = thousand_separator
    values = [
        'Tom & Jerry\'s "best" <b>',
        "plain",
        mark_safe("<em>safe</em>"),
        1234567,
        -3,
        True,
        None,
        12.5,
        Decimal("1234.50"),
        Decimal("1E+2"),
        dt.date(2026, 12, 24),
        dt.datetime(2026, 12, 24, 23, 30, tzinfo=dt.UTC),
        ["a", "<b>"],
    ]
    jinja = engines["emails"].env.from_string(
        "{% autoescape "
        + str(autoescape).lower()
        + " %}{{ value }}|{{ missing }}|{{ value|date('D j M') }}{% endautoescape %}"
    )
    django = Template("{{ value }}|{{ missing }}|{{ value|date:'D j M' }}")
    with timezone.override("America/New_York"):
        for value in values:
            expected = django.render(Context({"value": value}, autoescape=autoescape))
            assert jinja.render(value=value) == expected, value


def test_an_email_shows_a_day_in_the_language_active_when_it_is_rendered():
    """etsy.email_templates keeps the text of the days it formatted: per language, as Django's date filter."""
    from django.template import engines
    from django.utils import translation

    template = engines["emails"].env.from_string("{{ day|date('l j F') }}")
    day = dt.date(2026, 12, 24)
    shown = {}
    for language in ("en", "fr", "en", "de"):
        with translation.override(language):
            shown.setdefault(language, set()).add(template.render(day=day))
    assert shown == {"en": {"Thursday 24 December"}, "fr": {"jeudi 24 décembre"}, "de": {"Donnerstag 24 Dezember"}}


def _plain_environment():
    """The emails' environment without ``InlineIncludes``: every include rendered by Jinja2 as a template of its own."""
    from django.template import engines

    from etsy.email_templates import InlineIncludes

    plain = engines["emails"].env.overlay(cache_size=0)  # a cache of its own: nothing compiled with the inlining
    del plain.extensions[InlineIncludes.identifier]
    return plain


def test_the_checkouts_emails_render_the_same_with_their_partials_compiled_in(paid_checkout, tom_shop):
    """etsy.email_templates.InlineIncludes compiles each included partial into its includer: the sellers' and the
    buyer's emails of a checkout read as Jinja2's includes render them, byte for byte."""
    from django.template import engines

    env, plain = engines["emails"].env, _plain_environment()
    name = "emails/checkout_confirmation_buyer.html"
    assert "{% include" not in env.preprocess(env.loader.get_source(env, name)[0], name)  # inlined here
    events.notify_seller_of_order({"order_id": paid_checkout.orders.get(shop=tom_shop).pk})
    events.confirm_checkout_to_buyer({"checkout_id": str(paid_checkout.pk)})
    seller, buyer = mail.outbox
    order = paid_checkout.orders.get(shop=tom_shop)
    contexts = {
        "order_new_seller": {"order": order, "shop": order.shop, "items": list(order.items.all())},
        "checkout_confirmation_buyer": {
            "buyer": paid_checkout.buyer,
            "checkout": paid_checkout,
            "orders": list(paid_checkout.orders.order_by("shop__name", "id")),
            "total": Decimal("61.47"),
            "order_urls": {o.pk: f"http://x.test/orders/{o.pk}/" for o in paid_checkout.orders.all()},
        },
    }
    for template, context in contexts.items():
        context |= {"site_url": "http://x.test", "site_name": "M", "subject": "S", "checkout": paid_checkout}
        for part in (".txt", ".html"):
            name = f"emails/{template}{part}"
            assert env.get_template(name).render(context) == plain.get_template(name).render(context), name
    assert "Mug &amp; saucer" in seller.alternatives[0][0] and "Linen towel" in buyer.body


def test_a_partial_that_sets_a_name_or_is_escaped_otherwise_stays_an_include():
    from django.template import engines

    env = engines["emails"].env
    inline = env.extensions["etsy.email_templates.InlineIncludes"]
    loader = env.loader
    sources = {"emails/_sets.txt": "{% set x = 1 %}{{ x }}", "emails/_plain.txt": "hi {{ who }}"}
    original = loader.get_source

    def get_source(environment, template):
        if template in sources:
            return sources[template], None, lambda: True
        return original(environment, template)

    loader.get_source = get_source
    try:
        for source, includer, expected in (
            ('{% include "emails/_sets.txt" %}', "emails/x.txt", '{% include "emails/_sets.txt" %}'),
            ('{% include "emails/_plain.txt" %}', "emails/x.html", '{% include "emails/_plain.txt" %}'),
            ('a {% include "emails/_plain.txt" %} b', "emails/x.txt", "a hi {{ who }} b"),
            ('{% include "emails/_missing.txt" %}', "emails/x.txt", '{% include "emails/_missing.txt" %}'),
        ):
            assert inline.preprocess(source, includer) == expected, source
    finally:
        loader.get_source = original


LONG_ASCII = "x" * 400  # more than 998 / 4 characters, fewer than 998 bytes: 7bit still
LONG_UTF8 = "✿" * 400  # 1,200 bytes on one line: quoted-printable (Django's rule for long lines)


@pytest.mark.parametrize(
    ("subject", "text", "html"),
    [
        ("Plain", "Hello,\nplain text.\n", "<p>Hello</p>\n"),
        ("Tom & Jerry's ✿ order", "Caf\u00e9 ✿ line\r\nnext\n", "<p>✿ Caf\u00e9</p>"),
        ("Long", f"{LONG_ASCII}\n", f"<p>{LONG_UTF8}</p>\n"),
        ("Long ascii only", "short\n", f"<p>{LONG_ASCII}</p>"),
        ("Empty text", "", "<p>x</p>"),
    ],
)
def test_a_templated_emails_mime_is_djangos_byte_for_byte(subject, text, html):
    """etsy.emails.TemplatedEmail builds its UTF-8 parts directly: the message is the one Django builds."""
    from django.core.mail import EmailMultiAlternatives

    from etsy.emails import TemplatedEmail

    def built(cls) -> tuple[bytes, list]:
        message = cls(
            subject,
            text,
            "Makers' Market <no-reply@x.test>",
            ["Ann ✿ <ann@x.test>", "bo@x.test"],
            cc=["cc@x.test"],
            reply_to=["shop@x.test"],
            headers={"Date": "Mon, 07 Dec 2026 14:00:00 -0000", "Message-ID": "<1@x.test>", "X-Tag": "t"},
        )
        message.attach_alternative(html, "text/html")
        mime = message.message()
        mime.set_boundary("boundary")  # else random
        parts = [(type(p), p._headers, p._payload, p._charset, p.encoding) for p in mime.get_payload()]
        return mime.as_bytes(), parts

    assert built(TemplatedEmail) == built(EmailMultiAlternatives)
    generated = TemplatedEmail(subject, text, "a@x.test", ["b@x.test"]).message()
    assert generated["Date"] and generated["Message-ID"].endswith(">")  # made when not given, as Django's
