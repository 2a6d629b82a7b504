"""Per-category order indexes of ``search_listing``: browsing one category reads its newest (or cheapest)
listings directly instead of walking the whole catalog's age index and skipping other categories.

(category_id, created_at DESC, product_id DESC) and (category_id, price, product_id) start with the
column of the old ``search_listing_category`` index, which they replace. Built concurrently: a live
catalog keeps its writes meanwhile.
"""

from django.db import migrations


class Migration(migrations.Migration):
    atomic = False

    dependencies = [("search", "0011_category_counts")]

    operations = [
        migrations.RunSQL(
            "CREATE INDEX CONCURRENTLY IF NOT EXISTS search_listing_category_created"
            " ON search_listing (category_id, created_at DESC, product_id DESC);",
            reverse_sql="DROP INDEX CONCURRENTLY IF EXISTS search_listing_category_created;",
        ),
        migrations.RunSQL(
            "CREATE INDEX CONCURRENTLY IF NOT EXISTS search_listing_category_price"
            " ON search_listing (category_id, price, product_id);",
            reverse_sql="DROP INDEX CONCURRENTLY IF EXISTS search_listing_category_price;",
        ),
        migrations.RunSQL(
            "DROP INDEX CONCURRENTLY IF EXISTS search_listing_category;",
            reverse_sql="CREATE INDEX CONCURRENTLY IF NOT EXISTS search_listing_category"
            " ON search_listing (category_id);",
        ),
        migrations.RunSQL("ANALYZE search_listing;", reverse_sql=migrations.RunSQL.noop),
    ]
