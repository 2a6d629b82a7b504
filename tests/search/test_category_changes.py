"""Renaming or moving a category: its listings are found by the new names, the tree stays whole."""

from unittest import mock

import pytest
from django.core.exceptions import ValidationError
from django.test import override_settings

from catalog.models import Category
from search import services, tasks
from search.selectors import search_products
from search.types import SearchParams
from tests.catalog.factories import CategoryFactory

pytestmark = pytest.mark.django_db


def _titles(q, **kwargs):
    return sorted(p.title for p in search_products(params=SearchParams(q=q, **kwargs)).hits)


@pytest.fixture
def tree():
    home = CategoryFactory(name="Home Living", slug="home")
    kitchen = CategoryFactory(name="Kitchen", slug="kitchen", parent=home)
    mugs = CategoryFactory(name="Drinkware", slug="drinkware", parent=kitchen)
    art = CategoryFactory(name="Wall art", slug="art")
    return {"home": home, "kitchen": kitchen, "mugs": mugs, "art": art}


def test_renamed_category_finds_its_listings_and_their_subcategories_by_the_new_name(
    tree, make_listing, django_capture_on_commit_callbacks
):
    make_listing("Speckled cup", category=tree["mugs"])
    make_listing("Walnut spoon", category=tree["kitchen"])
    make_listing("Bird print", category=tree["art"])
    assert _titles("scullery") == []

    with django_capture_on_commit_callbacks(execute=True):  # the task runs eagerly after the commit
        tree["kitchen"].name = "Scullery"
        tree["kitchen"].save()

    assert _titles("scullery") == ["Speckled cup", "Walnut spoon"]
    assert _titles("kitchen") == []


def test_moved_category_carries_its_subtree_and_listings_are_found_under_the_new_ancestor(
    tree, make_listing, django_capture_on_commit_callbacks
):
    cup = make_listing("Speckled cup", category=tree["mugs"])
    with django_capture_on_commit_callbacks(execute=True):
        tree["kitchen"].parent = tree["art"]
        tree["kitchen"].save()

    kitchen, mugs = Category.objects.get(pk=tree["kitchen"].pk), Category.objects.get(pk=tree["mugs"].pk)
    assert kitchen.path == f"/{tree['art'].pk}/{kitchen.pk}/"
    assert mugs.path == f"{kitchen.path}{mugs.pk}/"  # the grandchild moved too
    assert _titles("wall") == ["Speckled cup"]
    assert _titles("", category="art") == ["Speckled cup"]
    assert _titles("", category="home") == []
    assert cup.title in [p.title for p in search_products(params=SearchParams(q="cup", category="art")).hits]


def test_category_cannot_move_under_its_own_subcategory(tree):
    home = tree["home"]
    home.parent = tree["mugs"]
    with pytest.raises(ValidationError):
        home.full_clean()


@override_settings(ELASTICSEARCH_URL="http://es.invalid:9200")
def test_rename_reindexes_each_batch_in_elasticsearch_after_commit_and_other_edits_reindex_nothing(
    tree, make_listing, django_capture_on_commit_callbacks
):
    listings = [make_listing(f"Cup {i}", category=tree["mugs"]) for i in range(5)]
    with (
        mock.patch("search.indexing.index_products") as index,
        mock.patch.object(tasks.refresh_search_vocabulary, "apply_async"),
    ):
        with django_capture_on_commit_callbacks(execute=True):
            tree["kitchen"].description = "Pots, pans and cups."
            tree["kitchen"].position = 3
            tree["kitchen"].save()
        assert index.call_count == 0  # nothing a listing's search text holds changed

        with django_capture_on_commit_callbacks(execute=True):
            assert services.refresh_category_listings(category_id=tree["kitchen"].pk, batch_size=2) == 5
        assert [call.args[0] for call in index.call_args_list] == [
            [listings[0].pk, listings[1].pk],
            [listings[2].pk, listings[3].pk],
            [listings[4].pk],
        ]


def test_rename_schedules_one_refresh_after_commit_and_none_on_rollback(tree, django_capture_on_commit_callbacks):
    from django.db import transaction

    with mock.patch("search.services.refresh_category_listings") as refresh:
        with django_capture_on_commit_callbacks(execute=True):
            with pytest.raises(RuntimeError), transaction.atomic():
                tree["art"].name = "Prints"
                tree["art"].save()
                raise RuntimeError("abort")
        assert refresh.call_count == 0
        with django_capture_on_commit_callbacks(execute=True):
            tree["art"].name = "Prints"
            tree["art"].save()
            assert refresh.call_count == 0
        refresh.assert_called_once_with(category_id=tree["art"].pk)


def test_refresh_of_a_deleted_category_is_a_no_op():
    assert services.refresh_category_listings(category_id=987654) == 0


def test_category_rename_shows_on_its_cached_page_and_the_home_page(
    client, tree, make_listing, django_capture_on_commit_callbacks
):
    make_listing("Speckled cup", category=tree["mugs"])
    assert "Kitchen" in client.get("/c/drinkware/").content.decode()
    assert "Home Living" in client.get("/").content.decode()
    with django_capture_on_commit_callbacks(execute=True):
        tree["kitchen"].name = "Scullery"
        tree["kitchen"].save()
        tree["home"].name = "House and garden"
        tree["home"].save()
    page = client.get("/c/drinkware/").content.decode()
    assert "Scullery" in page and "Kitchen" not in page
    assert "House and garden" in client.get("/").content.decode()
