"""Seller A never sees, changes or deletes seller B's rows through any admin URL."""

import json

import pytest
from django.urls import reverse

from catalog.models import Product, ProductImage
from orders.models import Order, Review
from shops.models import Shop
from tests.catalog.factories import set_listing_stock

pytestmark = pytest.mark.django_db


def _objects(seller):
    return {
        "product": seller.product,
        "shop": seller.shop,
        "order": seller.order,
        "review": seller.review,
    }


ADMIN_NAMES = {
    "product": "catalog_product",
    "shop": "shops_shop",
    "order": "orders_order",
    "review": "orders_review",
}


def _snapshot(obj):
    fresh = type(obj).objects.filter(pk=obj.pk).values().first()
    return fresh


def _is_refused(response):
    # Django's admin answers a row outside the queryset with a redirect to the index ("doesn't exist").
    return response.status_code in (302, 403, 404) and b'name="_save"' not in response.content


@pytest.mark.parametrize("kind", list(ADMIN_NAMES))
def test_changelist_shows_only_own_rows(seller_a, seller_b, kind):
    response = seller_a.client.get(reverse(f"admin:{ADMIN_NAMES[kind]}_changelist"))
    assert response.status_code == 200
    shown = {obj.pk for obj in response.context["cl"].result_list}
    assert _objects(seller_a)[kind].pk in shown
    assert _objects(seller_b)[kind].pk not in shown


@pytest.mark.parametrize("kind", list(ADMIN_NAMES))
@pytest.mark.parametrize("view", ["change", "delete", "history"])
def test_object_pages_of_another_shop_are_refused(seller_a, seller_b, kind, view):
    target = _objects(seller_b)[kind]
    response = seller_a.client.get(reverse(f"admin:{ADMIN_NAMES[kind]}_{view}", args=[target.pk]))
    assert _is_refused(response)
    assert str(target) not in response.content.decode() or response.status_code == 302


@pytest.mark.parametrize("kind", list(ADMIN_NAMES))
def test_forged_change_post_to_another_shop_changes_nothing(seller_a, seller_b, kind):
    target = _objects(seller_b)[kind]
    before = _snapshot(target)
    payload = {
        "title": "hijacked",
        "name": "hijacked",
        "price": "0.01",
        "quantity": "99",
        "seller_reply": "hijacked",
        "tracking_number": "HIJACK",
        "shop": seller_a.shop.pk,
        "category": seller_b.product.category_id,
        "_save": "Save",
    }
    response = seller_a.client.post(reverse(f"admin:{ADMIN_NAMES[kind]}_change", args=[target.pk]), payload)
    assert _is_refused(response)
    assert _snapshot(target) == before


@pytest.mark.parametrize("kind", list(ADMIN_NAMES))
def test_forged_delete_post_to_another_shop_deletes_nothing(seller_a, seller_b, kind):
    target = _objects(seller_b)[kind]
    response = seller_a.client.post(reverse(f"admin:{ADMIN_NAMES[kind]}_delete", args=[target.pk]), {"post": "yes"})
    assert _is_refused(response)
    assert type(target).objects.filter(pk=target.pk).exists()


@pytest.mark.parametrize(
    "action,extra",
    [
        ("mark_sold_out", {}),
        ("activate", {}),
        ("deactivate", {}),
        ("delete_selected", {"post": "yes"}),
    ],
)
def test_product_bulk_actions_ignore_other_shops_ids(seller_a, seller_b, action, extra):
    set_listing_stock(seller_b.product, quantity=5)
    Product.objects.filter(pk=seller_b.product.pk).update(is_active=action != "deactivate")
    before = _snapshot(seller_b.product)
    payload = {"action": action, "_selected_action": [seller_b.product.pk], "index": 0, **extra}
    response = seller_a.client.post(reverse("admin:catalog_product_changelist"), payload)
    assert response.status_code in (200, 302)
    assert _snapshot(seller_b.product) == before


