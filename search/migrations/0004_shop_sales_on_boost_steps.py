"""Copy a shop's sales count to its listings only when the ranking boost moves.

Every checkout adds to ``shops_shop.sales_count``; copying each increment to every
``search_listing`` row of the shop made each checkout rewrite all of a large shop's
rows inside its locking transaction. The boost is ``log1p(sales_count)``: the copy
now follows it in steps of 0.05 (about 5 % more sales), which ranking cannot tell
apart. Rating and active-state changes still reach the listings at once.
"""

from django.db import migrations

SYNC_SHOP = """
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
         WHERE p.shop_id = NEW.id AND p.is_active AND p.quantity > 0 AND p.search_vector IS NOT NULL
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

SYNC_SHOP_EVERY_CHANGE = """
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
         WHERE p.shop_id = NEW.id AND p.is_active AND p.quantity > 0 AND p.search_vector IS NOT NULL
        ON CONFLICT (product_id) DO NOTHING;
    ELSIF NEW.rating IS DISTINCT FROM OLD.rating OR NEW.sales_count IS DISTINCT FROM OLD.sales_count THEN
        UPDATE search_listing SET shop_rating = NEW.rating, shop_sales_count = NEW.sales_count
         WHERE shop_id = NEW.id;
    END IF;
    RETURN NULL;
END
$$;
"""


class Migration(migrations.Migration):
    dependencies = [("search", "0003_search_listing")]

    operations = [migrations.RunSQL(SYNC_SHOP, reverse_sql=SYNC_SHOP_EVERY_CHANGE)]
