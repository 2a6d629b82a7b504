"""Ledger entries are append-only in the database too: UPDATE and DELETE raise."""

from django.db import migrations

FORWARD = """
CREATE FUNCTION payments_ledger_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'payments_ledgerentry is append-only (% refused)', TG_OP USING ERRCODE = 'restrict_violation';
END;
$$;
CREATE TRIGGER payments_ledger_append_only
    BEFORE UPDATE OR DELETE ON payments_ledgerentry
    FOR EACH ROW EXECUTE FUNCTION payments_ledger_append_only();
"""

BACKWARD = """
DROP TRIGGER IF EXISTS payments_ledger_append_only ON payments_ledgerentry;
DROP FUNCTION IF EXISTS payments_ledger_append_only();
"""


class Migration(migrations.Migration):
    dependencies = [("payments", "0002_ledger")]

    operations = [migrations.RunSQL(FORWARD, BACKWARD)]