def test_change_category_action_ignores_other_shops_ids(seller_a, seller_b):
    from tests.catalog.factories import CategoryFactory

    other = CategoryFactory(slug="elsewhere")
    payload = {
        "action": "change_category",
        "_selected_action": [seller_b.product.pk, seller_a.product.pk],
        "apply": "1",
        "category": other.pk,
    }
    response = seller_a.client.post(reverse("admin:catalog_product_changelist"), payload)
    assert response.status_code == 302
    seller_a.product.refresh_from_db()
    seller_b.product.refresh_from_db()
    assert seller_a.product.category_id == other.pk
    assert seller_b.product.category_id != other.pk


def test_order_cancel_action_ignores_other_shops_ids(seller_a, seller_b):
    before = _snapshot(seller_b.order)
    payload = {"action": "cancel_and_restock", "_selected_action": [seller_b.order.pk], "index": 0}
    response = seller_a.client.post(reverse("admin:orders_order_changelist"), payload)
    assert response.status_code in (200, 302)
    assert _snapshot(seller_b.order) == before


@pytest.mark.parametrize("view", ["ship", "cancel"])
def test_fulfilment_pages_of_another_shops_order_are_404(seller_a, seller_b, view):
    before = _snapshot(seller_b.order)
    url = reverse(f"admin:orders_order_{view}", args=[seller_b.order.pk])
    assert seller_a.client.get(url).status_code == 404
    assert seller_a.client.post(url, {"tracking_number": "1Z999AA10123456784"}).status_code == 404
    assert _snapshot(seller_b.order) == before


def test_seller_cannot_add_a_product_to_another_shop(seller_a, seller_b, category):
    response = seller_a.client.post(
        reverse("admin:catalog_product_add"),
        {
            "shop": seller_b.shop.pk,
            "title": "Sneaky",
            "price": "10.00",
            "quantity": "1",
            "category": category.pk,
            "tags": "",
            "images-TOTAL_FORMS": "0",
            "images-INITIAL_FORMS": "0",
            "_save": "Save",
        },
    )
    assert response.status_code == 200  # the form re-renders with the error
    assert "shop" in response.context["adminform"].form.errors
    assert not Product.objects.filter(title="Sneaky").exists()


def test_seller_cannot_move_own_product_into_another_shop(seller_a, seller_b, category):
    p = seller_a.product
    response = seller_a.client.post(
        reverse("admin:catalog_product_change", args=[p.pk]),
        {
            "shop": seller_b.shop.pk,
            "title": p.title,
            "price": "10.00",
            "quantity": "1",
            "category": category.pk,
            "tags": "",
            "images-TOTAL_FORMS": "0",
            "images-INITIAL_FORMS": "0",
            "_save": "Save",
        },
    )
    assert response.status_code == 200
    p.refresh_from_db()
    assert p.shop_id == seller_a.shop.pk


def test_the_add_form_offers_only_the_sellers_own_shop(seller_a, seller_b):
    response = seller_a.client.get(reverse("admin:catalog_product_add"))
    field = response.context["adminform"].form.fields["shop"]
    assert list(field.queryset) == [seller_a.shop]
    assert response.context["adminform"].form.initial["shop"] == seller_a.shop.pk


def test_inline_cannot_grab_another_shops_image(seller_a, seller_b, category, tmp_path):
    from django.core.files.base import ContentFile

    from tests.admin.images import png_bytes

    image = ProductImage(product=seller_b.product, position=0)
    image.image.save("b.png", ContentFile(png_bytes()), save=True)
    p = seller_a.product
    response = seller_a.client.post(
        reverse("admin:catalog_product_change", args=[p.pk]),
        {
            "shop": seller_a.shop.pk,
            "title": p.title,
            "price": "10.00",
            "quantity": "1",
            "category": category.pk,
            "tags": "",
            "images-TOTAL_FORMS": "1",
            "images-INITIAL_FORMS": "1",
            "images-0-id": image.pk,
            "images-0-product": p.pk,
            "images-0-alt_text": "stolen",
            "images-0-position": "0",
            "_save": "Save",
        },
    )
    assert response.status_code in (200, 302)  # the unknown row is refused or dropped, never bound
    image.refresh_from_db()
    assert image.product_id == seller_b.product.pk and image.alt_text == ""
    assert not ProductImage.objects.filter(product=p).exists()


