"""Index the vocabulary's words for prefix lookups (search suggestions as you type).

A plain btree serves ``word LIKE 'ca%'`` only under the C collation; ``text_pattern_ops``
makes the lookup an index range scan whatever collation the database has. A migration
that recreates ``search_vocabulary`` must create this index again.
"""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("search", "0004_shop_sales_on_boost_steps")]

    operations = [
        migrations.RunSQL(
            "CREATE INDEX IF NOT EXISTS search_vocabulary_word_prefix ON search_vocabulary (word text_pattern_ops);",
            reverse_sql="DROP INDEX IF EXISTS search_vocabulary_word_prefix;",
        ),
    ]
