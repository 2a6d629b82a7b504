from decimal import Decimal

import pytest
from django.core.cache import caches
from django.utils import timezone

from catalog import selectors
from catalog.exceptions import CategoryNotFound, ProductNotFound
from etsy import cache, near_cache
from tests.cart.factories import CartItemFactory
from tests.catalog.factories import CategoryFactory, FavoriteFactory, ProductFactory
from tests.shops.factories import ShopFactory
from tests.worker import run_in_another_process

pytestmark = pytest.mark.django_db


@pytest.fixture
def tree():
    home = CategoryFactory(name="Home", slug="home")
    kitchen = CategoryFactory(name="Kitchen", slug="kitchen", parent=home)
    mugs = CategoryFactory(name="Mugs", slug="mugs", parent=kitchen)
    art = CategoryFactory(name="Art", slug="art")
    return {"home": home, "kitchen": kitchen, "mugs": mugs, "art": art}


def test_list_categories_tree_nests_children_in_one_query(tree, django_assert_num_queries):
    with django_assert_num_queries(1):
        roots = selectors.list_categories_tree()
        names = [(r.name, [c.name for c in r.tree_children]) for r in roots]
    assert ("Home", ["Kitchen"]) in names
    assert ("Art", []) in names
    with django_assert_num_queries(0):  # cached
        selectors.list_categories_tree()


def test_a_process_reuses_its_tree_while_redis_names_the_same_build(tree, django_assert_num_queries):
    first = selectors.get_category_tree()
    with django_assert_num_queries(0):
        assert selectors.get_category_tree() is first  # no database, and no tree read from Redis again


def test_a_tree_rebuilt_elsewhere_replaces_the_process_copy(tree):
    before = selectors.get_category_tree()
    # Another process renamed a category: its receiver dropped the tree and its build id.
    type(tree["art"]).objects.filter(pk=tree["art"].pk).update(name="Fine Art")
    cache.delete(cache.CATEGORY_TREE_KEY, cache.CATEGORY_TREE_BUILD_KEY)
    after = selectors.get_category_tree()
    assert after is not before and after.by_id[tree["art"].pk].name == "Fine Art"
    # Another process built the next tree first: this one takes that build, not its own.
    type(tree["art"]).objects.filter(pk=tree["art"].pk).update(name="Art")
    cache.delete(cache.CATEGORY_TREE_KEY, cache.CATEGORY_TREE_BUILD_KEY)
    elsewhere = selectors.categories._build_category_tree()
    caches["default"].set(cache.CATEGORY_TREE_KEY, elsewhere, 60)
    assert selectors.get_category_tree().build_id == elsewhere.build_id


def test_a_flushed_cache_is_never_answered_from_the_process_copy(tree):
    selectors.get_category_tree()
    tree["art"].delete()
    caches["strict"].delete_pattern("*")  # a flush: no build id, no tree
    assert near_cache.sync()  # Redis's invalidation messages have reached this process
    assert tree["art"].pk not in selectors.get_category_tree().by_id


def test_a_warm_process_checks_its_tree_without_a_round_trip(tree, redis_round_trips):
    """The build id is near-cached: a category page's several tree reads cost no Redis round trip."""
    assert near_cache.get() is not None and near_cache.sync()
    first = selectors.get_category_tree()
    selectors.get_category_tree()  # keeps the build id read from Redis
    redis_round_trips.clear()
    assert selectors.get_category_tree() is first
    assert redis_round_trips == []


@pytest.mark.django_db(transaction=True)
def test_a_tree_dropped_by_another_process_is_not_reused_here(tree):
    """Another process's rename drops the build id in Redis; Redis tells this process, which rebuilds."""
    before = selectors.get_category_tree()
    selectors.get_category_tree()
    run_in_another_process(
        "from catalog.models import Category; c = Category.objects.get(slug='art'); c.name = 'Fine Art'; c.save()"
    )
    assert near_cache.sync()
    after = selectors.get_category_tree()
    assert after is not before and after.by_slug["art"].name == "Fine Art"


def test_renaming_a_category_reaches_the_tree_at_once(tree, django_capture_on_commit_callbacks):
    selectors.get_category_tree()
    with django_capture_on_commit_callbacks(execute=True):
        tree["mugs"].name = "Cups & Mugs"
        tree["mugs"].save()
    assert selectors.get_category(slug="mugs").name == "Cups & Mugs"


def test_get_category_raises_for_unknown_slug(tree):
    assert selectors.get_category(slug="mugs").name == "Mugs"
    with pytest.raises(CategoryNotFound):
        selectors.get_category(slug="nope")


def test_list_products_includes_subcategories_and_hides_sold_out_and_inactive(tree, shop):
    mug = ProductFactory(shop=shop, category=tree["mugs"])
    ProductFactory(shop=shop, category=tree["mugs"], quantity=0)
    ProductFactory(shop=shop, category=tree["mugs"], is_active=False)
    ProductFactory(shop=shop, category=tree["art"])
    assert list(selectors.list_products(category_slug="home")) == [mug]


