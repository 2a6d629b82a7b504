"""Variation options in search: searchable words, facet keys and offering prices (issue 22).

- The listing's vector gains its variation properties' names and options' values at weight C
  ("size 8 ring", "emerald green scarf"); the spelling vocabulary reads them too, so an option's
  word is never "corrected" away.
- ``search_listing`` gains two columns, both NULL for a listing without variations (every listing
  when this runs: adding them rewrites no row):
  ``offer_prices``, the distinct prices of the switched-on offerings in stock when there are two or
  more (NULL: the listing has the one price ``price``); ``options``, the facet keys of those
  offerings (search/options.py: ``size:8``, ``colour:green``, and ``colour:green<US>size:8`` for an
  offering with both).
- Triggers keep them current in the writing transaction, like the rest of the table: the product
  trigger computes them (one index probe on ``catalog_variation`` for a plain listing); an offering
  written without a change to its listing's totals (a swap of stock between sizes, a switched-off
  sold-out offering) updates them directly; a property or option renamed, added or removed
  rewrites its listing's vector (which re-syncs the row).
- A partial GIN index on ``options`` for the option filters, and a partial index of the listings
  with options, so that browsing counts their keys without reading every listing.
"""

from importlib import import_module

from django.db import migrations

_reserved = import_module("search.migrations.0007_keep_reserved_listings_out")
_vocabulary = import_module("search.migrations.0008_vocabulary_without_reserved_listings")
_fulltext = import_module("search.migrations.0001_fulltext_search")

# search/options.py OPTION_FACETS and normalize_option_value, as SQL (tests check they agree).
HELPERS = r"""
CREATE FUNCTION search_option_value(value text) RETURNS text LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT lower(btrim(regexp_replace(regexp_replace(value, '[[:cntrl:]]', '', 'g'), '\s+', ' ', 'g')))
$$;

CREATE FUNCTION search_option_facet(name text) RETURNS text LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT CASE search_option_value(name)
        WHEN 'colour' THEN 'colour' WHEN 'colours' THEN 'colour' WHEN 'color' THEN 'colour' WHEN 'colors' THEN 'colour'
        WHEN 'size' THEN 'size' WHEN 'sizes' THEN 'size' WHEN 'ring size' THEN 'size'
        WHEN 'material' THEN 'material' WHEN 'materials' THEN 'material' WHEN 'metal' THEN 'material'
    END
$$;

-- The words of a listing's variations: property names and option values.
CREATE FUNCTION search_listing_option_text(listing bigint) RETURNS text LANGUAGE sql STABLE AS $$
    SELECT string_agg(v.name || ' ' || coalesce(
               (SELECT string_agg(o.value, ' ' ORDER BY o.position, o.id)
                  FROM catalog_variationoption o WHERE o.variation_id = v.id), ''), ' ' ORDER BY v.position)
      FROM catalog_variation v
     WHERE v.product_id = listing
$$;

-- The prices and facet keys of a listing's switched-on offerings in stock.
CREATE FUNCTION search_listing_offer_facts(listing bigint, OUT offer_prices numeric(10, 2)[], OUT options text[])
LANGUAGE sql STABLE AS $$
    WITH offered AS (
        SELECT f.price,
               CASE WHEN search_option_facet(v1.name) IS NOT NULL AND search_option_value(o1.value) <> ''
                    THEN search_option_facet(v1.name) || ':' || search_option_value(o1.value) END AS k1,
               CASE WHEN search_option_facet(v2.name) IS NOT NULL AND search_option_value(o2.value) <> ''
                    THEN search_option_facet(v2.name) || ':' || search_option_value(o2.value) END AS k2
          FROM catalog_offering f
          LEFT JOIN catalog_variationoption o1 ON o1.id = f.option1_id
          LEFT JOIN catalog_variation v1 ON v1.id = o1.variation_id
          LEFT JOIN catalog_variationoption o2 ON o2.id = f.option2_id
          LEFT JOIN catalog_variation v2 ON v2.id = o2.variation_id
         WHERE f.product_id = listing AND f.is_enabled AND f.quantity > 0
    )
    SELECT (SELECT CASE WHEN count(DISTINCT price) > 1 THEN array_agg(DISTINCT price ORDER BY price) END
              FROM offered),
           (SELECT array_agg(DISTINCT k ORDER BY k)
              FROM offered,
                   LATERAL (VALUES (k1), (k2),
                                   (CASE WHEN k1 IS NOT NULL AND k2 IS NOT NULL
                                         THEN least(k1, k2) || chr(31) || greatest(k1, k2) END)) AS keys(k)
             WHERE k IS NOT NULL)
$$;
"""

