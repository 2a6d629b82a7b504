"""Catalog models: the category tree, listings with their variations and offerings, photos, favorites and views."""

from __future__ import annotations

from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.contrib.postgres.indexes import GinIndex
from django.contrib.postgres.search import SearchVectorField
from django.core.exceptions import ValidationError
from django.db import models, transaction
from django.db.models import F, Q, Value
from django.db.models.functions import Concat, Substr
from django.urls import reverse

from catalog.exceptions import PersonalizationNotAccepted, PersonalizationRequired, PersonalizationTooLong
from etsy.names import validate_visible_text


class Category(models.Model):
    """A node of the category tree. ``path`` holds the ids from the root ("/3/17/")."""

    name = models.CharField(max_length=100)
    slug = models.SlugField(max_length=120, unique=True)
    parent = models.ForeignKey("self", null=True, blank=True, on_delete=models.PROTECT, related_name="children")
    path = models.CharField(max_length=255, editable=False, db_index=True, default="")
    position = models.PositiveSmallIntegerField(default=0)
    description = models.TextField(blank=True)

    class Meta:
        ordering = ["position", "name"]
        verbose_name_plural = "categories"
        indexes = [models.Index(fields=["path"], name="category_path_prefix", opclasses=["varchar_pattern_ops"])]

    def __str__(self) -> str:
        return self.name

    def save(self, *args, **kwargs):
        with transaction.atomic():
            super().save(*args, **kwargs)
            path = f"{self.parent.path if self.parent_id else '/'}{self.pk}/"
            if path != self.path:
                old, self.path = self.path, path
                Category.objects.filter(pk=self.pk).update(path=path)
                if old:  # moved: its whole subtree moves with it
                    Category.objects.filter(path__startswith=old).exclude(pk=self.pk).update(
                        path=Concat(Value(path), Substr("path", len(old) + 1))
                    )

    def get_absolute_url(self) -> str:
        return reverse("catalog:category", kwargs={"slug": self.slug})

    def clean(self) -> None:
        if self.pk and self.parent_id and f"/{self.pk}/" in self.parent.path:
            raise ValidationError({"parent": "A category cannot sit under itself or one of its subcategories."})

    @property
    def depth(self) -> int:
        return self.path.count("/") - 2


#: "Only N left" on pages and the sellers' low-stock digest.
LOW_STOCK_THRESHOLD = 3


class StockWords:
    """What pages say about a quantity; a listing and its live stock (catalog.selectors.Inventory) share them."""

    quantity: int

    @property
    def is_sold_out(self) -> bool:
        return self.quantity <= 0

    @property
    def is_unique(self) -> bool:
        """One of a kind: the one piece there is (it gets a 15-minute hold in a cart)."""
        return self.quantity == 1

    @property
    def is_low_stock(self) -> bool:
        return 0 < self.quantity <= LOW_STOCK_THRESHOLD


def purchasable_sql(*, product: str = "p", shop: str = "s") -> str:
    """``ProductQuerySet.purchasable()`` for hand-written SQL over a product row and its shop row (aliases given).

    The search app's trigger keeps its listing table to exactly these rows; tests/catalog/test_rules.py checks that
    the queryset, this expression and that table agree.
    """
    return f"({product}.is_active AND {shop}.is_active AND {product}.in_stock AND {product}.reserved_for_id IS NULL)"


class ProductQuerySet(models.QuerySet):
    def listed(self) -> ProductQuerySet:
        """Listings buyers may see: active, in an open shop, reserved for nobody (a sold-out page stays reachable)."""
        return self.filter(is_active=True, shop__is_active=True, reserved_for__isnull=True)

    def visible_to(self, user_id: int | None) -> ProductQuerySet:
        """Listed, plus the active listings of open shops reserved for this buyer (custom orders)."""
        if user_id is None:
            return self.listed()
        return self.filter(is_active=True, shop__is_active=True).filter(
            Q(reserved_for__isnull=True) | Q(reserved_for_id=user_id)
        )

    def purchasable(self) -> ProductQuerySet:
        """Listed and in stock: what may be put in a cart, searched, recommended."""
        return self.listed().filter(in_stock=True)

    def needs_restock(self) -> ProductQuerySet:
        """Low stock or sold out: what a seller's digest lists (one shop's listings: its index finds them)."""
        return self.filter(quantity__lte=LOW_STOCK_THRESHOLD)


#: Etsy's bounds on the buyer's personalisation text.
PERSONALIZATION_DEFAULT_MAX = 256
PERSONALIZATION_LIMIT = 1024


class Personalization(models.TextChoices):
    NONE = "none", "Not asked"
    OPTIONAL = "optional", "Optional"
    REQUIRED = "required", "Required"


