"""The buyer's message pages: wiring, bad input, limits, the header badge on cached pages."""

from datetime import timedelta

import pytest
from django.utils import timezone

from messaging import services
from messaging.models import Conversation, Message, MessageImage, Report
from tests.messaging.factories import fake_png_upload, png_upload

pytestmark = pytest.mark.django_db


@pytest.fixture
def signed_in(client, buyer):
    client.force_login(buyer)
    return client


@pytest.fixture
def thread(buyer, shop, product):
    return services.start_conversation(buyer=buyer, shop_id=shop.pk, body="Is it food safe?", product_id=product.pk)


def test_product_shop_and_order_pages_link_to_message_the_seller(client, product, shop):
    page = client.get(product.get_absolute_url()).content.decode()
    assert f"/messages/new/?shop={shop.pk}&amp;product={product.pk}" in page
    assert "Request a custom piece" not in page  # only on a sold-out page
    shop_page = client.get(shop.get_absolute_url()).content.decode()
    assert f"/messages/new/?shop={shop.pk}" in shop_page and f"/messages/custom/?shop={shop.pk}" in shop_page


def test_the_order_page_links_to_a_thread_about_the_order(client, buyer, shop):
    from tests.orders.factories import OrderFactory

    order = OrderFactory(buyer=buyer, shop=shop)
    client.force_login(buyer)
    page = client.get(f"/orders/{order.pk}/").content.decode()
    assert f"/messages/new/?shop={shop.pk}&amp;order={order.pk}" in page
    response = client.post("/messages/new/", {"shop": shop.pk, "order": order.pk, "body": "When will it ship?"})
    assert response.status_code == 302
    assert Conversation.objects.get().order == order


def test_a_sold_out_page_offers_a_custom_piece(client, shop, category):
    from tests.catalog.factories import ProductFactory

    sold = ProductFactory(shop=shop, category=category, quantity=0)
    page = client.get(sold.get_absolute_url()).content.decode()
    assert f"/messages/custom/?shop={shop.pk}&amp;product={sold.pk}" in page


def test_anonymous_visitors_are_asked_to_sign_in(client, shop):
    for url in ("/messages/", f"/messages/new/?shop={shop.pk}", f"/messages/custom/?shop={shop.pk}"):
        response = client.get(url)
        assert response.status_code == 302 and "/accounts/login/" in response["Location"]


def test_asking_from_a_product_page_opens_the_thread(signed_in, shop, product):
    form = signed_in.get(f"/messages/new/?shop={shop.pk}&product={product.pk}")
    assert form.status_code == 200 and f'name="product" value="{product.pk}"' in form.content.decode()
    response = signed_in.post(
        "/messages/new/", {"shop": shop.pk, "product": product.pk, "body": "Does it come in green?"}
    )
    conversation = Conversation.objects.get()
    assert response.status_code == 302 and response["Location"] == f"/messages/{conversation.pk}/"
    page = signed_in.get(response["Location"]).content.decode()
    assert "Does it come in green?" in page and product.title in page


def test_unknown_or_closed_shops_are_404(signed_in):
    assert signed_in.get("/messages/new/?shop=999999").status_code == 404
    assert signed_in.get("/messages/new/?shop=abc").status_code == 404
    assert signed_in.get("/messages/new/").status_code == 404


@pytest.mark.parametrize("body", ["", "x" * 2001])
def test_empty_or_over_long_messages_are_400_with_a_field_error(signed_in, shop, body):
    response = signed_in.post("/messages/new/", {"shop": shop.pk, "body": body})
    assert response.status_code == 400
    assert 'class="field-error"' in response.content.decode()
    assert not Message.objects.exists()


def test_a_fake_picture_is_400_and_nothing_is_stored(signed_in, thread):
    response = signed_in.post(
        f"/messages/{thread.pk}/", {"body": "See this", "images": [png_upload(), fake_png_upload()]}
    )
    assert response.status_code == 400
    assert "field-error" in response.content.decode()
    assert thread.messages.count() == 1 and not MessageImage.objects.exists()


def test_a_reply_with_pictures_lands_in_the_thread(signed_in, thread):
    response = signed_in.post(f"/messages/{thread.pk}/", {"body": "Like these", "images": [png_upload(), png_upload()]})
    assert response.status_code == 302
    assert MessageImage.objects.filter(message__conversation=thread).count() == 2
    page = signed_in.get(f"/messages/{thread.pk}/").content.decode()
    assert page.count('alt="Picture ') == 2


