"""The Elasticsearch index behind its alias, without a cluster: shard settings, the rebuild's calls and bodies."""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
from decimal import Decimal

import elasticsearch.helpers
import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone
from elasticsearch.exceptions import NotFoundError

from catalog.models import Product
from search.backends import elasticsearch as es_backend
from search.documents import ProductDocument
from tests.catalog.factories import ProductFactory


class RecordingIndices:
    def __init__(self, aliases: dict[str, list[str]], concrete: set[str]):
        self.calls: list[tuple[str, dict]] = []
        self.aliases = aliases
        self.concrete = concrete

    def __getattr__(self, name):
        def call(**kwargs):
            self.calls.append((name, kwargs))
            if name == "get_alias":
                holders = [index for index, names in self.aliases.items() if kwargs["name"] in names]
                if not holders:
                    raise NotFoundError("alias missing", meta=None, body={})
                return {index: {"aliases": {kwargs["name"]: {}}} for index in holders}
            if name == "exists":
                return kwargs["index"] in self.concrete
            return {"acknowledged": True}

        return call

    def names(self) -> list[str]:
        return [name for name, _ in self.calls]

    def kwargs_of(self, name: str) -> dict:
        return next(kwargs for called, kwargs in self.calls if called == name)


class RecordingClient:
    def __init__(self, aliases=None, concrete=()):
        self.indices = RecordingIndices(aliases or {}, set(concrete))


@pytest.fixture
def bulk_calls(monkeypatch):
    calls = []

    def fake_bulk(client, actions, **kwargs):
        calls.append(list(actions))
        return len(calls[-1]), []

    monkeypatch.setattr(elasticsearch.helpers, "bulk", fake_bulk)
    return calls


def test_index_settings_take_shards_and_replicas_from_settings():
    index_settings = ProductDocument._index.to_dict()["settings"]
    # Development profile: one node (the production profile's defaults are 3 and 1).
    assert index_settings["number_of_shards"] == 1
    assert index_settings["number_of_replicas"] == 0


