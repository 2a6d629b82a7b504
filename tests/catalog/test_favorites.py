import pytest

from catalog.exceptions import AlreadyFavorited, ProductNotFound
from catalog.models import Favorite
from catalog.services import favorites
from shops.exceptions import ShopNotFound

pytestmark = pytest.mark.django_db


def test_add_favorite_counts_once_and_refuses_a_second_add(buyer, product):
    favorites.add_favorite(user=buyer, product_id=product.pk)
    with pytest.raises(AlreadyFavorited):
        favorites.add_favorite(user=buyer, product_id=product.pk)
    product.refresh_from_db()
    assert product.favorite_count == 1


def test_set_favorite_is_idempotent_both_ways(buyer, product, shop):
    assert favorites.set_favorite(user=buyer, favorite=True, product_id=product.pk) is True
    assert favorites.set_favorite(user=buyer, favorite=True, product_id=product.pk) is True
    assert favorites.set_favorite(user=buyer, favorite=True, shop_id=shop.pk) is True
    assert Favorite.objects.filter(user=buyer).count() == 2
    product.refresh_from_db()
    assert product.favorite_count == 1

    assert favorites.set_favorite(user=buyer, favorite=False, product_id=product.pk) is False
    assert favorites.set_favorite(user=buyer, favorite=False, product_id=product.pk) is False
    product.refresh_from_db()
    assert product.favorite_count == 0
    assert list(Favorite.objects.filter(user=buyer).values_list("kind", flat=True)) == ["shop"]


def test_set_favorite_of_something_missing_raises_not_found(buyer):
    with pytest.raises(ProductNotFound):
        favorites.set_favorite(user=buyer, favorite=True, product_id=999_999)
    with pytest.raises(ShopNotFound):
        favorites.set_favorite(user=buyer, favorite=True, shop_id=999_999)
