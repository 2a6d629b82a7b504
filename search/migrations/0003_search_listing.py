"""A narrow copy of every buyable listing for the PostgreSQL search backend.

``search_listing`` holds exactly the listings a shopper may find (active, in stock,
in an active shop) with only what search reads: the weighted vector (copied from
``catalog_product.search_vector``), the filter and sort columns, and the shop's
rating and sales count for the ranking boosts. Searches then scan a table a third
of the size of ``catalog_product`` with no join, and sold-out listings cannot match.
Triggers keep it current in the same transaction as every product or shop write.
"""

from django.db import migrations

TABLE = """
CREATE TABLE search_listing (
    product_id bigint PRIMARY KEY,
    shop_id bigint NOT NULL,
    category_id bigint NOT NULL,
    price numeric(10, 2) NOT NULL,
    created_at timestamptz NOT NULL,
    is_vintage boolean NOT NULL,
    shop_rating real,
    shop_sales_count integer NOT NULL DEFAULT 0,
    search_vector tsvector NOT NULL
);
CREATE INDEX search_listing_created ON search_listing (created_at DESC);
CREATE INDEX search_listing_price ON search_listing (price);
CREATE INDEX search_listing_category ON search_listing (category_id);
CREATE INDEX search_listing_shop ON search_listing (shop_id);
"""

FUNCTIONS = """
CREATE FUNCTION search_listing_sync_product() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    shop record;
BEGIN
    SELECT s.rating, s.sales_count, s.is_active INTO shop FROM shops_shop s WHERE s.id = NEW.shop_id;
    IF NEW.is_active AND NEW.quantity > 0 AND shop.is_active AND NEW.search_vector IS NOT NULL THEN
        INSERT INTO search_listing AS l (product_id, shop_id, category_id, price, created_at, is_vintage,
                                         shop_rating, shop_sales_count, search_vector)
        VALUES (NEW.id, NEW.shop_id, NEW.category_id, NEW.price, NEW.created_at, NEW.is_vintage,
                shop.rating, shop.sales_count, NEW.search_vector)
        ON CONFLICT (product_id) DO UPDATE SET
            shop_id = EXCLUDED.shop_id, category_id = EXCLUDED.category_id, price = EXCLUDED.price,
            created_at = EXCLUDED.created_at, is_vintage = EXCLUDED.is_vintage,
            shop_rating = EXCLUDED.shop_rating, shop_sales_count = EXCLUDED.shop_sales_count,
            search_vector = EXCLUDED.search_vector;
    ELSE
        DELETE FROM search_listing WHERE product_id = NEW.id;
    END IF;
    RETURN NULL;
END
$$;

CREATE TRIGGER search_listing_product
    AFTER INSERT OR UPDATE OF shop_id, title, tags, description, category_id, is_vintage, price, quantity,
                               is_active, created_at, search_vector
    ON catalog_product
    FOR EACH ROW EXECUTE FUNCTION search_listing_sync_product();

CREATE FUNCTION search_listing_remove_product() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM search_listing WHERE product_id = OLD.id;
    RETURN NULL;
END
$$;

CREATE TRIGGER search_listing_product_deleted
    AFTER DELETE ON catalog_product
    FOR EACH ROW EXECUTE FUNCTION search_listing_remove_product();

-- No foreign key (Django's test flush truncates Django's tables without CASCADE): a truncate
-- of the products empties the copy too.
CREATE FUNCTION search_listing_truncate() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    TRUNCATE search_listing;
    RETURN NULL;
END
$$;

CREATE TRIGGER search_listing_products_truncated
    AFTER TRUNCATE ON catalog_product
    FOR EACH STATEMENT EXECUTE FUNCTION search_listing_truncate();

CREATE FUNCTION search_listing_sync_shop() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NOT NEW.is_active THEN
        DELETE FROM search_listing WHERE shop_id = NEW.id;
    ELSIF NOT OLD.is_active THEN
        INSERT INTO search_listing (product_id, shop_id, category_id, price, created_at, is_vintage,
                                    shop_rating, shop_sales_count, search_vector)
        SELECT p.id, p.shop_id, p.category_id, p.price, p.created_at, p.is_vintage,
               NEW.rating, NEW.sales_count, p.search_vector
          FROM catalog_product p
         WHERE p.shop_id = NEW.id AND p.is_active AND p.quantity > 0 AND p.search_vector IS NOT NULL
        ON CONFLICT (product_id) DO NOTHING;
    ELSIF NEW.rating IS DISTINCT FROM OLD.rating OR NEW.sales_count IS DISTINCT FROM OLD.sales_count THEN
        UPDATE search_listing SET shop_rating = NEW.rating, shop_sales_count = NEW.sales_count
         WHERE shop_id = NEW.id;
    END IF;
    RETURN NULL;
END
$$;

CREATE TRIGGER search_listing_shop
    AFTER UPDATE OF rating, sales_count, is_active ON shops_shop
    FOR EACH ROW EXECUTE FUNCTION search_listing_sync_shop();
"""

BACKFILL = """
INSERT INTO search_listing (product_id, shop_id, category_id, price, created_at, is_vintage,
                            shop_rating, shop_sales_count, search_vector)
SELECT p.id, p.shop_id, p.category_id, p.price, p.created_at, p.is_vintage, s.rating, s.sales_count, p.search_vector
  FROM catalog_product p JOIN shops_shop s ON s.id = p.shop_id
 WHERE p.is_active AND p.quantity > 0 AND s.is_active AND p.search_vector IS NOT NULL;
-- Built after the backfill; no pending list, so a search never scans unmerged entries.
CREATE INDEX search_listing_vector ON search_listing USING gin (search_vector) WITH (fastupdate = off);
ANALYZE search_listing;
"""

DROP = """
DROP TRIGGER IF EXISTS search_listing_shop ON shops_shop;
DROP TRIGGER IF EXISTS search_listing_product ON catalog_product;
DROP TRIGGER IF EXISTS search_listing_product_deleted ON catalog_product;
DROP TRIGGER IF EXISTS search_listing_products_truncated ON catalog_product;
DROP FUNCTION IF EXISTS search_listing_remove_product();
DROP FUNCTION IF EXISTS search_listing_truncate();
DROP FUNCTION IF EXISTS search_listing_sync_shop();
DROP FUNCTION IF EXISTS search_listing_sync_product();
DROP TABLE IF EXISTS search_listing;
"""


class Migration(migrations.Migration):
    dependencies = [("search", "0002_vocabulary_with_category_names"), ("shops", "0001_initial")]

    operations = [
        migrations.RunSQL(TABLE + FUNCTIONS + BACKFILL, reverse_sql=DROP),
    ]
