"""Records cached while the catalog's selectors were one module (``catalog/selectors.py``) pickled their classes as
``catalog.selectors.<Class>``; after the deploy that made the selectors a package, the selectors still read them."""

import pytest
from django.core.cache import caches

from catalog import selectors
from etsy import cache
from tests.catalog.factories import FavoriteFactory, add_variations

pytestmark = pytest.mark.django_db

OLD_MODULE = "catalog.selectors"
# Every class whose instances the selectors cache, directly or inside another cached value.
CACHED_CLASSES = (
    selectors.CategoryTree,
    selectors.ProductPage,
    selectors.Inventory,
    selectors.OfferingStock,
    selectors.ListingChoices,
    selectors.PropertyChoice,
    selectors.OptionChoice,
    selectors.OfferingChoice,
    selectors.FavoriteIds,
)


def _read_everything(*, product, user_id):
    return {
        "tree": selectors.get_category_tree(),
        "page": selectors.list_products_page(category_slug=product.category.slug),
        "inventory": selectors.get_inventory(product_id=product.pk),
        "choices": selectors.get_listing_choices(product=product),
        "favorites": selectors.get_favorite_ids(user_id=user_id),
    }


def test_records_cached_before_the_selectors_became_a_package_are_still_read(
    product, buyer, monkeypatch, django_assert_num_queries
):
    add_variations(product, {"Size": ["S", "M"]})
    FavoriteFactory(user=buyer, product=product)
    with monkeypatch.context() as patch:
        for cls in CACHED_CLASSES:
            patch.setattr(cls, "__module__", OLD_MODULE)  # the path the old records name
        built = _read_everything(product=product, user_id=buyer.pk)  # each built and cached as the old code did
    raw = caches["default"].client.get_client().get(cache.raw_key(cache.CATEGORY_TREE_KEY))
    assert OLD_MODULE.encode() in raw and b"catalog.selectors.categories" not in raw
    monkeypatch.setattr(selectors.categories, "_local_tree", None)  # a new process: the tree comes from Redis

    with django_assert_num_queries(0):  # every one read from its old record, none rebuilt
        read = _read_everything(product=product, user_id=buyer.pk)

    assert type(read["tree"]) is selectors.CategoryTree
    assert read["tree"].by_slug[product.category.slug].pk == product.category_id
    assert type(read["page"]) is selectors.ProductPage
    assert [p.pk for p in read["page"].products] == [product.pk]
    assert read["page"].signature() == built["page"].signature()
    assert type(read["inventory"]) is selectors.Inventory and read["inventory"] == built["inventory"]
    assert type(read["choices"]) is selectors.ListingChoices and read["choices"] == built["choices"]
    assert [o.value for o in read["choices"].properties[0].options] == ["S", "M"]
    assert type(read["choices"].offerings[0]) is selectors.OfferingChoice
    assert read["favorites"] == selectors.FavoriteIds(product_ids=frozenset({product.pk}), shop_ids=frozenset())


def test_records_cached_from_now_on_still_name_the_package_so_the_code_before_it_reads_them(product, buyer):
    """A worker still on the code before the split (a rolling deploy, a rollback) imports ``catalog.selectors``
    as a module: a record naming ``catalog.selectors.categories`` would fail to load there."""
    add_variations(product, {"Size": ["S", "M"]})
    FavoriteFactory(user=buyer, product=product)
    _read_everything(product=product, user_id=buyer.pk)
    client = caches["default"].client.get_client()
    written = [client.get(key) for key in client.keys(cache.raw_key("*"))]
    pickled = [raw for raw in written if raw and raw.startswith(b"\x80")]
    assert pickled and any(OLD_MODULE.encode() in raw for raw in pickled)
    assert not any(b"catalog.selectors." in raw for raw in pickled)
    assert all(cls.__module__ == OLD_MODULE for cls in CACHED_CLASSES)
