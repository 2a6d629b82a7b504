import pytest

from catalog.exceptions import ProductNotFound
from catalog.selectors import get_product_for_seller, list_products_for_seller
from shops.selectors_seller import get_shop_for_user
from tests.catalog.factories import ProductFactory

pytestmark = pytest.mark.django_db


def test_seller_lists_all_own_listings_and_no_others(shop, product, django_assert_num_queries):
    inactive = ProductFactory(shop=shop, is_active=False, quantity=0)
    ProductFactory()  # another shop's
    with django_assert_num_queries(2):  # products + prefetched images
        rows = list(list_products_for_seller(shop=shop))
        _ = [(p.category.name, p.shop.name, list(p.images.all())) for p in rows]
    assert {p.pk for p in rows} == {product.pk, inactive.pk}


def test_get_product_for_seller_refuses_another_shops_listing(shop, product):
    other = ProductFactory()
    assert get_product_for_seller(shop=shop, product_id=product.pk) == product
    with pytest.raises(ProductNotFound):
        get_product_for_seller(shop=shop, product_id=other.pk)


def test_get_shop_for_user(shop, seller, buyer):
    from django.contrib.auth.models import AnonymousUser

    assert get_shop_for_user(user=seller) == shop
    assert get_shop_for_user(user=buyer) is None
    assert get_shop_for_user(user=AnonymousUser()) is None
