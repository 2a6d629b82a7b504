"""A text index of the vintage listings only, for queries that ask for the vintage flag.

"retro table lamp" or "vintage leather backpack" match text AND ``is_vintage`` (the qualifier is an
attribute, search/README.md). The full text index cannot answer the flag, so every text match was
read from the table and most were thrown away (about four in five listings are not vintage). This
partial index holds only the vintage listings' vectors: the planner uses it whenever the statement
says ``p.is_vintage``, and the table is read only for listings that match both. About a fifth of
the size of ``search_listing_vector``.
"""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("search", "0008_vocabulary_without_reserved_listings")]

    operations = [
        migrations.RunSQL(
            "CREATE INDEX search_listing_vintage_vector ON search_listing USING gin (search_vector)"
            " WITH (fastupdate = off) WHERE is_vintage;"
            "ANALYZE search_listing;",
            reverse_sql="DROP INDEX IF EXISTS search_listing_vintage_vector;",
        )
    ]
