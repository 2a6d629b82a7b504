"""A stock move that leaves a listing in stock no longer rewrites its ``search_listing`` row.

``search_listing`` keeps no quantity, only whether the listing is purchasable (``quantity > 0``), yet every
sale re-ran the product trigger, which upserted the row (a new row version, its GIN and btree entries, the
category-count trigger, WAL) to write back what was there. The update trigger now fires only when something
the row shows can have changed: any update that leaves the quantity alone (``SET title = title`` is how the
variation triggers ask for a resync), a quantity crossing zero, or any other listed column changing. An
offering's stock move reaches its listing's offer facts through the offering triggers, as before.
"""

from django.db import migrations

COLUMNS = (
    "shop_id, title, tags, description, category_id, is_vintage, price, is_active, created_at, search_vector, "
    "reserved_for_id"
)


def _row(alias: str) -> str:
    return "ROW(" + ", ".join(f"{alias}.{c.strip()}" for c in COLUMNS.split(",")) + ")"


FORWARD = f"""
DROP TRIGGER search_listing_product ON catalog_product;
CREATE TRIGGER search_listing_product_inserted
    AFTER INSERT ON catalog_product
    FOR EACH ROW EXECUTE FUNCTION search_listing_sync_product();
CREATE TRIGGER search_listing_product
    AFTER UPDATE OF {COLUMNS}, quantity
    ON catalog_product
    FOR EACH ROW
    WHEN (OLD.quantity = NEW.quantity
          OR (OLD.quantity > 0) <> (NEW.quantity > 0)
          OR {_row("OLD")} IS DISTINCT FROM {_row("NEW")})
    EXECUTE FUNCTION search_listing_sync_product();
"""

BACKWARD = """
DROP TRIGGER search_listing_product ON catalog_product;
DROP TRIGGER search_listing_product_inserted ON catalog_product;
CREATE TRIGGER search_listing_product
    AFTER INSERT OR UPDATE OF shop_id, title, tags, description, category_id, is_vintage, price, quantity,
                               is_active, created_at, search_vector, reserved_for_id
    ON catalog_product
    FOR EACH ROW EXECUTE FUNCTION search_listing_sync_product();
"""


class Migration(migrations.Migration):
    dependencies = [("search", "0014_text_and_age_index")]

    operations = [migrations.RunSQL(FORWARD, reverse_sql=BACKWARD)]