def test_over_the_limit_is_429_with_retry_after(settings, signed_in, thread, buyer):
    type(buyer).objects.filter(pk=buyer.pk).update(created_at=timezone.now() - timedelta(days=3))
    settings.MESSAGING_MESSAGES_PER_HOUR = 1  # the first message of the thread used it
    response = signed_in.post(f"/messages/{thread.pk}/", {"body": "One more"})
    assert response.status_code == 429 and 0 < int(response["Retry-After"]) <= 3600
    assert thread.messages.count() == 1


def test_inbox_lists_unread_first_and_opening_a_thread_reads_it(signed_in, buyer, seller, shop, thread):
    other = services.start_conversation(buyer=buyer, shop_id=shop.pk, body="Second thread, no listing")
    services.send_message(user=seller, conversation_id=thread.pk, body="Yes, food safe.")
    page = signed_in.get("/messages/").content.decode()
    assert page.index(f'data-conversation="{thread.pk}"') < page.index(f'data-conversation="{other.pk}"')
    assert "New reply" in page
    signed_in.get(f"/messages/{thread.pk}/")
    thread.refresh_from_db()
    assert not thread.is_unread_by_buyer


def test_the_header_badge_counts_unread_threads_on_a_cached_product_page(
    signed_in, seller, thread, product, django_capture_on_commit_callbacks, django_assert_max_num_queries
):
    url = product.get_absolute_url()
    assert 'id="unread-count"' not in signed_in.get(url).content.decode()
    with django_capture_on_commit_callbacks(execute=True):
        services.send_message(user=seller, conversation_id=thread.pk, body="Yes, food safe.")
    signed_in.get(url)
    with django_assert_max_num_queries(2):  # the signed-in budget of tests/web/test_query_counts.py
        page = signed_in.get(url).content.decode()
    assert "data-unread-count>1</span>" in page
    with django_capture_on_commit_callbacks(execute=True):
        signed_in.get(f"/messages/{thread.pk}/")
    assert 'id="unread-count"' not in signed_in.get(url).content.decode()


def test_the_seller_reply_is_escaped_on_the_buyers_page(signed_in, seller, thread):
    services.send_message(user=seller, conversation_id=thread.pk, body='<script>alert("x")</script>')
    page = signed_in.get(f"/messages/{thread.pk}/").content.decode()
    assert '<script>alert("x")</script>' not in page
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;" in page


def test_a_custom_request_form_opens_a_structured_thread(signed_in, shop):
    response = signed_in.post(
        "/messages/custom/", {"shop": shop.pk, "what": "A green teapot", "budget": "$80", "by_when": "June"}
    )
    assert response.status_code == 302
    page = signed_in.get(response["Location"]).content.decode()
    assert "Custom order request" in page and "A green teapot" in page and "$80" in page
    assert signed_in.post("/messages/custom/", {"shop": shop.pk, "what": ""}).status_code == 400


def test_block_and_report_from_the_thread(signed_in, seller, thread):
    rude = services.send_message(user=seller, conversation_id=thread.pk, body="Rude")
    assert signed_in.post(f"/messages/{thread.pk}/report/{rude.pk}/", {"reason": "rude"}).status_code == 302
    assert Report.objects.filter(message=rude).exists()
    assert signed_in.post(f"/messages/{thread.pk}/block/").status_code == 302
    page = signed_in.get(f"/messages/{thread.pk}/").content.decode()
    assert "You blocked this shop." in page and "Unblock" in page
    assert signed_in.post(f"/messages/{thread.pk}/", {"body": "hello?"}).status_code == 403


@pytest.mark.parametrize("page_url", ["product", "/", "shop"])
def test_hot_pages_read_the_unread_count_with_the_page_not_on_its_own(
    signed_in, seller, thread, product, shop, page_url, monkeypatch, django_capture_on_commit_callbacks
):
    from etsy import cache

    url = {"product": product.get_absolute_url(), "shop": shop.get_absolute_url()}.get(page_url, page_url)
    with django_capture_on_commit_callbacks(execute=True):
        services.send_message(user=seller, conversation_id=thread.pk, body="Yes, food safe.")
    signed_in.get(url)  # fills the page and the count
    reads = []
    real_get = cache.get
    monkeypatch.setattr(cache, "get", lambda key, **kw: reads.append(key) or real_get(key, **kw))
    page = signed_in.get(url).content.decode()
    assert "data-unread-count>1</span>" in page
    assert cache.unread_messages_key(thread.buyer_id) not in reads
