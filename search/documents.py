"""The Elasticsearch product document (django-elasticsearch-dsl).

Analysis follows the design document: standard tokenizer, lowercase, the synonym
rules of ``search/synonyms.txt`` and an English stemmer. Synonyms are applied at
query time (``synonym_graph`` is a search-time filter: multi-word synonyms keep
their positions), so ``etsy_analyzer`` is the search analyzer and the index
analyzer is the same chain without synonyms. Shop rating and sales count are
copied onto each product so the function-score boosts read them from the document;
``search.receivers`` reindex a shop's products when those figures change.
Automatic signal sync is off (``ELASTICSEARCH_DSL_AUTOSYNC = False``): we index
after commit through Celery (``search.tasks``).
"""

from __future__ import annotations

import sys

from django.conf import settings
from django.db.models import Prefetch
from django_elasticsearch_dsl import Document, fields
from django_elasticsearch_dsl.registries import registry
from tqdm import tqdm

from catalog.models import Category, Offering, Product, Variation
from search.options import PAIR_SEPARATOR, offering_keys
from search.synonyms import solr_lines

ANALYSIS = {
    "filter": {
        "etsy_synonyms": {"type": "synonym_graph", "synonyms": solr_lines()},
        "etsy_stemmer": {"type": "stemmer", "language": "english"},
    },
    "analyzer": {
        # The design document's analyzer; used to analyze queries.
        "etsy_analyzer": {
            "type": "custom",
            "tokenizer": "standard",
            "filter": ["lowercase", "asciifolding", "etsy_synonyms", "etsy_stemmer"],
        },
        # The same chain without synonyms, to analyze listings when they are indexed.
        "etsy_index_analyzer": {
            "type": "custom",
            "tokenizer": "standard",
            "filter": ["lowercase", "asciifolding", "etsy_stemmer"],
        },
        # Unstemmed words for "did you mean" suggestions.
        "etsy_suggest_analyzer": {"type": "custom", "tokenizer": "standard", "filter": ["lowercase", "asciifolding"]},
    },
}


def _text(**kwargs) -> fields.TextField:
    return fields.TextField(analyzer="etsy_index_analyzer", search_analyzer="etsy_analyzer", **kwargs)


