"""Add category names to the spelling vocabulary: listings are found by them (weight D)."""

from django.db import migrations

VOCABULARY = """
DROP MATERIALIZED VIEW IF EXISTS search_vocabulary;
CREATE MATERIALIZED VIEW search_vocabulary AS
SELECT word, sum(ndoc)::int AS ndoc, (ts_lexize('english_stem', word))[1] AS lexeme
  FROM (
        SELECT word, ndoc FROM ts_stat($q$
            SELECT to_tsvector('public.etsy_simple',
                       coalesce(title, '') || ' ' || coalesce(array_to_string(tags, ' '), '')
                       || ' ' || coalesce(description, ''))
              FROM public.catalog_product
             WHERE is_active AND quantity > 0
        $q$)
        UNION ALL
        SELECT word, ndoc FROM ts_stat($q$ SELECT to_tsvector('public.etsy_simple', name) FROM public.catalog_category $q$)
  ) words
 WHERE word ~ '^[a-z0-9]+$' AND length(word) BETWEEN 2 AND 40
 GROUP BY word;

CREATE UNIQUE INDEX search_vocabulary_word ON search_vocabulary (word);
CREATE INDEX search_vocabulary_lexeme ON search_vocabulary (lexeme);
CREATE INDEX search_vocabulary_trgm ON search_vocabulary USING gin (word gin_trgm_ops);
"""


class Migration(migrations.Migration):
    dependencies = [("search", "0001_fulltext_search")]

    operations = [migrations.RunSQL(VOCABULARY, reverse_sql=migrations.RunSQL.noop)]
