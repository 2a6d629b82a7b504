import threading

import pytest
from django.db import connection

from shops import services
from shops.exceptions import AlreadyHasShop
from shops.models import Shop
from shops.signals import shop_changed
from tests.accounts.factories import UserFactory
from tests.shops.factories import ShopFactory

pytestmark = pytest.mark.django_db


def test_open_shop_makes_the_buyer_a_staff_seller(buyer, django_capture_on_commit_callbacks):
    received = []
    handler = lambda sender, **kw: received.append(kw["shop_id"])  # noqa: E731
    shop_changed.connect(handler)
    try:
        with django_capture_on_commit_callbacks(execute=True):
            shop = services.open_shop(
                owner=buyer, name="  Clay & Co ", description="Pots", policy_text="Ships in 3 days"
            )
    finally:
        shop_changed.disconnect(handler)
    buyer.refresh_from_db()
    assert shop.name == "Clay & Co" and shop.slug == "clay-co" and shop.owner == buyer
    assert buyer.is_staff and buyer.groups.filter(name="Sellers").exists()
    assert buyer.has_perm("catalog.add_product") and buyer.has_perm("orders.change_order")
    assert not buyer.has_perm("accounts.change_user") and not buyer.has_perm("shops.add_shop")
    assert received == [shop.pk]


def test_open_shop_refuses_a_second_shop_and_a_taken_name(buyer, other_buyer):
    services.open_shop(owner=buyer, name="Clay")
    with pytest.raises(AlreadyHasShop):
        services.open_shop(owner=buyer, name="Another")
    with pytest.raises(services.ShopNameTaken):
        services.open_shop(owner=other_buyer, name="clay")
    assert Shop.objects.count() == 1


def test_slug_is_unique_even_when_names_slugify_alike(buyer, other_buyer):
    a = services.open_shop(owner=buyer, name="Clay Co")
    b = services.open_shop(owner=other_buyer, name="Clay-Co")
    assert (a.slug, b.slug) == ("clay-co", "clay-co-2")


def test_update_shop_changes_only_editable_fields(shop):
    services.update_shop(shop=shop, name="New Name", policy_text="30-day returns")
    shop.refresh_from_db()
    assert shop.name == "New Name" and shop.policy_text == "30-day returns"
    with pytest.raises(TypeError):
        services.update_shop(shop=shop, rating=5)


def test_sellers_group_data_migration_creates_the_group_with_its_permissions():
    import importlib

    from django.apps import apps
    from django.contrib.auth.models import Group

    # Transactional tests flush the database (and this row with it), so run the migration's function itself.
    Group.objects.filter(name="Sellers").delete()
    importlib.import_module("shops.migrations.0003_sellers_group").create_sellers_group(apps, None)
    group = Group.objects.get(name="Sellers")
    codes = set(group.permissions.values_list("codename", flat=True))
    assert {"add_product", "change_product", "delete_product", "view_order", "change_review"} <= codes
    assert "delete_shop" not in codes and "add_shop" not in codes


@pytest.mark.django_db(transaction=True)
def test_concurrent_open_shop_by_one_owner_creates_one():
    owner = UserFactory()
    barrier = threading.Barrier(4)
    outcomes = []

    def attempt(i):
        barrier.wait()
        try:
            services.open_shop(owner=owner, name=f"Shop {i}")
            outcomes.append("ok")
        except AlreadyHasShop:
            outcomes.append("refused")
        finally:
            connection.close()

    threads = [threading.Thread(target=attempt, args=(i,)) for i in range(4)]
    [t.start() for t in threads]
    [t.join() for t in threads]
    assert sorted(outcomes) == ["ok"] + ["refused"] * 3
    assert Shop.objects.filter(owner=owner).count() == 1


def test_sales_counts_of_several_shops_move_in_two_statements_never_below_zero(django_assert_num_queries):
    from shops.services import add_sales_by_shop

    first, second, third = ShopFactory(), ShopFactory(), ShopFactory()
    Shop.objects.filter(pk=second.pk).update(sales_count=2)
    with django_assert_num_queries(2):  # the rows locked in id order, then one UPDATE
        add_sales_by_shop(units_by_shop={first.pk: 3, second.pk: -5, third.pk: 0})
    counts = dict(Shop.objects.filter(pk__in=[first.pk, second.pk, third.pk]).values_list("pk", "sales_count"))
    assert counts == {first.pk: 3, second.pk: 0, third.pk: 0}
    with django_assert_num_queries(0):
        add_sales_by_shop(units_by_shop={third.pk: 0})