@registry.register_document
class ProductDocument(Document):
    title = _text(fields={"suggest": fields.TextField(analyzer="etsy_suggest_analyzer")})
    description = _text()
    # Keyword per the design document for exact tag filters (tags.raw); analyzed text for matching.
    tags = _text(fields={"raw": fields.KeywordField()}, multi=True)
    # The category and its ancestors' names, a weighted field (PostgreSQL: weight D).
    category_names = _text()
    # Searched when a query names a shop ("rowan" -> Rowan Trading Post); reindexed on a rename.
    shop_name = _text(attr="shop.name")
    category = fields.KeywordField(attr="category.slug")
    category_path = fields.KeywordField(attr="category.path")
    price = fields.FloatField()
    shop_id = fields.KeywordField()
    shop_rating = fields.FloatField()
    shop_sales_count = fields.IntegerField(attr="shop.sales_count")
    is_vintage = fields.BooleanField()
    is_active = fields.BooleanField()
    quantity = fields.IntegerField()
    created_at = fields.DateField()
    # Variations (search/options.py): the words of the properties and options (PostgreSQL: weight C), the
    # facet values of the switched-on offerings in stock, their keys (filters: one key, or the pair for two
    # options of one offering) and prices (a listing is in a price range when one of them is).
    option_words = _text()
    colour = fields.KeywordField(multi=True)
    size = fields.KeywordField(multi=True)
    material = fields.KeywordField(multi=True)
    option_keys = fields.KeywordField(multi=True)
    offer_prices = fields.FloatField(multi=True)
    price_max = fields.FloatField()

    class Index:
        name = settings.ELASTICSEARCH_INDEX
        # ``name`` is the alias searches and updates use; rebuilds create versioned indices behind it
        # (search.backends.elasticsearch.rebuild_index). Shards and replicas come from settings.
        settings = {
            "number_of_shards": settings.ELASTICSEARCH_SHARDS,
            "number_of_replicas": settings.ELASTICSEARCH_REPLICAS,
            "analysis": ANALYSIS,
        }

    class Django:
        model = Product
        queryset_pagination = 1000

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # django-elasticsearch-dsl 9.0 stores its preparers with a plain attribute assignment, which
        # elasticsearch.dsl 9 routes into the document's data, so ``prepare`` would see none and
        # index empty documents. Keep them as a real instance attribute instead.
        object.__setattr__(self, "_preparers", self.init_prepare())

    def prepare(self, instance: Product) -> dict:
        return {name: prepare(instance) for name, _field, prepare in self._preparers}

    def get_queryset(self):
        in_stock = (
            Offering.objects.on_sale().filter(quantity__gt=0).select_related("option1__variation", "option2__variation")
        )
        return (
            Product.objects.select_related("shop", "category")
            .prefetch_related(
                Prefetch("offerings", queryset=in_stock, to_attr="offerings_in_stock"),
                Prefetch("variations", queryset=Variation.objects.prefetch_related("options")),
            )
            .order_by("pk")
        )

    def get_indexing_queryset(self):
        """Yield every listing, showing progress on stderr (``manage.py search_index --rebuild``)."""
        queryset = self.get_queryset()
        total = queryset.count()
        iterator = queryset.iterator(chunk_size=self.django.queryset_pagination)
        yield from tqdm(iterator, total=total, desc="Indexing products", unit="listing", file=sys.stderr)

    def prepare_price(self, instance: Product) -> float:
        return float(instance.price)

    def _offerings(self, instance: Product) -> list[Offering]:
        found = getattr(instance, "offerings_in_stock", None)
        if found is None:  # a listing not loaded through get_queryset
            found = list(
                instance.offerings.on_sale()
                .filter(quantity__gt=0)
                .select_related("option1__variation", "option2__variation")
            )
        return found

    def prepare_option_keys(self, instance: Product) -> list[str]:
        keys: set[str] = set()
        for offering in self._offerings(instance):
            options = [o for o in (offering.option1, offering.option2) if o is not None]
            keys |= offering_keys((o.variation.name, o.value) for o in options)
        return sorted(keys)

    def _facet_values(self, instance: Product, facet: str) -> list[str]:
        prefix = f"{facet}:"
        return [
            k[len(prefix) :]
            for k in self.prepare_option_keys(instance)
            if k.startswith(prefix) and PAIR_SEPARATOR not in k
        ]

    def prepare_colour(self, instance: Product) -> list[str]:
        return self._facet_values(instance, "colour")

    def prepare_size(self, instance: Product) -> list[str]:
        return self._facet_values(instance, "size")

    def prepare_material(self, instance: Product) -> list[str]:
        return self._facet_values(instance, "material")

    def prepare_offer_prices(self, instance: Product) -> list[float]:
        """Every price a buyer can pay now (a plain listing: its price)."""
        prices = sorted({float(o.price) for o in self._offerings(instance)})
        return prices or [float(instance.price)]

    def prepare_price_max(self, instance: Product) -> float:
        return self.prepare_offer_prices(instance)[-1]

    def prepare_option_words(self, instance: Product) -> str:
        """The properties' names and options' values, as the PostgreSQL vector holds them."""
        return " ".join(
            " ".join([variation.name, *(option.value for option in variation.options.all())])
            for variation in instance.variations.all()
        )

    def prepare_shop_id(self, instance: Product) -> str:
        return str(instance.shop_id)

    def prepare_shop_rating(self, instance: Product) -> float | None:
        rating = instance.shop.rating
        return float(rating) if rating is not None else None

    def prepare_is_active(self, instance: Product) -> bool:
        return instance.is_listed

    def prepare_tags(self, instance: Product) -> list[str]:
        """The seller's tags, plus "vintage" for vintage listings (as in the PostgreSQL vector)."""
        tags = list(instance.tags or [])
        if instance.is_vintage and "vintage" not in tags:
            tags.append("vintage")
        return tags

    def prepare_category_names(self, instance: Product) -> str:
        names = self.__dict__.get("_category_names")
        if names is None:  # the tree is small: one query per document instance, not per listing
            names = dict(Category.objects.values_list("pk", "name"))
            object.__setattr__(self, "_category_names", names)
        ids = [int(part) for part in instance.category.path.strip("/").split("/") if part]
        return " ".join(names[i] for i in ids if i in names) or instance.category.name
