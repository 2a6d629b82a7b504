"""Count category words by the listings filed under them, and index shop names for search.

A listing is found by its category's name (the search vector's D field), so the spelling
vocabulary counts a category word once per buyable listing in the category's subtree, not
once per category: "jewlery" then widens to "jewelry", the word of every listing under
Jewelry. The shop-name index serves queries naming a shop ("rowan" -> Rowan Trading Post).
"""

from django.db import migrations

VOCABULARY = """
DROP MATERIALIZED VIEW IF EXISTS search_vocabulary;
CREATE MATERIALIZED VIEW search_vocabulary AS
WITH per_category AS (
    SELECT category_id, count(*) AS n
      FROM public.catalog_product
     WHERE is_active AND quantity > 0
     GROUP BY category_id
), subtree AS (
    SELECT c.name, coalesce(sum(l.n), 0) AS n
      FROM public.catalog_category c
      LEFT JOIN public.catalog_category d ON d.path LIKE c.path || '%'
      LEFT JOIN per_category l ON l.category_id = d.id
     GROUP BY c.id, c.name
)
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
        SELECT t.word, greatest(s.n, 1)
          FROM subtree s
          CROSS JOIN LATERAL (
                SELECT DISTINCT lexeme AS word FROM unnest(to_tsvector('public.etsy_simple', s.name))
          ) t
  ) words
 WHERE word ~ '^[a-z0-9]+$' AND length(word) BETWEEN 2 AND 40
 GROUP BY word;

CREATE UNIQUE INDEX search_vocabulary_word ON search_vocabulary (word);
CREATE INDEX search_vocabulary_lexeme ON search_vocabulary (lexeme);
CREATE INDEX search_vocabulary_trgm ON search_vocabulary USING gin (word gin_trgm_ops);
CREATE INDEX search_vocabulary_word_prefix ON search_vocabulary (word text_pattern_ops);
"""

PREVIOUS_VOCABULARY = """
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
CREATE INDEX search_vocabulary_word_prefix ON search_vocabulary (word text_pattern_ops);
"""

SHOP_NAMES = """
CREATE INDEX IF NOT EXISTS search_shop_name ON shops_shop USING gin (to_tsvector('etsy_english'::regconfig, name));
"""


class Migration(migrations.Migration):
    dependencies = [("search", "0005_vocabulary_prefix_index"), ("shops", "0001_initial")]

    operations = [
        migrations.RunSQL(VOCABULARY, reverse_sql=PREVIOUS_VOCABULARY),
        migrations.RunSQL(SHOP_NAMES, reverse_sql="DROP INDEX IF EXISTS search_shop_name;"),
    ]