DROP_HELPERS = """
DROP FUNCTION IF EXISTS search_listing_offer_facts(bigint);
DROP FUNCTION IF EXISTS search_listing_option_text(bigint);
DROP FUNCTION IF EXISTS search_option_facet(text);
DROP FUNCTION IF EXISTS search_option_value(text);
"""

COLUMNS = """
ALTER TABLE search_listing ADD COLUMN offer_prices numeric(10, 2)[], ADD COLUMN options text[];
CREATE INDEX search_listing_options ON search_listing USING gin (options) WHERE options IS NOT NULL;
-- Browsing without words counts the option keys of the few listings that have any, not of every listing.
CREATE INDEX search_listing_with_options ON search_listing (category_id) WHERE options IS NOT NULL;
"""

DROP_COLUMNS = """
DROP INDEX IF EXISTS search_listing_options;
DROP INDEX IF EXISTS search_listing_with_options;
ALTER TABLE search_listing DROP COLUMN IF EXISTS offer_prices, DROP COLUMN IF EXISTS options;
"""

VECTOR = """
CREATE OR REPLACE FUNCTION search_product_vector() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    category_names text;
BEGIN
    SELECT string_agg(c.name, ' ') INTO category_names
      FROM catalog_category c
     WHERE c.id = ANY (
        SELECT unnest(string_to_array(trim(both '/' from cc.path), '/'))::bigint
          FROM catalog_category cc WHERE cc.id = NEW.category_id AND cc.path <> ''
     ) OR c.id = NEW.category_id;
    NEW.search_vector :=
        setweight(to_tsvector('etsy_english', coalesce(NEW.title, '')), 'A')
        || setweight(to_tsvector('etsy_english',
               coalesce(array_to_string(NEW.tags, ' '), '')
               || CASE WHEN NEW.is_vintage THEN ' vintage' ELSE '' END), 'B')
        || setweight(to_tsvector('etsy_english', coalesce(NEW.description, '')
               || ' ' || coalesce(search_listing_option_text(NEW.id), '')), 'C')
        || setweight(to_tsvector('etsy_english', coalesce(category_names, '')), 'D');
    RETURN NEW;
END
$$;
"""

PREVIOUS_VECTOR = _fulltext.TRIGGER.split("CREATE TRIGGER")[0].replace("CREATE FUNCTION", "CREATE OR REPLACE FUNCTION")

