"""Keep listings reserved for one buyer (custom orders, catalog.Product.reserved_for) out of search_listing.

A minimal change for the messaging work (issue 21): the two trigger functions of 0003/0004 are the same
except for ``reserved_for_id IS NULL`` beside ``quantity > 0`` (catalog.models.purchasable_sql says the same),
and the product trigger also fires on a change of ``reserved_for_id``. Another rewrite of these triggers
may be in flight; when reconciling, keep that one condition and that trigger column.
"""

from importlib import import_module

from django.db import migrations

SYNC_PRODUCT = """
CREATE OR REPLACE FUNCTION search_listing_sync_product() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    shop record;
BEGIN
    SELECT s.rating, s.sales_count, s.is_active INTO shop FROM shops_shop s WHERE s.id = NEW.shop_id;
    IF NEW.is_active AND NEW.quantity > 0 AND NEW.reserved_for_id IS NULL AND shop.is_active
       AND NEW.search_vector IS NOT NULL THEN
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

DROP TRIGGER search_listing_product ON catalog_product;
CREATE TRIGGER search_listing_product
    AFTER INSERT OR UPDATE OF shop_id, title, tags, description, category_id, is_vintage, price, quantity,
                               is_active, created_at, search_vector, reserved_for_id
    ON catalog_product
    FOR EACH ROW EXECUTE FUNCTION search_listing_sync_product();

CREATE OR REPLACE FUNCTION search_listing_sync_shop() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NOT NEW.is_active THEN
        DELETE FROM search_listing WHERE shop_id = NEW.id;
    ELSIF NOT OLD.is_active THEN
        INSERT INTO search_listing (product_id, shop_id, category_id, price, created_at, is_vintage,
                                    shop_rating, shop_sales_count, search_vector)
        SELECT p.id, p.shop_id, p.category_id, p.price, p.created_at, p.is_vintage,
               NEW.rating, NEW.sales_count, p.search_vector
          FROM catalog_product p
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

DELETE FROM search_listing l USING catalog_product p WHERE p.id = l.product_id AND p.reserved_for_id IS NOT NULL;
"""

PREVIOUS = (
    """
CREATE OR REPLACE FUNCTION search_listing_sync_product() RETURNS trigger LANGUAGE plpgsql AS $$
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

DROP TRIGGER search_listing_product ON catalog_product;
CREATE TRIGGER search_listing_product
    AFTER INSERT OR UPDATE OF shop_id, title, tags, description, category_id, is_vintage, price, quantity,
                               is_active, created_at, search_vector
    ON catalog_product
    FOR EACH ROW EXECUTE FUNCTION search_listing_sync_product();
"""
    + import_module("search.migrations.0004_shop_sales_on_boost_steps").SYNC_SHOP
)


class Migration(migrations.Migration):
    dependencies = [("search", "0006_vocabulary_category_weight_shop_names"), ("catalog", "0003_product_reserved_for")]

    operations = [migrations.RunSQL(SYNC_PRODUCT, reverse_sql=PREVIOUS)]
