"""Catalog reads, a module per capability: listings, categories, product detail, similar items, favorites, feed.

``categories`` (the cached tree and reads over it), ``listings`` (category and shop listings, their cached pages
and signatures), ``products`` (cards by id, one product's detail, a seller's own listings), ``offerings`` (what a
buyer's choice resolves to), ``inventory`` (live stock and holds), ``choices`` (the product page's variation
selects and personalisation), ``similar`` (similar items), ``feed`` (trending and the home feed), ``favorites``,
``product_pages`` (a product page's signature, read for many due pages at once).

Reads that pages hit on every request are cached through ``etsy.cache`` (cache-aside
with a stampede lock); their keys are invalidated by ``catalog.receivers``.
Every list returned for rendering is already ``select_related``/prefetched.

Callers use the names below (``from catalog import selectors``). They stay here for the records too: values
cached before the selectors became a package were pickled as ``catalog.selectors.<Class>`` (``CategoryTree``,
``ProductPage``, ``Inventory``, ``ListingChoices``, ``FavoriteIds``...), and pickle finds them through these names.
A test that replaces a name one selector reads from another patches the module that reads it
(``catalog.selectors.listings.COUNT_CAP``): replacing it here changes only this namespace.
"""

from catalog.selectors.categories import (
    CategoryTree,
    get_category,
    get_category_tree,
    list_categories_tree,
    list_category_ancestors,
    list_category_ids,
)
from catalog.selectors.choices import (
    CHOICE_MESSAGES,
    ChoiceState,
    ListingChoices,
    OfferingChoice,
    OptionChoice,
    PropertyChoice,
    get_listing_choices,
    read_listing_choices,
)
from catalog.selectors.favorites import (
    FavoriteIds,
    get_favorite_ids,
    list_favorites,
)
from catalog.selectors.feed import (
    get_home_feed,
    list_trending_products,
)
from catalog.selectors.inventory import (
    Inventory,
    OfferingStock,
    get_inventories,
    get_inventory,
)
from catalog.selectors.listings import (
    COUNT_CAP,
    DEFAULT_ORDERING,
    LISTING_CARD_FIELDS,
    MERGED_ORDERINGS,
    ORDERINGS,
    RECENT_COUNT_SECONDS,
    ListingPageQuery,
    ProductPage,
    list_products,
    list_products_page,
    read_listing_signatures,
)
from catalog.selectors.offerings import (
    check_offering_available,
    get_offering,
    get_offering_for_choice,
    list_offerings,
    list_offerings_for_choice,
    list_variations,
    offering_choice_sql,
)
from catalog.selectors.product_pages import (
    PAGE_PARTS,
    changed_parts,
    product_page_signature,
    read_product_page_signatures,
)
from catalog.selectors.products import (
    get_product_cards,
    get_product_detail,
    get_product_for_seller,
    list_products_by_ids,
    list_products_for_seller,
)
from catalog.selectors.similar import (
    SIMILAR_PER_SHOP,
    SIMILAR_SPARE,
    list_similar_products,
)

__all__ = [
    "CHOICE_MESSAGES",
    "COUNT_CAP",
    "CategoryTree",
    "ChoiceState",
    "DEFAULT_ORDERING",
    "FavoriteIds",
    "Inventory",
    "LISTING_CARD_FIELDS",
    "ListingChoices",
    "ListingPageQuery",
    "MERGED_ORDERINGS",
    "ORDERINGS",
    "OfferingChoice",
    "OfferingStock",
    "PAGE_PARTS",
    "OptionChoice",
    "ProductPage",
    "PropertyChoice",
    "RECENT_COUNT_SECONDS",
    "SIMILAR_PER_SHOP",
    "SIMILAR_SPARE",
    "changed_parts",
    "check_offering_available",
    "get_category",
    "get_category_tree",
    "get_favorite_ids",
    "get_home_feed",
    "get_inventories",
    "get_inventory",
    "get_listing_choices",
    "get_offering",
    "get_offering_for_choice",
    "get_product_cards",
    "get_product_detail",
    "get_product_for_seller",
    "list_categories_tree",
    "list_category_ancestors",
    "list_category_ids",
    "list_favorites",
    "list_offerings",
    "list_offerings_for_choice",
    "list_products",
    "list_products_by_ids",
    "list_products_for_seller",
    "list_products_page",
    "list_similar_products",
    "list_trending_products",
    "list_variations",
    "offering_choice_sql",
    "product_page_signature",
    "read_listing_choices",
    "read_listing_signatures",
    "read_product_page_signatures",
]

# Records cached in Redis name their classes by module. They keep naming this package, as they did when the
# selectors were one module: a record written by this code is read by a worker still on the code before the
# package (a rolling deploy, a rollback), and the package re-exports each class, so this code reads them too.
for _cls in (
    CategoryTree,
    ProductPage,
    Inventory,
    OfferingStock,
    ListingChoices,
    PropertyChoice,
    OptionChoice,
    OfferingChoice,
    FavoriteIds,
):
    _cls.__module__ = __name__
del _cls