def _autocomplete(client, app_label, model_name, field_name, term=""):
    response = client.get(
        reverse("admin:autocomplete"),
        {"app_label": app_label, "model_name": model_name, "field_name": field_name, "term": term},
    )
    assert response.status_code == 200
    return {int(r["id"]) for r in json.loads(response.content)["results"]}


def test_autocomplete_never_returns_other_shops_rows(seller_a, seller_b):
    products = _autocomplete(seller_a.client, "orders", "orderitem", "product", "teapot")
    assert products == {seller_a.product.pk}
    shops = _autocomplete(seller_a.client, "catalog", "product", "shop")
    assert shops == {seller_a.shop.pk}
    orders = _autocomplete(seller_a.client, "orders", "review", "order", str(seller_b.order.pk))
    assert seller_b.order.pk not in orders


def test_category_filter_lists_only_categories_of_own_products(seller_a, seller_b):
    from tests.catalog.factories import CategoryFactory

    b_only = CategoryFactory(name="Bob-only category", slug="bob-only")
    Product.objects.filter(pk=seller_b.product.pk).update(category=b_only)
    body = seller_a.client.get(reverse("admin:catalog_product_changelist")).content.decode()
    assert "Bob-only category" not in body


def test_review_reply_reaches_only_own_reviews(seller_a, seller_b):
    url = reverse("admin:orders_review_change", args=[seller_a.review.pk])
    response = seller_a.client.post(url, {"seller_reply": "Thank you!", "_save": "Save"})
    assert response.status_code == 302
    seller_a.review.refresh_from_db()
    assert seller_a.review.seller_reply == "Thank you!" and seller_a.review.replied_at is not None
    assert Review.objects.get(pk=seller_b.review.pk).seller_reply == ""


def test_seller_cannot_add_shops_or_orders_or_see_marketplace_models(seller_a):
    assert seller_a.client.get(reverse("admin:shops_shop_add")).status_code == 403
    assert seller_a.client.get(reverse("admin:orders_order_add")).status_code == 403
    for name in ["orders_checkout", "outbox_outboxmessage", "accounts_user", "cart_cartitem", "catalog_favorite"]:
        assert seller_a.client.get(reverse(f"admin:{name}_changelist")).status_code == 403


def test_csv_export_contains_only_own_listings(seller_a, seller_b):
    body = seller_a.client.get(reverse("admin:catalog_product_export_csv")).content.decode()
    assert seller_a.product.title in body and seller_b.product.title not in body
    response = seller_a.client.post(
        reverse("admin:catalog_product_changelist"),
        {"action": "export_csv", "_selected_action": [seller_a.product.pk, seller_b.product.pk]},
    )
    body = response.content.decode()
    assert seller_a.product.title in body and seller_b.product.title not in body


def test_dashboard_shows_only_own_numbers(seller_a, seller_b):
    Product.objects.filter(pk=seller_b.product.pk).update(view_count=777)
    Order.objects.filter(pk=seller_b.order.pk).update(total="999.00", subtotal="995.00")
    for url in (reverse("admin:index"), reverse("admin:orders_sales_dashboard")):
        body = seller_a.client.get(url).content.decode()
        assert "Alice Ceramics" in body
        assert "777" not in body and "999.00" not in body and "Bob Woodworks" not in body
    # a superuser-only ?shop= switch is ignored for sellers
    body = seller_a.client.get(reverse("admin:orders_sales_dashboard"), {"shop": seller_b.shop.pk}).content.decode()
    assert "Bob Woodworks" not in body


def test_superuser_sees_every_shop(superuser_client, seller_a, seller_b):
    response = superuser_client.get(reverse("admin:catalog_product_changelist"))
    shown = {p.pk for p in response.context["cl"].result_list}
    assert {seller_a.product.pk, seller_b.product.pk} <= shown
    response = superuser_client.get(reverse("admin:orders_sales_dashboard"), {"shop": seller_b.shop.pk})
    assert "Bob Woodworks" in response.content.decode()
    assert Shop.objects.count() == 2
