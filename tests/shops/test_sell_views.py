"""Opening a shop from the site, then reaching the admin scoped to it."""

import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from PIL import Image

from shops.models import Shop

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


def _png(size=(300, 300)):
    out = io.BytesIO()
    Image.new("RGB", size, (10, 150, 90)).save(out, "PNG")
    return out.getvalue()


def test_anonymous_visitors_are_sent_to_login(client):
    response = client.get(reverse("sell:open"))
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]


def test_buyer_opens_a_shop_and_manages_only_it_in_the_admin(client, buyer, shop):
    client.force_login(buyer)
    assert client.get(reverse("sell:start")).status_code == 200
    response = client.post(
        reverse("sell:open"),
        {
            "name": "Bea's Beads",
            "description": "Glass beads",
            "location": "Leeds",
            "logo": SimpleUploadedFile("logo.png", _png()),
            "shipping_base": "3.50",
            "shipping_additional": "0.50",
            "processing_days": "2",
            "policy_text": "Ships in 2 days, returns within 14.",
        },
    )
    assert response.status_code == 302 and response["Location"] == reverse("admin:index")
    mine = Shop.objects.get(owner=buyer)
    assert mine.slug == "beas-beads" and str(mine.shipping_base) == "3.50"
    assert mine.logo.name.startswith("shops/logos/") and "logo" not in mine.logo.name.rsplit("/", 1)[1]
    admin_index = client.get(reverse("admin:index"))
    assert admin_index.status_code == 200 and "Sales of Bea&#x27;s Beads" in admin_index.content.decode()
    listed = client.get(reverse("admin:shops_shop_changelist")).context["cl"].result_list
    assert [s.pk for s in listed] == [mine.pk]
    assert client.get(reverse("admin:shops_shop_change", args=[shop.pk])).status_code == 302
    assert client.get(reverse("sell:open")).status_code == 302  # one shop per owner


def test_fake_logo_and_taken_name_are_form_errors(client, buyer, shop):
    client.force_login(buyer)
    response = client.post(
        reverse("sell:open"),
        {
            "name": shop.name.upper(),
            "logo": SimpleUploadedFile("logo.png", b"<svg onload=alert(1)>"),
            "shipping_base": "3.50",
            "shipping_additional": "0.50",
            "processing_days": "2",
        },
    )
    assert response.status_code == 400
    errors = response.context["form"].errors
    assert "logo" in errors
    assert not Shop.objects.filter(owner=buyer).exists()
    response = client.post(
        reverse("sell:open"),
        {"name": shop.name.upper(), "shipping_base": "3.50", "shipping_additional": "0.50", "processing_days": "2"},
    )
    assert response.status_code == 400 and "already exists" in response.content.decode()