class Product(StockWords, models.Model):
    """A listing. Most handmade and vintage listings are unique (quantity 1).

    ``price`` and ``quantity`` are the totals of its offerings (see ``Offering``): what cards,
    search and "in stock" read without joining them; ``has_price_range`` says its switched-on
    offerings differ in price, so ``price`` is a "from" price (the cards' "from $X").
    """

    shop = models.ForeignKey("shops.Shop", on_delete=models.CASCADE, related_name="products")
    title = models.CharField(max_length=200)
    slug = models.SlugField(max_length=220)
    description = models.TextField(blank=True)
    price = models.DecimalField(max_digits=10, decimal_places=2)
    quantity = models.IntegerField(default=1)
    # Any unit left, computed by PostgreSQL: the listed-listing indexes' condition reads it rather than the quantity,
    # so a sale that leaves the listing in stock updates its row in place (a HOT update writes none of its indexes;
    # an index or index condition on the quantity made every sale write all of them, both GIN indexes included).
    in_stock = models.GeneratedField(expression=Q(quantity__gt=0), output_field=models.BooleanField(), db_persist=True)
    # Kept with the totals by catalog.stock.refresh_listing_totals: a card shows "from $X" without the offerings.
    has_price_range = models.BooleanField(default=False, db_default=False)
    # No index of its own: product_category_popular_idx leads with it (every sale rewrites each index of a listing).
    category = models.ForeignKey(Category, on_delete=models.PROTECT, related_name="products", db_index=False)
    tags = ArrayField(models.CharField(max_length=50), default=list, blank=True)
    is_vintage = models.BooleanField(default=False)
    is_active = models.BooleanField(default=True)
    # A custom piece made for one buyer: only they see and buy it (never listed, searched or recommended).
    reserved_for = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.CASCADE,  # never SET_NULL: that would publish a piece made for one buyer
        related_name="reserved_listings",
        help_text="A custom order: only this buyer can see and buy the listing.",
    )
    # Text the buyer writes for this piece (initials to engrave): not asked, optional or required.
    personalization = models.CharField(max_length=10, choices=Personalization.choices, default=Personalization.NONE)
    personalization_prompt = models.CharField(max_length=200, blank=True)
    personalization_max_length = models.PositiveSmallIntegerField(default=PERSONALIZATION_DEFAULT_MAX)
    # Denormalized counters, refreshed in batches (views) or by services (favorites).
    view_count = models.PositiveIntegerField(default=0)
    favorite_count = models.PositiveIntegerField(default=0)
    # Weighted full-text vector (title A, tags B, description C), maintained by the search app.
    search_vector = SearchVectorField(null=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)  # indexed newest first: product_created_desc_idx
    updated_at = models.DateTimeField(auto_now=True)

    objects = ProductQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(condition=Q(quantity__gte=0), name="product_quantity_nonnegative"),
            models.CheckConstraint(condition=Q(price__gte=0), name="product_price_nonnegative"),
            models.CheckConstraint(
                condition=Q(personalization_max_length__gte=1)
                & Q(personalization_max_length__lte=PERSONALIZATION_LIMIT),
                name="product_personalization_limit",
            ),
        ]
        indexes = [
            models.Index(fields=["price"], name="product_price_idx"),
            models.Index(fields=["-created_at"], name="product_created_desc_idx"),
            # "Most loved" listings of a category (the category pages' popular sort) without sorting it all.
            models.Index(
                fields=["category", "-favorite_count", "-view_count", "-id"], name="product_category_popular_idx"
            ),
            # Counting a category's listings (the category pages' "(9,600+ items)") from the index alone:
            # the listed-and-in-stock rows with the two columns the count joins on.
            models.Index(
                fields=["category", "shop"],
                name="product_listed_category_idx",
                condition=Q(is_active=True, in_stock=True, reserved_for__isnull=True),
            ),
            # A category's listings by price (the category pages' price sorts, each subcategory read in order and
            # merged: catalog.selectors.list_products_page), not a walk of the whole catalog's price index past
            # every cheaper listing of other categories (234k rows, 2.5 s at 1M listings).
            models.Index(
                fields=["category", "price", "id"],
                name="product_listed_price_idx",
                condition=Q(is_active=True, in_stock=True, reserved_for__isnull=True),
            ),
            # A category's newest listings (the category pages' default sort, subcategories merged as for price),
            # not a walk of the whole catalog's newest-first index past every other category's listings (a leaf
            # category's third page: 3,961 index pages for 72 rows at 1M listings, 11-25 ms; 78 with this index).
            models.Index(
                fields=["category", "-created_at", "-id"],
                name="product_listed_newest_idx",
                condition=Q(is_active=True, in_stock=True, reserved_for__isnull=True),
            ),
            # The trending pool's fill (catalog.personalization.compute_trending_ids): the most loved listed
            # listings in order, not a sort of the whole catalog (0.5 s at 500k listings).
            models.Index(
                F("favorite_count").desc(),
                F("view_count").desc(),
                F("created_at").desc(),
                name="product_listed_loved_idx",
                condition=Q(is_active=True, in_stock=True, reserved_for__isnull=True),
            ),
            GinIndex(fields=["search_vector"], name="product_search_vector_gin"),
            GinIndex(fields=["tags"], name="product_tags_gin"),
        ]

    def __str__(self) -> str:
        return self.title

    def get_absolute_url(self) -> str:
        return reverse("catalog:product", kwargs={"pk": self.pk, "slug": self.slug})

    def clean(self) -> None:
        # The title's rule lives in etsy.names (one validator for every name and title); applied here
        # rather than as a field validator so that forms get it without a schema migration.
        try:
            validate_visible_text(self.title)
        except ValidationError as exc:
            raise ValidationError({"title": exc.error_list}) from None

    @property
    def is_listed(self) -> bool:
        """The row form of ``Product.objects.listed()`` (reads the shop: load it with select_related)."""
        return self.is_listed_for(None)

    def is_listed_for(self, user_id: int | None, *, shop=None) -> bool:
        """The row form of ``Product.objects.visible_to(user_id)``: listed, or reserved for this buyer.

        ``shop`` is the listing's shop when the caller holds it apart (a cached shop card); else ``self.shop``.
        """
        shop = shop if shop is not None else self.shop
        if not (self.is_active and shop.is_active):
            return False
        return self.reserved_for_id is None or (user_id is not None and self.reserved_for_id == user_id)

    @property
    def is_purchasable(self) -> bool:
        """The row form of ``Product.objects.purchasable()``."""
        return self.is_listed and self.quantity > 0

    def clean_personalization(self, text: str | None) -> str:
        """Return the buyer's personalisation text for this listing, stripped of surrounding whitespace.

        The one home of the rule, for cart lines (API, pages, guest carts) alike. Raises
        PersonalizationRequired (asked and required, none given), PersonalizationTooLong (past
        ``personalization_max_length`` characters), PersonalizationNotAccepted (text given where none is asked).
        """
        text = (text or "").strip()
        if self.personalization == Personalization.NONE:
            if text:
                raise PersonalizationNotAccepted()
            return ""
        if not text and self.personalization == Personalization.REQUIRED:
            raise PersonalizationRequired(
                self.personalization_prompt or PersonalizationRequired.default_message,
                extra={"max_length": self.personalization_max_length},
            )
        if len(text) > self.personalization_max_length:
            raise PersonalizationTooLong(
                f"Your personalisation text is {len(text)} characters; this item takes at most "
                f"{self.personalization_max_length}.",
                extra={"max_length": self.personalization_max_length, "length": len(text)},
            )
        return text


