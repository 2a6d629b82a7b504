"""Re-check a listing's offer facts only for offering updates that can move them, not after every stock move.

The update trigger of ``catalog_offering`` ran once a statement, over transition tables of every updated row:
every sale's stock move kept both row images and entered PL/pgSQL, to find (for the plain listings most sales
are of) no offering with options, or facts unchanged by a quantity that stayed above zero. About 45 us of the
backend's CPU per stock move, a sixth of the statement. The facts (search_listing_offer_facts) read an offering's
listing, options, price, whether it is switched on and whether it has stock (``quantity > 0``): the trigger now
fires for each row whose options say it belongs to a listing with variations and one of those changed (the WHEN
clause, evaluated without entering PL/pgSQL), and re-checks that row's listings. Inserts and deletes keep their
statement triggers. Every writer of an offering holds its listing's lock (catalog.stock), so taking it again per
row waits on nothing.
"""

from django.db import migrations

SYNC_OFFERING = """
CREATE FUNCTION search_listing_sync_offering() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    listings bigint[] := ARRAY(SELECT DISTINCT id FROM unnest(ARRAY[OLD.product_id, NEW.product_id]) AS c(id)
                                ORDER BY id);
BEGIN
    -- Fired only for a row the trigger's WHEN clause says can move its listings' offer facts.
    IF EXISTS (
        SELECT 1 FROM unnest(listings) AS c(id)
          JOIN search_listing l ON l.product_id = c.id, LATERAL search_listing_offer_facts(c.id) f
         WHERE l.offer_prices IS DISTINCT FROM f.offer_prices OR l.options IS DISTINCT FROM f.options
    ) THEN
        -- The listings' rows first, in id order, as search_listing_sync_offerings does.
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
"""

FORWARD = f"""
{SYNC_OFFERING}
DROP TRIGGER search_listing_offerings_updated ON catalog_offering;
CREATE TRIGGER search_listing_offerings_updated AFTER UPDATE ON catalog_offering
    FOR EACH ROW
    WHEN ((OLD.option1_id IS NOT NULL OR NEW.option1_id IS NOT NULL)
          AND ((OLD.quantity > 0) <> (NEW.quantity > 0)
               OR ROW(OLD.product_id, OLD.option1_id, OLD.option2_id, OLD.price, OLD.is_enabled)
                  IS DISTINCT FROM ROW(NEW.product_id, NEW.option1_id, NEW.option2_id, NEW.price, NEW.is_enabled)))
    EXECUTE FUNCTION search_listing_sync_offering();
"""

BACKWARD = """
DROP TRIGGER search_listing_offerings_updated ON catalog_offering;
DROP FUNCTION search_listing_sync_offering();
CREATE TRIGGER search_listing_offerings_updated AFTER UPDATE ON catalog_offering
    REFERENCING OLD TABLE AS old_offerings NEW TABLE AS new_offerings
    FOR EACH STATEMENT EXECUTE FUNCTION search_listing_sync_offerings();
"""


class Migration(migrations.Migration):
    dependencies = [("search", "0016_shop_trigger_fires_on_boost_steps")]

    operations = [migrations.RunSQL(FORWARD, reverse_sql=BACKWARD)]
