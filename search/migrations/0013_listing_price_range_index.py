from django.db import migrations

SQL = "CREATE INDEX IF NOT EXISTS search_listing_with_offer_prices ON search_listing (category_id) WHERE offer_prices IS NOT NULL;"
REVERSE = "DROP INDEX IF EXISTS search_listing_with_offer_prices;"


class Migration(migrations.Migration):
    """The few listings whose offerings differ in price, by category: a browse counted from the materialised
    counts adds their other price ranges from this index instead of reading the whole catalog."""

    dependencies = [("search", "0012_category_order_indexes")]

    operations = [migrations.RunSQL(SQL, reverse_sql=REVERSE)]