class Variation(models.Model):
    """One of a listing's at most two variation properties ("Size", "Metal"), with its options in order."""

    MAX_PER_LISTING = 2

    product = models.ForeignKey(Product, on_delete=models.CASCADE, related_name="variations")
    name = models.CharField(max_length=40)
    # 0 or 1: which of the offering's two option columns holds this property's option.
    position = models.PositiveSmallIntegerField()

    class Meta:
        ordering = ["position"]
        constraints = [
            models.UniqueConstraint(fields=["product", "position"], name="variation_unique_position"),
            models.UniqueConstraint(fields=["product", "name"], name="variation_unique_name"),
            models.CheckConstraint(condition=Q(position__lte=1), name="variation_at_most_two"),
        ]

    def __str__(self) -> str:
        return self.name


class VariationOption(models.Model):
    """One value a buyer can choose for a variation property ("7", "Sterling silver")."""

    variation = models.ForeignKey(Variation, on_delete=models.CASCADE, related_name="options")
    value = models.CharField(max_length=60)
    position = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["position", "id"]
        constraints = [models.UniqueConstraint(fields=["variation", "value"], name="variation_option_unique_value")]

    def __str__(self) -> str:
        return self.value


class OfferingQuerySet(models.QuerySet):
    def on_sale(self) -> OfferingQuerySet:
        """Offerings a buyer may choose: switched on (stock is read separately, as for listings)."""
        return self.filter(is_enabled=True)


