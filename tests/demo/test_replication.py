"""The SQL fast path to a 1M benchmark catalog (demo/replication.py) writes listings the app can serve."""

import pytest
from django.core.management import call_command
from django.db import connection
from django.db.models import F

from catalog.models import Offering, Product, ProductImage
from demo.replication import replicate_catalog
from search import caching
from search.selectors import search_products
from search.types import SearchParams


def _gin_indexes() -> set[str]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT indexname FROM pg_indexes WHERE tablename IN ('catalog_product', 'search_listing')"
            " AND indexdef LIKE '%% USING gin %%'"
        )
        return {name for (name,) in cursor.fetchall()}


def _searchable_ids() -> set[int]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT product_id FROM search_listing")
        return {pk for (pk,) in cursor.fetchall()}


@pytest.mark.django_db
def test_replicate_catalog_copies_listings_with_offerings_photos_and_search_rows(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    call_command("load_demo_catalog", products=60, shops=3, seed=11, verbosity=0)
    originals = list(Product.objects.order_by("pk").values_list("pk", "title", "search_vector", "quantity"))
    images = ProductImage.objects.count()
    indexes = _gin_indexes()
    steps = []

    added = replicate_catalog(copies=3, progress=lambda done, total: steps.append((done, total)))

    assert added == 120 and Product.objects.count() == 180
    assert steps and steps[-1][0] == steps[-1][1]
    # Every listing has its one implicit offering, at its own price and stock.
    assert not Product.objects.filter(offerings__isnull=True).exists()
    assert Offering.objects.count() == 180
    assert not Offering.objects.exclude(price=F("product__price"), quantity=F("product__quantity")).exists()
    assert ProductImage.objects.count() == 3 * images
    assert not ProductImage.objects.exclude(
        alt_text__in=ProductImage.objects.filter(product__in=[pk for pk, *_ in originals]).values("alt_text")
    ).exists()
    copies = Product.objects.exclude(pk__in=[pk for pk, *_ in originals])
    by_title = {}
    for title, vector in copies.values_list("title", "search_vector"):
        by_title.setdefault(title, set()).add(vector)
    for _, title, vector, _ in originals:
        assert by_title[title] == {vector}
    slugs = {slug for (slug,) in copies.values_list("slug")}
    assert all(slug.endswith(("-c2", "-c3")) for slug in slugs)
    # search_listing holds exactly the buyable listings, copies included.
    assert _searchable_ids() == set(Product.objects.purchasable().values_list("pk", flat=True))
    # The materialised per-category counts hold the copies, compacted to one row per key.
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT category_id, is_vintage, price_dollars, listings FROM search_category_count ORDER BY 1, 2, 3"
        )
        counted = cursor.fetchall()
        cursor.execute(
            "SELECT category_id, is_vintage, least(floor(price), 10000)::int, count(*) FROM search_listing"
            " GROUP BY 1, 2, 3 ORDER BY 1, 2, 3"
        )
        assert counted == cursor.fetchall()
    # The GIN indexes are back and the text trigger runs again.
    assert _gin_indexes() == indexes
    copy = copies.purchasable().first()
    copy.title = "Zanzibar quokka figurine"
    copy.save(update_fields=["title"])
    caching.bump_listings_version()
    assert [p.pk for p in search_products(params=SearchParams(q="quokka")).hits] == [copy.pk]