def test_production_profile_defaults_to_three_shards_and_one_replica():
    code = "from django.conf import settings as s; print(s.ELASTICSEARCH_SHARDS, s.ELASTICSEARCH_REPLICAS)"
    env = {
        "ETSY_ENV": "production",
        "SECRET_KEY": "test-only-" + "x" * 50,
        "ALLOWED_HOSTS": "example.com",
        "DJANGO_SETTINGS_MODULE": "etsy.settings",
    }
    out = subprocess.run(
        [sys.executable, "-c", f"import django; django.setup(); {code}"],
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    assert out == ["3", "1"]


def test_new_index_body_has_the_mapping_and_is_filled_without_replicas_or_refresh():
    body = es_backend.index_body(shards=3)
    assert body["settings"]["number_of_shards"] == 3
    assert body["settings"]["number_of_replicas"] == 0
    assert body["settings"]["refresh_interval"] == "-1"
    assert "etsy_analyzer" in body["settings"]["analysis"]["analyzer"]
    assert body["mappings"] == ProductDocument._index.to_dict()["mappings"]


def test_versioned_index_names_sort_by_build_time():
    first = es_backend.versioned_index_name("products", now=dt.datetime(2026, 1, 2, 3, 4, 5, tzinfo=dt.UTC))
    later = es_backend.versioned_index_name("products", now=dt.datetime(2026, 1, 2, 3, 4, 6, tzinfo=dt.UTC))
    assert first.startswith("products-20260102030405")
    assert first < later


def test_alias_swap_is_one_request_removing_old_and_adding_new():
    actions = es_backend.alias_swap_actions(
        alias="products", new_index="products-2", current=["products-1"], alias_is_index=False
    )
    assert actions == [
        {"remove": {"index": "products-1", "alias": "products"}},
        {"add": {"index": "products-2", "alias": "products", "is_write_index": True}},
    ]


def test_alias_swap_replaces_a_concrete_index_of_the_alias_name_atomically():
    actions = es_backend.alias_swap_actions(alias="products", new_index="products-2", current=[], alias_is_index=True)
    assert actions == [
        {"add": {"index": "products-2", "alias": "products"}},
        {"remove_index": {"index": "products"}},
    ]


@pytest.mark.django_db
def test_rebuild_fills_a_new_index_then_swaps_the_alias_then_drops_the_old(settings, monkeypatch):
    bulk_calls = []
    settings.ELASTICSEARCH_INDEX = "products"
    settings.ELASTICSEARCH_SHARDS = 3
    settings.ELASTICSEARCH_REPLICAS = 1
    product = ProductFactory(title="Walnut serving board", price=Decimal("45.00"))
    edited_meanwhile = ProductFactory(title="Oak spoon")
    client = RecordingClient(aliases={"products-20260101000000000000": ["products"]})

    def fill_while_a_seller_edits(client, actions, **kwargs):
        bulk_calls.append(list(actions))
        if len(bulk_calls) == 1:
            Product.objects.filter(pk=edited_meanwhile.pk).update(title="Oak spoon, oiled", updated_at=timezone.now())
        return len(bulk_calls[-1]), []

    monkeypatch.setattr(elasticsearch.helpers, "bulk", fill_while_a_seller_edits)
    new_index = es_backend.rebuild_index(client=client)

    indices = client.indices
    assert new_index.startswith("products-") and new_index != "products-20260101000000000000"
    assert indices.names() == ["create", "put_settings", "refresh", "get_alias", "update_aliases", "delete"]
    create = indices.kwargs_of("create")
    assert create["index"] == new_index
    assert create["settings"]["number_of_shards"] == 3
    assert indices.kwargs_of("put_settings") == {
        "index": new_index,
        "settings": {"index": {"number_of_replicas": 1, "refresh_interval": None}},
    }
    # Filled before the swap: every document went to the new index, none through the alias.
    filled = bulk_calls[0]
    assert [(a["_index"], a["_id"]) for a in filled] == [(new_index, product.pk), (new_index, edited_meanwhile.pk)]
    assert filled[0]["_source"]["title"] == "Walnut serving board"
    assert indices.kwargs_of("update_aliases") == {
        "actions": [
            {"remove": {"index": "products-20260101000000000000", "alias": "products"}},
            {"add": {"index": new_index, "alias": "products", "is_write_index": True}},
        ]
    }
    assert indices.kwargs_of("delete") == {"index": "products-20260101000000000000", "ignore_unavailable": True}
    # A listing edited during the fill is indexed again after the swap, with its new text.
    assert [(a["_index"], a["_id"]) for a in bulk_calls[1]] == [(new_index, edited_meanwhile.pk)]
    assert bulk_calls[1][0]["_source"]["title"] == "Oak spoon, oiled"


@pytest.mark.django_db
def test_rebuild_keep_old_leaves_the_previous_index_for_a_rollback(settings, bulk_calls):
    settings.ELASTICSEARCH_INDEX = "products"
    client = RecordingClient(aliases={"products-1": ["products"]})
    es_backend.rebuild_index(client=client, keep_old=True)
    assert "delete" not in client.indices.names()


@pytest.mark.django_db
def test_first_rebuild_turns_a_plain_index_into_an_alias(settings, bulk_calls):
    settings.ELASTICSEARCH_INDEX = "products"
    client = RecordingClient(concrete={"products"})
    new_index = es_backend.rebuild_index(client=client)
    assert client.indices.kwargs_of("update_aliases")["actions"] == [
        {"add": {"index": new_index, "alias": "products"}},
        {"remove_index": {"index": "products"}},
    ]


@pytest.mark.django_db
def test_rebuild_that_fails_while_filling_leaves_the_alias_alone(settings, monkeypatch):
    settings.ELASTICSEARCH_INDEX = "products"
    ProductFactory()

    def failing_bulk(client, actions, **kwargs):
        list(actions)
        raise elasticsearch.helpers.BulkIndexError("1 document(s) failed to index.", [])

    monkeypatch.setattr(elasticsearch.helpers, "bulk", failing_bulk)
    client = RecordingClient(aliases={"products-1": ["products"]})
    with pytest.raises(elasticsearch.helpers.BulkIndexError):
        es_backend.rebuild_index(client=client)
    assert "update_aliases" not in client.indices.names()


def test_command_refuses_without_elasticsearch(settings):
    settings.ELASTICSEARCH_URL = ""
    with pytest.raises(CommandError, match="ELASTICSEARCH_URL"):
        call_command("rebuild_search_index")