class Offering(StockWords, models.Model):
    """What is sold: one combination of a listing's options, or the listing itself when it has none.

    Every cart line and order line points at an offering, so variations and plain listings share one
    stock path (``catalog.stock``). A listing without variations has exactly one offering with no
    options. ``Product.price`` and ``Product.quantity`` are the listing's totals over its switched-on
    offerings (lowest price, summed quantity), kept by ``catalog.stock`` in the same transaction.
    """

    product = models.ForeignKey(Product, on_delete=models.CASCADE, related_name="offerings")
    option1 = models.ForeignKey(
        VariationOption, null=True, blank=True, on_delete=models.CASCADE, related_name="offerings_first"
    )
    option2 = models.ForeignKey(
        VariationOption, null=True, blank=True, on_delete=models.CASCADE, related_name="offerings_second"
    )
    price = models.DecimalField(max_digits=10, decimal_places=2)
    quantity = models.IntegerField(default=1)
    sku = models.CharField(max_length=64, blank=True)
    is_enabled = models.BooleanField(default=True)

    objects = OfferingQuerySet.as_manager()

    class Meta:
        ordering = ["product", "id"]
        constraints = [
            models.CheckConstraint(condition=Q(quantity__gte=0), name="offering_quantity_nonnegative"),
            models.CheckConstraint(condition=Q(price__gte=0), name="offering_price_nonnegative"),
            models.CheckConstraint(
                condition=Q(option2__isnull=True) | Q(option1__isnull=False), name="offering_options_in_order"
            ),
            # One offering per combination; NULLS NOT DISTINCT makes the plain listing's (NULL, NULL) unique too.
            models.UniqueConstraint(
                fields=["product", "option1", "option2"], name="offering_unique_combination", nulls_distinct=False
            ),
        ]

    def __str__(self) -> str:
        label = self.options_label
        return f"{self.product_id}: {label}" if label else f"{self.product_id}"

    @property
    def options_label(self) -> str:
        """ "Size: 7, Metal: Silver" (load option1/2 and their variations with select_related)."""
        options = [option for option in (self.option1, self.option2) if option is not None]
        return ", ".join(f"{option.variation.name}: {option.value}" for option in options)


class ProductImage(models.Model):
    """One picture of a listing; ``position`` orders the gallery (0 is the cover)."""

    product = models.ForeignKey(Product, on_delete=models.CASCADE, related_name="images")
    image = models.ImageField(upload_to="products/%Y/%m/", width_field="width", height_field="height")
    thumbnail = models.ImageField(upload_to="products/thumbs/%Y/%m/", blank=True)
    alt_text = models.CharField(max_length=200, blank=True)
    position = models.PositiveSmallIntegerField(default=0)
    width = models.PositiveIntegerField(null=True, blank=True, editable=False)
    height = models.PositiveIntegerField(null=True, blank=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["position", "id"]

    def __str__(self) -> str:
        return self.alt_text or f"Image {self.position} of {self.product_id}"


class Favorite(models.Model):
    """A buyer's favorite: exactly one of product or shop."""

    class Kind(models.TextChoices):
        PRODUCT = "product", "Product"
        SHOP = "shop", "Shop"

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="favorites")
    kind = models.CharField(max_length=20, choices=Kind.choices)
    product = models.ForeignKey(Product, null=True, blank=True, on_delete=models.CASCADE, related_name="favorites")
    shop = models.ForeignKey("shops.Shop", null=True, blank=True, on_delete=models.CASCADE, related_name="favorites")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.CheckConstraint(
                condition=(Q(kind="product", product__isnull=False, shop__isnull=True))
                | (Q(kind="shop", shop__isnull=False, product__isnull=True)),
                name="favorite_exactly_one_target",
            ),
            models.UniqueConstraint(
                fields=["user", "product"], condition=Q(kind="product"), name="favorite_unique_product"
            ),
            models.UniqueConstraint(fields=["user", "shop"], condition=Q(kind="shop"), name="favorite_unique_shop"),
        ]
        indexes = [models.Index(fields=["user", "kind"], name="favorite_user_kind_idx")]

    def __str__(self) -> str:
        return f"{self.user_id} ♥ {self.kind} {self.product_id or self.shop_id}"


class ProductView(models.Model):
    """A product page view, written in batches (never synchronously per request)."""

    product = models.ForeignKey(Product, on_delete=models.CASCADE, related_name="views")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.CASCADE, related_name="product_views"
    )
    session_key = models.CharField(max_length=64, blank=True)
    viewed_at = models.DateTimeField(db_index=True)

    class Meta:
        indexes = [
            models.Index(fields=["user", "-viewed_at"], name="productview_user_recent"),
            models.Index(fields=["product", "viewed_at"], name="productview_product_time"),
        ]

    def __str__(self) -> str:
        return f"view of {self.product_id} at {self.viewed_at:%Y-%m-%d %H:%M}"
