"""Look-alike and hidden-character names (etsy.names): one normal form for shop-name uniqueness,
one validator against invisible characters in every name and title a user writes."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.db import IntegrityError, transaction
from django.urls import reverse
from rest_framework.test import APIClient

from accounts.models import User
from catalog.models import Product
from etsy.names import normalise_name
from shops import services as shop_services
from shops.models import Shop
from tests.accounts.factories import UserFactory
from tests.api.conftest import error_of
from tests.catalog.factories import CategoryFactory, ProductFactory
from tests.shops.factories import ShopFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def client_for():
    def make(user) -> APIClient:
        client = APIClient()
        client.force_authenticate(user)
        return client

    return make


LOOK_ALIKES = [
    "Quince\u00a0House",  # no-break space (the probe)
    "quince house",
    "QUINCE   HOUSE",
    " Quince House ",
    "Quince\u2003House",  # em space
    "Quince\u3000House",  # ideographic space
    "\uff31uince House",  # full-width Q
]
HIDDEN = [
    "Quince\u200bHouse",  # zero-width space
    "Quince\u200dHouse",  # zero-width joiner
    "\u202eesuoH ecniuQ",  # right-to-left override
    "Quince\u2066House\u2069",  # bidi isolate
    "\ufeffQuince House",  # byte-order mark
    "Quince\u00adHouse",  # soft hyphen
    "Quince\x07House",  # control character
    "Quince\nHouse",
    "Quince\u2028House",  # line separator
    "Quince\u3164House",  # Hangul filler (a blank letter)
]


@pytest.mark.parametrize("name", LOOK_ALIKES)
def test_look_alike_names_have_one_normal_form(name):
    assert normalise_name(name) == "quince house"


def test_normal_form_keeps_different_names_apart():
    assert normalise_name("Quince House") != normalise_name("Quince Houses")
    assert normalise_name("Straße") == normalise_name("STRASSE")  # case folding, not only lower-casing


@pytest.mark.parametrize("name", LOOK_ALIKES)
def test_opening_a_look_alike_of_a_taken_shop_name_is_refused(name):
    ShopFactory(name="Quince House")
    with pytest.raises(shop_services.ShopNameTaken):
        shop_services.open_shop(owner=UserFactory(), name=name)


def test_renaming_a_shop_to_a_look_alike_is_refused_and_its_own_name_is_kept():
    ShopFactory(name="Quince House")
    shop = ShopFactory(name="Pear Tree")
    with pytest.raises(shop_services.ShopNameTaken):
        shop_services.update_shop(shop=shop, name="quince\u00a0house")
    assert shop_services.update_shop(shop=shop, name="PEAR  tree").name == "PEAR tree"


def test_the_database_refuses_look_alike_names_written_around_the_services():
    Shop.objects.create(owner=UserFactory(), name="Quince House", slug="quince-house")
    with pytest.raises(IntegrityError), transaction.atomic():
        Shop.objects.create(owner=UserFactory(), name="Quince\u00a0House", slug="quince-house-2")
    with pytest.raises(IntegrityError), transaction.atomic():
        Shop.objects.bulk_create([Shop(owner=UserFactory(), name="QUINCE HOUSE", slug="quince-house-3")])
    assert Shop.objects.get(name="Quince House").name_key == "quince house"


def test_the_key_follows_a_name_saved_alone():
    shop = ShopFactory(name="Pear Tree")
    shop.name = "Quince\u00a0House"
    shop.save(update_fields=["name"])
    shop.refresh_from_db()
    assert shop.name_key == "quince house"


def test_api_refuses_a_look_alike_shop_name(client_for):
    ShopFactory(name="Quince House")
    response = client_for(UserFactory()).post("/api/v1/shops", {"name": "Quince\u00a0House"}, format="json")
    assert response.status_code in (400, 409)
    assert error_of(response)["code"] == "shop_name_taken"


def test_html_open_shop_refuses_a_look_alike_name(client):
    ShopFactory(name="Quince House")
    buyer = UserFactory()
    client.force_login(buyer)
    form = {"name": "Quince\u00a0House", "shipping_base": "3.50", "shipping_additional": "0.50", "processing_days": "2"}
    response = client.post(reverse("sell:open"), form)
    assert response.status_code == 400 and "already exists" in response.content.decode()
    assert not Shop.objects.filter(owner=buyer).exists()


def test_admin_shop_form_refuses_a_look_alike_name(client):
    ShopFactory(name="Quince House")
    admin = UserFactory(is_staff=True, is_superuser=True)
    shop = ShopFactory(name="Pear Tree")
    client.force_login(admin)
    response = client.post(
        f"/admin/shops/shop/{shop.pk}/change/",
        {
            "owner": str(shop.owner_id),
            "name": "QUINCE\u00a0house",
            "slug": shop.slug,
            "shipping_base": "4.00",
            "shipping_additional": "1.00",
            "processing_days": "3",
            "review_count": "0",
            "sales_count": "0",
            "is_active": "on",
            "_save": "Save",
        },
    )
    assert response.status_code == 200  # the form again, with the error
    assert "A shop with that name already exists." in response.content.decode()
    shop.refresh_from_db()
    assert shop.name == "Pear Tree"


# --- hidden characters in every name and title ------------------------------------------------
@pytest.mark.parametrize("name", HIDDEN)
def test_api_refuses_hidden_characters_in_a_shop_name(client_for, name):
    response = client_for(UserFactory()).post("/api/v1/shops", {"name": name}, format="json")
    assert response.status_code == 400
    error = error_of(response)
    assert "invisible or control character" in error["fields"]["name"][0]
    assert not Shop.objects.exists()


def test_html_open_shop_refuses_hidden_characters_with_a_field_error(client):
    client.force_login(UserFactory())
    form = {"name": "Quince\u200bHouse", "shipping_base": "3.50", "shipping_additional": "0.50", "processing_days": "2"}
    response = client.post(reverse("sell:open"), form)
    assert response.status_code == 400
    assert "invisible or control character" in str(response.context["form"].errors["name"])
    assert not Shop.objects.exists()


@pytest.mark.parametrize("title", HIDDEN[:4])
def test_api_refuses_hidden_characters_in_a_listing_title(client_for, shop, title):
    CategoryFactory(slug="home")
    response = client_for(shop.owner).post(
        "/api/v1/seller/products", {"title": title, "price": "12.00", "category": "home"}, format="json"
    )
    assert response.status_code == 400
    assert "invisible or control character" in error_of(response)["fields"]["title"][0]
    assert not Product.objects.exists()


def test_admin_listing_form_refuses_hidden_characters_in_the_title(client, shop):
    category = CategoryFactory()
    client.force_login(UserFactory(is_staff=True, is_superuser=True))
    response = client.post(
        "/admin/catalog/product/add/",
        {
            "shop": str(shop.pk),
            "title": "Mug\u202e",
            "description": "d",
            "price": "12.00",
            "quantity": "1",
            "category": str(category.pk),
            "tags": "",
            "is_active": "on",
            "images-TOTAL_FORMS": "0",
            "images-INITIAL_FORMS": "0",
            "_save": "Save",
        },
    )
    assert response.status_code == 200
    assert "invisible or control character" in response.content.decode()
    assert not Product.objects.exists()


def test_csv_import_refuses_hidden_characters_in_a_title(shop):
    from catalog import csv_io

    category = CategoryFactory(slug="home")
    data = f"title,price,category\nMug\u200b,12.00,{category.slug}\n".encode()
    with pytest.raises(csv_io.CsvImportFailed) as failed:
        csv_io.import_products_csv(shop=shop, data=data)
    assert any("invisible" in message for message in failed.value.extra["errors"])
    assert not Product.objects.exists()


def test_api_refuses_hidden_characters_in_a_display_name(client_for, buyer):
    response = client_for(buyer).patch("/api/v1/me", {"display_name": "Sam\u200b"}, format="json")
    assert response.status_code == 400
    assert "invisible or control character" in error_of(response)["fields"]["display_name"][0]
    buyer.refresh_from_db()
    assert "\u200b" not in buyer.display_name


def test_sign_up_form_refuses_hidden_characters_in_a_display_name(client):
    response = client.post(
        "/accounts/signup/",
        {"email": "n@example.com", "display_name": "Nia\u202e", "password": "a-Long-enough-pass-42"},
    )
    assert response.status_code == 400
    assert "invisible or control character" in response.content.decode()
    assert not User.objects.filter(email="n@example.com").exists()


def test_model_validation_refuses_hidden_characters(shop):
    from django.core.exceptions import ValidationError

    with pytest.raises(ValidationError) as shop_error:
        Shop(owner=UserFactory(), name="A\u200bB", slug="ab").full_clean()
    assert "name" in shop_error.value.message_dict
    with pytest.raises(ValidationError) as product_error:
        ProductFactory.build(shop=shop, category=CategoryFactory(), title="Mug\u200d", price=Decimal("1")).full_clean()
    assert "title" in product_error.value.message_dict
    with pytest.raises(ValidationError) as user_error:
        User(email="v@example.com", display_name="V\x1b[31m").full_clean()
    assert "display_name" in user_error.value.message_dict


def test_visible_unicode_names_are_accepted(client_for):
    response = client_for(UserFactory()).post("/api/v1/shops", {"name": "Atelier Éloïse ☕ 陶器"}, format="json")
    assert response.status_code == 201, response.content
    assert Shop.objects.get().name == "Atelier Éloïse ☕ 陶器"


def test_the_migration_gives_every_shop_its_key_and_keeps_an_existing_look_alike_apart():
    import importlib

    from django.apps import apps

    migration = importlib.import_module("shops.migrations.0004_shop_name_key")
    first = ShopFactory(name="Quince House")
    second = ShopFactory(name="Pear Tree")
    # rows as an older release left them: a look-alike already registered, keys not yet filled
    Shop.objects.filter(pk=first.pk).update(name_key="-1")
    Shop.objects.filter(pk=second.pk).update(name="QUINCE\u00a0HOUSE", name_key="-2")
    migration.fill_name_keys(apps, None)
    assert Shop.objects.get(pk=first.pk).name_key == "quince house"
    assert Shop.objects.get(pk=second.pk).name_key == f"quince house #{second.pk}"


@pytest.mark.django_db(transaction=True)
def test_look_alikes_opened_at_the_same_moment_make_one_shop():
    """Both pass the service's check before either commits: the unique key decides."""
    import threading

    from django.db import connection

    names = ["Quince House", "quince\u00a0house", "QUINCE  HOUSE", "\uff31uince House"]
    for _ in range(5):
        Shop.objects.all().delete()
        owners = [UserFactory() for _ in names]
        barrier = threading.Barrier(len(names))
        outcomes = []

        def attempt(owner, name):
            barrier.wait()
            try:
                shop_services.open_shop(owner=owner, name=name)
                outcomes.append("opened")
            except shop_services.ShopNameTaken:
                outcomes.append("taken")
            finally:
                connection.close()

        threads = [threading.Thread(target=attempt, args=pair) for pair in zip(owners, names, strict=True)]
        [thread.start() for thread in threads]
        [thread.join() for thread in threads]
        assert sorted(outcomes) == ["opened"] + ["taken"] * (len(names) - 1)
        assert Shop.objects.count() == 1
