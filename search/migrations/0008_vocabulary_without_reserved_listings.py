"""Keep listings reserved for one buyer out of the spelling and suggestion vocabulary.

A custom piece's title ("Engraved ring for Sarah") must not be suggested to everybody. The view is 0006's, with
the reserved-listing condition added where it reads listings.
"""

import importlib

from django.db import migrations

_previous = importlib.import_module("search.migrations.0006_vocabulary_category_weight_shop_names")
_LISTINGS = "WHERE is_active AND quantity > 0"
assert _previous.VOCABULARY.count(_LISTINGS) == 2, "0006's view changed: update this migration"
VOCABULARY = _previous.VOCABULARY.replace(_LISTINGS, f"{_LISTINGS} AND reserved_for_id IS NULL")


class Migration(migrations.Migration):
    dependencies = [("search", "0007_keep_reserved_listings_out")]

    operations = [migrations.RunSQL(VOCABULARY, reverse_sql=_previous.VOCABULARY)]
