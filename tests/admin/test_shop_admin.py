import pytest
from django.urls import reverse

from shops.models import Shop
from shops.signals import shop_changed

pytestmark = pytest.mark.django_db


def _form(shop, **overrides):
    data = {
        "name": shop.name,
        "description": shop.description,
        "location": "",
        "shipping_base": "4.00",
        "shipping_additional": "1.00",
        "free_shipping_threshold": "",
        "processing_days": "3",
        "policy_text": "",
        "is_active": "on",
        "_save": "Save",
    }
    data.update(overrides)
    return data


def test_seller_edits_own_shop_through_the_service(seller_a, django_capture_on_commit_callbacks):
    received = []
    handler = lambda sender, **kw: received.append(kw)  # noqa: E731
    shop_changed.connect(handler)
    try:
        with django_capture_on_commit_callbacks(execute=True):
            response = seller_a.client.post(
                reverse("admin:shops_shop_change", args=[seller_a.shop.pk]),
                _form(seller_a.shop, policy_text="Returns within 30 days", owner=999, rating="1.0"),
            )
    finally:
        shop_changed.disconnect(handler)
    assert response.status_code == 302
    shop = Shop.objects.get(pk=seller_a.shop.pk)
    assert shop.policy_text == "Returns within 30 days"
    assert shop.owner_id == seller_a.user.pk and shop.rating is None  # read-only for sellers
    assert received and received[-1]["shop_id"] == shop.pk and "policy_text" in received[-1]["fields"]


def test_taken_name_is_a_form_error(seller_a, seller_b):
    response = seller_a.client.post(
        reverse("admin:shops_shop_change", args=[seller_a.shop.pk]), _form(seller_a.shop, name="bob woodworks")
    )
    assert response.status_code == 200
    assert "name" in response.context["adminform"].form.errors
    assert Shop.objects.get(pk=seller_a.shop.pk).name == "Alice Ceramics"