SYNC_PRODUCT = """
CREATE OR REPLACE FUNCTION search_listing_sync_product() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    shop record;
    prices numeric(10, 2)[];
    keys text[];
BEGIN
    SELECT s.rating, s.sales_count, s.is_active INTO shop FROM shops_shop s WHERE s.id = NEW.shop_id;
    IF NEW.is_active AND NEW.quantity > 0 AND NEW.reserved_for_id IS NULL AND shop.is_active
       AND NEW.search_vector IS NOT NULL THEN
        IF EXISTS (SELECT 1 FROM catalog_variation v WHERE v.product_id = NEW.id) THEN
            SELECT f.offer_prices, f.options INTO prices, keys FROM search_listing_offer_facts(NEW.id) f;
        END IF;
        INSERT INTO search_listing AS l (product_id, shop_id, category_id, price, created_at, is_vintage,
                                         shop_rating, shop_sales_count, search_vector, offer_prices, options)
        VALUES (NEW.id, NEW.shop_id, NEW.category_id, NEW.price, NEW.created_at, NEW.is_vintage,
                shop.rating, shop.sales_count, NEW.search_vector, prices, keys)
        ON CONFLICT (product_id) DO UPDATE SET
            shop_id = EXCLUDED.shop_id, category_id = EXCLUDED.category_id, price = EXCLUDED.price,
            created_at = EXCLUDED.created_at, is_vintage = EXCLUDED.is_vintage,
            shop_rating = EXCLUDED.shop_rating, shop_sales_count = EXCLUDED.shop_sales_count,
            search_vector = EXCLUDED.search_vector, offer_prices = EXCLUDED.offer_prices,
            options = EXCLUDED.options;
    ELSE
        DELETE FROM search_listing WHERE product_id = NEW.id;
    END IF;
    RETURN NULL;
END
$$;

CREATE OR REPLACE FUNCTION search_listing_sync_shop() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NOT NEW.is_active THEN
        DELETE FROM search_listing WHERE shop_id = NEW.id;
    ELSIF NOT OLD.is_active THEN
        INSERT INTO search_listing (product_id, shop_id, category_id, price, created_at, is_vintage,
                                    shop_rating, shop_sales_count, search_vector, offer_prices, options)
        SELECT p.id, p.shop_id, p.category_id, p.price, p.created_at, p.is_vintage,
               NEW.rating, NEW.sales_count, p.search_vector, f.offer_prices, f.options
          FROM catalog_product p
          LEFT JOIN LATERAL (
                SELECT * FROM search_listing_offer_facts(p.id)
                 WHERE EXISTS (SELECT 1 FROM catalog_variation v WHERE v.product_id = p.id)
          ) f ON true
         WHERE p.shop_id = NEW.id AND p.is_active AND p.quantity > 0 AND p.reserved_for_id IS NULL
           AND p.search_vector IS NOT NULL
        ON CONFLICT (product_id) DO NOTHING;
    ELSIF NEW.rating IS DISTINCT FROM OLD.rating
          OR floor(ln(1 + NEW.sales_count) * 20) <> floor(ln(1 + OLD.sales_count) * 20) THEN
        UPDATE search_listing SET shop_rating = NEW.rating, shop_sales_count = NEW.sales_count
         WHERE shop_id = NEW.id;
    END IF;
    RETURN NULL;
END
$$;
"""

# 0007's two functions, as they were.
PREVIOUS_SYNC = _reserved.SYNC_PRODUCT.split("DROP TRIGGER")[0] + (
    "CREATE OR REPLACE FUNCTION search_listing_sync_shop()"
    + _reserved.SYNC_PRODUCT.split("CREATE OR REPLACE FUNCTION search_listing_sync_shop()")[1].split(
        "\nDELETE FROM search_listing l USING"
    )[0]
)

