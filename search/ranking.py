"""The ranking rules both backends apply (the design document's function-score boosts).

score = text relevance x (1 + rating boost + sales boost + recency boost), where
  rating boost  = RATING_WEIGHT  x sqrt(1.5 x shop rating)          (missing rating: 3.0)
  sales boost   = SALES_WEIGHT   x log1p(1.2 x shop sales count)    (missing: 0)
  recency boost = RECENCY_WEIGHT x gauss(created_at; origin now, scale 30 days, decay 0.5)
The boosts are summed (Elasticsearch ``score_mode: sum`` with a constant ``weight: 1``
function) and multiply the text score (``boost_mode: multiply``); a product with
``log1p`` alone would zero every listing of a shop without sales. The weights keep
text relevance first: the largest boost total is about x2, while a title match
outranks a description-only match by far more.
"""

RATING_FACTOR = 1.5
RATING_MISSING = 3.0
SALES_FACTOR = 1.2
SALES_MISSING = 0
RECENCY_SCALE_DAYS = 30
RECENCY_DECAY = 0.5

RATING_WEIGHT = 0.2
SALES_WEIGHT = 0.05
RECENCY_WEIGHT = 0.3

# PostgreSQL ts_rank weights for {D, C, B, A}: A title, B tags and vintage flag,
# C description, D category names: a listing filed under "Mugs & Cups" is a mug more surely
# than one whose description mentions mugs (Elasticsearch: search.backends.elasticsearch.TEXT_FIELDS).
TS_RANK_WEIGHTS = (0.4, 0.2, 0.5, 1.0)
