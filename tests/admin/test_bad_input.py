"""Bad input in admin URLs gives a clear 4xx or a re-rendered page, never a 500."""

import pytest
from django.urls import reverse

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("name", ["orders_order", "catalog_product", "orders_review", "shops_shop"])
@pytest.mark.parametrize("q", ["abc", "12", "'; drop table x; --", "%"])
def test_changelist_search_with_any_text(seller_a, name, q):
    response = seller_a.client.get(reverse(f"admin:{name}_changelist"), {"q": q})
    assert response.status_code == 200


def test_superuser_searches_checkouts_by_any_text(superuser_client):
    for q in ("not-a-uuid", "00000000-0000-0000-0000-000000000000"):
        assert superuser_client.get(reverse("admin:orders_checkout_changelist"), {"q": q}).status_code == 200


@pytest.mark.parametrize("path", ["abc/ship/", "abc/cancel/", "999999/ship/", "../ship/"])
def test_fulfilment_urls_with_bad_ids_are_404(seller_a, path):
    response = seller_a.client.get(reverse("admin:orders_order_changelist") + path)
    assert response.status_code == 404


def test_dashboard_with_bad_shop_parameter(superuser_client, seller_a):
    assert superuser_client.get(reverse("admin:orders_sales_dashboard"), {"shop": "x"}).status_code == 403
    assert superuser_client.get(reverse("admin:orders_sales_dashboard"), {"shop": "99999"}).status_code == 403


def test_csv_import_without_a_file_rerenders(seller_a):
    response = seller_a.client.post(reverse("admin:catalog_product_import_csv"), {})
    assert response.status_code == 200 and response.context["form"].errors


def test_too_many_tags_is_a_form_error(seller_a, category):
    response = seller_a.client.post(
        reverse("admin:catalog_product_add"),
        {
            "shop": seller_a.shop.pk,
            "title": "Tag soup",
            "price": "5.00",
            "quantity": "1",
            "category": category.pk,
            "tags": ",".join(f"tag{i}" for i in range(20)),
            "images-TOTAL_FORMS": "0",
            "images-INITIAL_FORMS": "0",
            "_save": "Save",
        },
    )
    assert response.status_code == 200
    assert "tags" in response.context["adminform"].form.errors