# Offerings of listings with variations (a plain listing's one offering only moves the listing's price and
# quantity, which the product trigger copies). One statement per write, whatever the number of rows.
OFFERINGS = """
CREATE FUNCTION search_listing_sync_offerings() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    listings bigint[];
BEGIN
    IF TG_OP = 'INSERT' THEN
        SELECT array_agg(DISTINCT product_id) INTO listings FROM new_offerings WHERE option1_id IS NOT NULL;
    ELSIF TG_OP = 'UPDATE' THEN
        SELECT array_agg(DISTINCT product_id) INTO listings
          FROM (SELECT product_id FROM new_offerings WHERE option1_id IS NOT NULL
                UNION ALL SELECT product_id FROM old_offerings WHERE option1_id IS NOT NULL) o;
    ELSE
        SELECT array_agg(DISTINCT product_id) INTO listings FROM old_offerings WHERE option1_id IS NOT NULL;
    END IF;
    IF listings IS NOT NULL AND EXISTS (
        SELECT 1 FROM unnest(listings) AS c(id)
          JOIN search_listing l ON l.product_id = c.id, LATERAL search_listing_offer_facts(c.id) f
         WHERE l.offer_prices IS DISTINCT FROM f.offer_prices OR l.options IS DISTINCT FROM f.options
    ) THEN
        -- The listings' rows first, in id order (catalog.stock.lock_products' order; free when the writer
        -- holds them): the product trigger writes search_listing under that lock, so this one does too.
        PERFORM 1 FROM catalog_product WHERE id = ANY (listings) ORDER BY id FOR NO KEY UPDATE;
        UPDATE search_listing l
           SET offer_prices = f.offer_prices, options = f.options
          FROM unnest(listings) AS c(id), LATERAL search_listing_offer_facts(c.id) f
         WHERE l.product_id = c.id
           AND (l.offer_prices IS DISTINCT FROM f.offer_prices OR l.options IS DISTINCT FROM f.options);
    END IF;
    RETURN NULL;
END
$$;

CREATE TRIGGER search_listing_offerings_inserted AFTER INSERT ON catalog_offering
    REFERENCING NEW TABLE AS new_offerings
    FOR EACH STATEMENT EXECUTE FUNCTION search_listing_sync_offerings();
CREATE TRIGGER search_listing_offerings_updated AFTER UPDATE ON catalog_offering
    REFERENCING OLD TABLE AS old_offerings NEW TABLE AS new_offerings
    FOR EACH STATEMENT EXECUTE FUNCTION search_listing_sync_offerings();
CREATE TRIGGER search_listing_offerings_deleted AFTER DELETE ON catalog_offering
    REFERENCING OLD TABLE AS old_offerings
    FOR EACH STATEMENT EXECUTE FUNCTION search_listing_sync_offerings();

-- A property or option written: rewrite its listing's vector ("UPDATE OF title" fires both product
-- triggers), which also recomputes its facet keys.
CREATE FUNCTION search_listing_touch_variations() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    listings bigint[];
BEGIN
    IF TG_TABLE_NAME = 'catalog_variation' THEN
        IF TG_OP = 'INSERT' THEN
            SELECT array_agg(DISTINCT product_id) INTO listings FROM new_rows;
        ELSIF TG_OP = 'UPDATE' THEN
            SELECT array_agg(DISTINCT product_id) INTO listings
              FROM (SELECT n.product_id FROM new_rows n JOIN old_rows o ON o.id = n.id
                     WHERE (n.name, n.position, n.product_id) IS DISTINCT FROM (o.name, o.position, o.product_id)
                    UNION ALL
                    SELECT o.product_id FROM new_rows n JOIN old_rows o ON o.id = n.id
                     WHERE n.product_id IS DISTINCT FROM o.product_id) c;
        ELSE
            SELECT array_agg(DISTINCT product_id) INTO listings FROM old_rows;
        END IF;
    ELSE
        IF TG_OP = 'INSERT' THEN
            SELECT array_agg(DISTINCT v.product_id) INTO listings
              FROM new_rows n JOIN catalog_variation v ON v.id = n.variation_id;
        ELSIF TG_OP = 'UPDATE' THEN
            SELECT array_agg(DISTINCT v.product_id) INTO listings
              FROM new_rows n JOIN old_rows o ON o.id = n.id
              JOIN catalog_variation v ON v.id IN (n.variation_id, o.variation_id)
             WHERE (n.value, n.position, n.variation_id) IS DISTINCT FROM (o.value, o.position, o.variation_id);
        ELSE
            SELECT array_agg(DISTINCT v.product_id) INTO listings
              FROM old_rows o JOIN catalog_variation v ON v.id = o.variation_id;
        END IF;
    END IF;
    IF listings IS NOT NULL THEN
        UPDATE catalog_product SET title = title WHERE id = ANY (listings);
    END IF;
    RETURN NULL;
END
$$;
"""