def test_list_products_filters_and_orders(tree, shop):
    cheap = ProductFactory(shop=shop, category=tree["art"], price=Decimal("10"))
    mid = ProductFactory(shop=shop, category=tree["art"], price=Decimal("30"), is_vintage=True)
    dear = ProductFactory(shop=shop, category=tree["art"], price=Decimal("120"))
    assert list(selectors.list_products(category_slug="art", ordering="price_asc")) == [cheap, mid, dear]
    assert list(selectors.list_products(category_slug="art", ordering="price_desc")) == [dear, mid, cheap]
    assert list(selectors.list_products(price_min=Decimal("25"), price_max=Decimal("50"))) == [mid]
    assert list(selectors.list_products(vintage=True)) == [mid]
    assert list(selectors.list_products(ordering="bogus", category_slug="art")) == [dear, mid, cheap]


@pytest.mark.parametrize("ordering", ["newest", "price_asc", "price_desc"])
def test_a_newest_or_price_sorted_page_of_a_category_with_subcategories_merges_them_in_the_listing_order(
    tree, shop, ordering, django_assert_num_queries
):
    closed = ShopFactory(is_active=False)
    prices = {"home": ["15", "40", "40"], "kitchen": ["5", "40", "90"], "mugs": ["1", "20", "40", "60"]}
    for slug, amounts in prices.items():
        for amount in amounts:
            ProductFactory(shop=shop, category=tree[slug], price=Decimal(amount))
    ProductFactory(shop=shop, category=tree["mugs"], price=Decimal("2"), quantity=0)  # sold out
    ProductFactory(shop=closed, category=tree["kitchen"], price=Decimal("3"))  # a closed shop's
    ProductFactory(shop=shop, category=tree["art"], price=Decimal("4"))  # another category's
    expected = [p.pk for p in selectors.list_products(category_slug="home", ordering=ordering)]
    assert len(expected) == 10
    selectors.list_products_page(category_slug="home", ordering=ordering, page=1, per_page=4)  # the count, cached
    pages = []
    for number in range(1, 5):
        with django_assert_num_queries(3):  # the page's ids merged from each subcategory, their cards, the images
            page = selectors.list_products_page(category_slug="home", ordering=ordering, page=number, per_page=3)
        pages += [p.pk for p in page.products]
        assert all(p.shop.name for p in page.products)  # whole cards
    assert pages == expected


def test_list_category_ids_names_a_category_and_everything_below_it(tree):
    home = selectors.get_category(slug="home")
    assert selectors.list_category_ids(category=home) == sorted([tree["home"].pk, tree["kitchen"].pk, tree["mugs"].pk])
    assert selectors.list_category_ids(category=selectors.get_category(slug="art")) == [tree["art"].pk]


def test_list_products_page_paginates_and_caches(tree, shop, django_assert_num_queries):
    for _ in range(5):
        ProductFactory(shop=shop, category=tree["art"])
    page = selectors.list_products_page(category_slug="art", page=2, per_page=2)
    assert (page.total, page.pages, len(page.products), page.has_next, page.has_previous) == (5, 3, 2, True, True)
    with django_assert_num_queries(0):
        again = selectors.list_products_page(category_slug="art", page=2, per_page=2)
        assert [p.pk for p in again.products] == [p.pk for p in page.products]
        assert again.products[0].shop.name == shop.name  # loaded with the card


def test_a_listing_counts_up_to_the_cap_and_says_so(tree, shop, monkeypatch):
    monkeypatch.setattr(selectors.listings, "COUNT_CAP", 4)  # where ProductPage reads it
    for _ in range(6):
        ProductFactory(shop=shop, category=tree["art"])
    page = selectors.list_products_page(category_slug="art", page=1, per_page=2)
    assert (page.total, page.is_total_capped, page.shown_total, page.pages) == (5, True, "4+", 2)
    ProductFactory(shop=shop, category=tree["mugs"])
    small = selectors.list_products_page(category_slug="home", page=1, per_page=2)
    assert (small.total, small.is_total_capped, small.shown_total, small.pages) == (1, False, "1", 1)


def test_every_sort_and_page_of_a_listing_shares_one_count(tree, shop, django_assert_num_queries):
    for _ in range(3):
        ProductFactory(shop=shop, category=tree["art"])
    selectors.list_products_page(category_slug="art", page=1, per_page=2, ordering="newest")
    with django_assert_num_queries(2):  # the page's rows and their images: no count
        page = selectors.list_products_page(category_slug="art", page=2, per_page=2, ordering="price_asc")
    assert page.total == 3


def test_get_product_detail_returns_sold_out_but_not_inactive(shop, category):
    sold = ProductFactory(shop=shop, category=category, quantity=0)
    hidden = ProductFactory(shop=shop, category=category, is_active=False)
    assert selectors.get_product_detail(product_id=sold.pk) == sold
    with pytest.raises(ProductNotFound):
        selectors.get_product_detail(product_id=hidden.pk)
    with pytest.raises(ProductNotFound):
        selectors.get_product_detail(product_id=999999)


