"""Call the shop trigger's function only when a shop's listings change: not on every sale.

Every paid checkout adds to each of its shops' ``sales_count``, and the row trigger ran its PL/pgSQL function
for each shop only to find, most of the time, that the sales had not moved the boost a step (search 0004) and
that nothing was to be written: about 30 us of the backend's CPU a shop, a tenth of the sales statement. The
trigger's WHEN clause, evaluated without entering PL/pgSQL, now holds the test (a closing or reopening shop, a
rating change, a boost step), and the function does what the clause let through.
"""

from django.db import migrations

SYNC_SHOP = """
CREATE OR REPLACE FUNCTION search_listing_sync_shop() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    -- Fired only when the trigger's WHEN clause says the shop's listings change.
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
    ELSE
        UPDATE search_listing SET shop_rating = NEW.rating, shop_sales_count = NEW.sales_count
         WHERE shop_id = NEW.id;
    END IF;
    RETURN NULL;
END
$$;
"""

# The boost's step: log1p(sales_count) in steps of 0.05 (search 0004).
FORWARD = f"""
{SYNC_SHOP}
DROP TRIGGER search_listing_shop ON shops_shop;
CREATE TRIGGER search_listing_shop
    AFTER UPDATE OF rating, sales_count, is_active ON shops_shop
    FOR EACH ROW
    WHEN (NOT NEW.is_active OR NOT OLD.is_active
          OR NEW.rating IS DISTINCT FROM OLD.rating
          OR floor(ln(1 + NEW.sales_count) * 20) <> floor(ln(1 + OLD.sales_count) * 20))
    EXECUTE FUNCTION search_listing_sync_shop();
"""

SYNC_SHOP_TESTING_EACH_UPDATE = """
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

BACKWARD = f"""
{SYNC_SHOP_TESTING_EACH_UPDATE}
DROP TRIGGER search_listing_shop ON shops_shop;
CREATE TRIGGER search_listing_shop
    AFTER UPDATE OF rating, sales_count, is_active ON shops_shop
    FOR EACH ROW EXECUTE FUNCTION search_listing_sync_shop();
"""


class Migration(migrations.Migration):
    dependencies = [("search", "0015_stock_moves_skip_listing_sync")]

    operations = [migrations.RunSQL(FORWARD, reverse_sql=BACKWARD)]
