"""Materialised per-category counts of the searchable listings, for browsing without words.

``/search/?category=jewelry`` counted every listing of the filter for its total and facets
(a third of a million rows at 1M listings). ``search_category_count`` holds how many buyable
listings each (category, vintage flag, whole-dollar price) has, so the total, the category facet
and the price facet of a browse are sums over a few thousand rows. Whole dollars (capped at
10,000) answer every price range whose bounds are whole dollars (search.types.PRICE_RANGES),
without the ranges being written here.

Writes never wait on each other for it: the triggers of ``search_listing`` only append signed
deltas (one row per key a statement changes: +n for listings that became searchable, -n for
those that left), with no unique key to lock. A reader sums the rows of its keys;
``compact_category_counts`` (a beat task, and after bulk loads) folds the deltas into one row
per key in one statement.
"""

from django.db import migrations

SQL = """
CREATE TABLE search_category_count (
    category_id bigint NOT NULL,
    is_vintage boolean NOT NULL,
    price_dollars integer NOT NULL,
    listings integer NOT NULL
);
CREATE INDEX search_category_count_key ON search_category_count (category_id, is_vintage, price_dollars);

CREATE FUNCTION search_category_count_added() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO search_category_count (category_id, is_vintage, price_dollars, listings)
    SELECT category_id, is_vintage, least(floor(price), 10000)::int, count(*)
      FROM added GROUP BY 1, 2, 3;
    RETURN NULL;
END
$$;

CREATE FUNCTION search_category_count_removed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO search_category_count (category_id, is_vintage, price_dollars, listings)
    SELECT category_id, is_vintage, least(floor(price), 10000)::int, -count(*)
      FROM removed GROUP BY 1, 2, 3;
    RETURN NULL;
END
$$;

CREATE FUNCTION search_category_count_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO search_category_count (category_id, is_vintage, price_dollars, listings)
    SELECT category_id, is_vintage, dollars, sum(n)
      FROM (SELECT category_id, is_vintage, least(floor(price), 10000)::int AS dollars, 1 AS n FROM added
            UNION ALL
            SELECT category_id, is_vintage, least(floor(price), 10000)::int, -1 FROM removed) d
     GROUP BY 1, 2, 3
    HAVING sum(n) <> 0;
    RETURN NULL;
END
$$;

CREATE FUNCTION search_category_count_truncated() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    TRUNCATE search_category_count;
    RETURN NULL;
END
$$;

CREATE TRIGGER search_category_count_insert AFTER INSERT ON search_listing
    REFERENCING NEW TABLE AS added FOR EACH STATEMENT EXECUTE FUNCTION search_category_count_added();
CREATE TRIGGER search_category_count_delete AFTER DELETE ON search_listing
    REFERENCING OLD TABLE AS removed FOR EACH STATEMENT EXECUTE FUNCTION search_category_count_removed();
CREATE TRIGGER search_category_count_update AFTER UPDATE ON search_listing
    REFERENCING OLD TABLE AS removed NEW TABLE AS added
    FOR EACH STATEMENT EXECUTE FUNCTION search_category_count_changed();
CREATE TRIGGER search_category_count_truncate AFTER TRUNCATE ON search_listing
    FOR EACH STATEMENT EXECUTE FUNCTION search_category_count_truncated();

INSERT INTO search_category_count (category_id, is_vintage, price_dollars, listings)
SELECT category_id, is_vintage, least(floor(price), 10000)::int, count(*) FROM search_listing GROUP BY 1, 2, 3;
ANALYZE search_category_count;
"""

REVERSE = """
DROP TRIGGER IF EXISTS search_category_count_insert ON search_listing;
DROP TRIGGER IF EXISTS search_category_count_delete ON search_listing;
DROP TRIGGER IF EXISTS search_category_count_update ON search_listing;
DROP TRIGGER IF EXISTS search_category_count_truncate ON search_listing;
DROP FUNCTION IF EXISTS search_category_count_added();
DROP FUNCTION IF EXISTS search_category_count_removed();
DROP FUNCTION IF EXISTS search_category_count_changed();
DROP FUNCTION IF EXISTS search_category_count_truncated();
DROP TABLE IF EXISTS search_category_count;
"""


class Migration(migrations.Migration):
    dependencies = [("search", "0010_listing_options")]

    operations = [migrations.RunSQL(SQL, reverse_sql=REVERSE)]
