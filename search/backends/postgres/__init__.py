"""PostgreSQL full-text search: the default backend and the fallback behind Elasticsearch.

It reads ``search_listing`` (migration 0003): the buyable listings only, kept current by
triggers in the writing transaction, with the shop figures the boosts need. Every value from
the shopper is a bind parameter; a statement's shape depends only on how many term groups
the query has.

- ``plan``: what a query asks of a listing (concepts, tiers, named shops);
- ``scoring``: the ranking expressions (``search.ranking`` as SQL);
- ``statements``: the SQL of a search and of browsing without words;
- ``query``: ``search()``, which runs them and reads the answer;
- ``vocabulary``: the spelling vocabulary and word completion;
- ``counts``: the materialised per-category counts of browsing without words.
"""

from search.backends.postgres.counts import compact_category_counts
from search.backends.postgres.query import CANDIDATE_LIMIT, search
from search.backends.postgres.vocabulary import complete_word, refresh_vocabulary

__all__ = ["CANDIDATE_LIMIT", "compact_category_counts", "complete_word", "refresh_vocabulary", "search"]
