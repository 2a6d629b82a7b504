"""PostgreSQL full-text search: extensions, text search configurations, the product
search-vector trigger and the vocabulary used for spelling correction.

The trigger keeps ``catalog_product.search_vector`` current in the same statement
(and so the same transaction) as every product write: title (A), tags and the
vintage flag (B), description (C), the category and its ancestors' names (D).
"""

from django.db import migrations

EXTENSIONS = """
CREATE EXTENSION IF NOT EXISTS pg_trgm;
CREATE EXTENSION IF NOT EXISTS unaccent;
"""

CONFIGS = """
CREATE TEXT SEARCH CONFIGURATION etsy_english (COPY = english);
ALTER TEXT SEARCH CONFIGURATION etsy_english
    ALTER MAPPING FOR hword, hword_part, word WITH unaccent, english_stem;
CREATE TEXT SEARCH CONFIGURATION etsy_simple (COPY = simple);
ALTER TEXT SEARCH CONFIGURATION etsy_simple
    ALTER MAPPING FOR hword, hword_part, word WITH unaccent, simple;
"""

DROP_CONFIGS = """
DROP TEXT SEARCH CONFIGURATION IF EXISTS etsy_english;
DROP TEXT SEARCH CONFIGURATION IF EXISTS etsy_simple;
"""

TRIGGER = """
CREATE FUNCTION search_product_vector() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    category_names text;
BEGIN
    SELECT string_agg(c.name, ' ') INTO category_names
      FROM catalog_category c
     WHERE c.id = ANY (
        SELECT unnest(string_to_array(trim(both '/' from cc.path), '/'))::bigint
          FROM catalog_category cc WHERE cc.id = NEW.category_id AND cc.path <> ''
     ) OR c.id = NEW.category_id;
    NEW.search_vector :=
        setweight(to_tsvector('etsy_english', coalesce(NEW.title, '')), 'A')
        || setweight(to_tsvector('etsy_english',
               coalesce(array_to_string(NEW.tags, ' '), '')
               || CASE WHEN NEW.is_vintage THEN ' vintage' ELSE '' END), 'B')
        || setweight(to_tsvector('etsy_english', coalesce(NEW.description, '')), 'C')
        || setweight(to_tsvector('etsy_english', coalesce(category_names, '')), 'D');
    RETURN NEW;
END
$$;

CREATE TRIGGER product_search_vector
    BEFORE INSERT OR UPDATE OF title, tags, description, category_id, is_vintage
    ON catalog_product
    FOR EACH ROW EXECUTE FUNCTION search_product_vector();

UPDATE catalog_product SET title = title;
"""

DROP_TRIGGER = """
DROP TRIGGER IF EXISTS product_search_vector ON catalog_product;
DROP FUNCTION IF EXISTS search_product_vector();
"""

# Every distinct word of the searchable listings with the number of listings using it,
# and its English stem (NULL for stop words). Refreshed by search.tasks.refresh_search_vocabulary.
VOCABULARY = """
CREATE MATERIALIZED VIEW search_vocabulary AS
SELECT word,
       ndoc,
       (ts_lexize('english_stem', word))[1] AS lexeme
  FROM ts_stat($q$
        SELECT to_tsvector('public.etsy_simple',
                   coalesce(title, '') || ' ' || coalesce(array_to_string(tags, ' '), '')
                   || ' ' || coalesce(description, ''))
          FROM public.catalog_product
         WHERE is_active AND quantity > 0
  $q$)
 WHERE word ~ '^[a-z0-9]+$' AND length(word) BETWEEN 2 AND 40;

CREATE UNIQUE INDEX search_vocabulary_word ON search_vocabulary (word);
CREATE INDEX search_vocabulary_lexeme ON search_vocabulary (lexeme);
CREATE INDEX search_vocabulary_trgm ON search_vocabulary USING gin (word gin_trgm_ops);
"""

DROP_VOCABULARY = "DROP MATERIALIZED VIEW IF EXISTS search_vocabulary;"


class Migration(migrations.Migration):
    dependencies = [("catalog", "0001_initial")]

    operations = [
        migrations.RunSQL(EXTENSIONS, reverse_sql=migrations.RunSQL.noop),
        migrations.RunSQL(CONFIGS, reverse_sql=DROP_CONFIGS),
        migrations.RunSQL(TRIGGER, reverse_sql=DROP_TRIGGER),
        migrations.RunSQL(VOCABULARY, reverse_sql=DROP_VOCABULARY),
    ]
