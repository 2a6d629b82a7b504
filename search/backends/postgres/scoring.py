"""The ranking expressions of the PostgreSQL backend: ``search.ranking``'s rules as SQL over ``search_listing p``."""

from __future__ import annotations

import math

from search import ranking

# Bonus (relative to one concept) for using the shopper's own words rather than a synonym.
EXACT_WORDS_WEIGHT = 0.5
# Listings of a shop the query names have no text score of their own to order them by.
NAMED_SHOP_RANK = 0.1

# float8 throughout: numeric ln/power are orders of magnitude slower per row.
_RATING = (
    f"{float(ranking.RATING_FACTOR)}::float8 * coalesce(p.shop_rating::float8, {float(ranking.RATING_MISSING)}::float8)"
)
_SALES = f"{float(ranking.SALES_FACTOR)}::float8 * coalesce(p.shop_sales_count, {int(ranking.SALES_MISSING)})::float8"
_AGE = f"date_part('epoch', now() - p.created_at) / {float(ranking.RECENCY_SCALE_DAYS * 86400)}::float8"
BOOST_SQL = (
    f"(1 + {float(ranking.RATING_WEIGHT)}::float8 * sqrt({_RATING})"
    f" + {float(ranking.SALES_WEIGHT)}::float8 * ln(1 + {_SALES})"
    # The exponent is floored: exp() of a very old listing would underflow (an error, not zero).
    f" + {float(ranking.RECENCY_WEIGHT)}::float8 * exp(greatest(-60::float8,"
    f" {math.log(ranking.RECENCY_DECAY)}::float8 * power({_AGE}, 2))))"
)

TS_WEIGHTS = "'{{{}}}'::float4[]".format(",".join(str(float(w)) for w in ranking.TS_RANK_WEIGHTS))