def test_get_product_detail_hides_products_of_inactive_shops(category):
    closed = ShopFactory(is_active=False)
    product = ProductFactory(shop=closed, category=category)
    with pytest.raises(ProductNotFound):
        selectors.get_product_detail(product_id=product.pk)


def test_get_inventory_reports_another_buyers_hold(product, buyer, other_buyer):
    CartItemFactory(user=other_buyer, product=product, reserved_until=timezone.now() + timezone.timedelta(minutes=10))
    inventory = selectors.get_inventory(product_id=product.pk)
    assert inventory.quantity == 1
    assert inventory.is_reserved_for_other(buyer.pk)
    assert not inventory.is_reserved_for_other(other_buyer.pk)
    assert inventory.is_held_by(other_buyer.pk)
    assert not inventory.is_held_by(buyer.pk) and not inventory.is_held_by(None)


def test_a_hold_that_ran_out_while_its_stock_entry_was_cached_is_held_by_nobody(other_buyer):
    cached = selectors.Inventory(
        quantity=1, reserved_by_user_id=other_buyer.pk, reserved_until=timezone.now() - timezone.timedelta(seconds=1)
    )
    assert not cached.is_held_by(other_buyer.pk) and not cached.is_reserved_for_other(None)


def test_list_similar_products_spreads_across_shops_and_puts_the_maker_first_when_asked(category):
    maker = ShopFactory()
    sold = ProductFactory(shop=maker, category=category, quantity=0, tags=["blue", "mug"])
    own = ProductFactory(shop=maker, category=category, tags=["blue"])
    crowd = ShopFactory()
    crowd_items = [ProductFactory(shop=crowd, category=category, tags=["blue"]) for _ in range(4)]
    others = [ProductFactory(category=category, tags=["mug"]) for _ in range(3)]
    similar = selectors.list_similar_products(product=sold, limit=4, same_shop_first=True)
    assert similar[0] == own
    assert sum(1 for p in similar if p.shop_id == crowd.pk) <= 2
    assert sold not in similar
    plain = selectors.list_similar_products(product=sold, limit=8)
    assert set(others) <= set(plain)
    assert len([p for p in plain if p in crowd_items]) >= 2


def test_similar_items_leave_out_a_piece_sold_after_the_list_was_cached(category, django_capture_on_commit_callbacks):
    product = ProductFactory(category=category, tags=["blue"])
    others = [ProductFactory(category=category, tags=["blue"]) for _ in range(3)]
    assert set(selectors.list_similar_products(product=product, limit=8)) == set(others)
    with django_capture_on_commit_callbacks(execute=True):  # sold: the stock changes, receivers run on commit
        others[0].quantity = 0
        others[0].save()
    assert cache.get_many([cache.similar_key(product.pk)])  # the id list is still cached (15 minutes)
    assert set(selectors.list_similar_products(product=product, limit=8)) == set(others[1:])


def test_a_closed_shop_leaves_similar_items_at_once(category, django_capture_on_commit_callbacks):
    product = ProductFactory(category=category, tags=["blue"])
    closing = ShopFactory()
    theirs = ProductFactory(category=category, shop=closing, tags=["blue"])
    other = ProductFactory(category=category, tags=["blue"])
    assert set(selectors.list_similar_products(product=product, limit=8)) == {theirs, other}  # cards now cached
    with django_capture_on_commit_callbacks(execute=True):
        closing.is_active = False
        closing.save()
    assert selectors.list_similar_products(product=product, limit=8) == [other]
    assert selectors.list_products_by_ids(product_ids=[theirs.pk, other.pk]) == [other]


def test_similar_items_are_read_from_the_product_cache(category, django_assert_num_queries):
    product = ProductFactory(category=category, tags=["blue"])
    others = [ProductFactory(category=category, tags=["blue"]) for _ in range(4)]
    selectors.list_similar_products(product=product, limit=8)
    for other in others:
        assert cache.get_many([cache.product_key(other.pk)])
    with django_assert_num_queries(0):
        assert len(selectors.list_similar_products(product=product, limit=8)) == 4


def test_get_favorite_ids_lists_products_and_shops(buyer, product, shop):
    FavoriteFactory(user=buyer, product=product)
    FavoriteFactory(user=buyer, kind="shop", product=None, shop=shop)
    ids = selectors.get_favorite_ids(user_id=buyer.pk)
    assert ids.product_ids == {product.pk}
    assert ids.shop_ids == {shop.pk}


def test_list_favorites_has_no_n_plus_one(buyer, category, django_assert_num_queries):
    for _ in range(4):
        FavoriteFactory(user=buyer, product=ProductFactory(category=category))
    with django_assert_num_queries(2):
        rows = list(selectors.list_favorites(user=buyer))
        assert all(f.product.shop.name for f in rows)
        assert all(list(f.product.images.all()) == [] for f in rows)