for _table in ("catalog_variation", "catalog_variationoption"):
    _short = "variations" if _table == "catalog_variation" else "options"
    OFFERINGS += f"""
CREATE TRIGGER search_listing_{_short}_inserted AFTER INSERT ON {_table}
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION search_listing_touch_variations();
CREATE TRIGGER search_listing_{_short}_updated AFTER UPDATE ON {_table}
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION search_listing_touch_variations();
CREATE TRIGGER search_listing_{_short}_deleted AFTER DELETE ON {_table}
    REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION search_listing_touch_variations();
"""

DROP_OFFERINGS = """
DROP TRIGGER IF EXISTS search_listing_offerings_inserted ON catalog_offering;
DROP TRIGGER IF EXISTS search_listing_offerings_updated ON catalog_offering;
DROP TRIGGER IF EXISTS search_listing_offerings_deleted ON catalog_offering;
DROP TRIGGER IF EXISTS search_listing_variations_inserted ON catalog_variation;
DROP TRIGGER IF EXISTS search_listing_variations_updated ON catalog_variation;
DROP TRIGGER IF EXISTS search_listing_variations_deleted ON catalog_variation;
DROP TRIGGER IF EXISTS search_listing_options_inserted ON catalog_variationoption;
DROP TRIGGER IF EXISTS search_listing_options_updated ON catalog_variationoption;
DROP TRIGGER IF EXISTS search_listing_options_deleted ON catalog_variationoption;
DROP FUNCTION IF EXISTS search_listing_touch_variations();
DROP FUNCTION IF EXISTS search_listing_sync_offerings();
"""

# 0008's vocabulary, with each listing's option words beside its own text (a hash join with the few
# listings that have variations).
_LISTING_TEXT = """            SELECT to_tsvector('public.etsy_simple',
                       coalesce(title, '') || ' ' || coalesce(array_to_string(tags, ' '), '')
                       || ' ' || coalesce(description, ''))
              FROM public.catalog_product
             WHERE is_active AND quantity > 0 AND reserved_for_id IS NULL"""
assert _vocabulary.VOCABULARY.count(_LISTING_TEXT) == 1, "0008's view changed: update this migration"
VOCABULARY = _vocabulary.VOCABULARY.replace(
    _LISTING_TEXT,
    """            SELECT to_tsvector('public.etsy_simple',
                       coalesce(p.title, '') || ' ' || coalesce(array_to_string(p.tags, ' '), '')
                       || ' ' || coalesce(p.description, '') || ' ' || coalesce(ot.words, ''))
              FROM public.catalog_product p
              LEFT JOIN (SELECT v.product_id, string_agg(v.name || ' ' || coalesce(o.value, ''), ' ') AS words
                           FROM public.catalog_variation v
                           LEFT JOIN public.catalog_variationoption o ON o.variation_id = v.id
                          GROUP BY v.product_id) ot ON ot.product_id = p.id
             WHERE p.is_active AND p.quantity > 0 AND p.reserved_for_id IS NULL""",
)

# Listings that already have variations get their words and keys; the others are not written.
BACKFILL = """
UPDATE catalog_product SET title = title WHERE id IN (SELECT product_id FROM catalog_variation);
ANALYZE search_listing;
"""


class Migration(migrations.Migration):
    dependencies = [
        ("search", "0009_vintage_text_index"),
        ("catalog", "0006_variations_offerings"),
    ]

    operations = [
        migrations.RunSQL(HELPERS, reverse_sql=DROP_HELPERS),
        migrations.RunSQL(COLUMNS, reverse_sql=DROP_COLUMNS),
        migrations.RunSQL(VECTOR, reverse_sql=PREVIOUS_VECTOR),
        migrations.RunSQL(SYNC_PRODUCT, reverse_sql=PREVIOUS_SYNC),
        migrations.RunSQL(OFFERINGS, reverse_sql=DROP_OFFERINGS),
        migrations.RunSQL(VOCABULARY, reverse_sql=_vocabulary.VOCABULARY),
        migrations.RunSQL(BACKFILL, reverse_sql=migrations.RunSQL.noop),
    ]
