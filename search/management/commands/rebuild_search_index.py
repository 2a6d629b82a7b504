"""Rebuild the Elasticsearch product index with no moment without search (``make search-rebuild``).

Fills a new versioned index (``<ELASTICSEARCH_INDEX>-<timestamp>``) with ELASTICSEARCH_SHARDS
shards, turns on ELASTICSEARCH_REPLICAS replicas, then moves the ``ELASTICSEARCH_INDEX`` alias
to it in one atomic request and deletes the old index (``--keep-old`` keeps it for a rollback).
"""

from __future__ import annotations

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from search.backends import elasticsearch as es_backend


class Command(BaseCommand):
    help = "Fill a new versioned product index and swap the search alias to it atomically."

    def add_arguments(self, parser):
        parser.add_argument("--keep-old", action="store_true", help="keep the previous index (for a rollback)")
        parser.add_argument("--batch-size", type=int, default=1000)

    def handle(self, *args, keep_old: bool, batch_size: int, **options):
        if not settings.ELASTICSEARCH_URL:
            raise CommandError("ELASTICSEARCH_URL is not set: search answers from PostgreSQL, no index to rebuild.")
        new_index = es_backend.rebuild_index(keep_old=keep_old, batch_size=batch_size)
        self.stdout.write(f"alias {settings.ELASTICSEARCH_INDEX} -> {new_index}")
