"""Shapes of catalog data in the API. Validation of shape only; rules live in services."""

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from catalog.models import (
    PERSONALIZATION_DEFAULT_MAX,
    PERSONALIZATION_LIMIT,
    Category,
    Favorite,
    Personalization,
    Product,
    ProductImage,
)
from catalog.selectors import DEFAULT_ORDERING, ORDERINGS
from etsy.api.fields import (
    MAX_ID,
    MAX_QUANTITY,
    MONEY_KWARGS,
    DecimalStringField,
    QuerySerializer,
    StrictJsonSerializer,
)
from etsy.names import validate_visible_text
from shops.models import Shop


def _absolute(request, url: str) -> str:
    return request.build_absolute_uri(url) if request is not None else url


class CategoryNodeSerializer(serializers.ModelSerializer):
    depth = serializers.IntegerField(read_only=True)

    class Meta:
        model = Category
        fields = ["id", "name", "slug", "parent_id", "depth", "description"]


# A category with its subcategories, to any depth (the tree the selector built).
CategoryNodeSerializer._declared_fields["children"] = CategoryNodeSerializer(
    many=True, read_only=True, source="tree_children"
)
CategoryNodeSerializer.Meta.fields = [*CategoryNodeSerializer.Meta.fields, "children"]


class CategorySummarySerializer(serializers.ModelSerializer):
    class Meta:
        model = Category
        fields = ["id", "name", "slug"]


class ShopSummarySerializer(serializers.ModelSerializer):
    class Meta:
        model = Shop
        fields = ["id", "name", "slug", "location", "rating", "review_count"]


class ProductImageSerializer(serializers.ModelSerializer):
    url = serializers.SerializerMethodField()
    thumbnail_url = serializers.SerializerMethodField()

    class Meta:
        model = ProductImage
        fields = ["id", "url", "thumbnail_url", "alt_text", "width", "height", "position"]

    def get_url(self, image: ProductImage) -> str:
        return _absolute(self.context.get("request"), image.image.url)

    def get_thumbnail_url(self, image: ProductImage) -> str | None:
        if not image.thumbnail:
            return None
        return _absolute(self.context.get("request"), image.thumbnail.url)


class ProductCardSerializer(serializers.ModelSerializer):
    """A listing as shown in lists: the cover picture, shop and category."""

    shop = ShopSummarySerializer(read_only=True)
    category = CategorySummarySerializer(read_only=True)
    cover = serializers.SerializerMethodField()
    is_unique = serializers.BooleanField(read_only=True)
    is_sold_out = serializers.BooleanField(read_only=True)

    class Meta:
        model = Product
        fields = [
            "id",
            "title",
            "slug",
            "price",
            "quantity",
            "is_unique",
            "is_sold_out",
            "is_vintage",
            "tags",
            "favorite_count",
            "shop",
            "category",
            "cover",
            "created_at",
        ]

    @extend_schema_field(ProductImageSerializer(allow_null=True))
    def get_cover(self, product: Product):
        images = list(product.images.all())  # prefetched by the selectors
        if not images:
            return None
        return ProductImageSerializer(images[0], context=self.context).data


class OptionOutSerializer(serializers.Serializer):
    id = serializers.IntegerField(source="pk")
    value = serializers.CharField()


class VariationOutSerializer(serializers.Serializer):
    id = serializers.IntegerField(source="pk")
    name = serializers.CharField(help_text='The property, e.g. "Size".')
    options = OptionOutSerializer(many=True)


class OfferingOutSerializer(serializers.Serializer):
    id = serializers.IntegerField(source="pk", help_text="The `offering_id` to add to the cart.")
    option_ids = serializers.ListField(child=serializers.IntegerField(), help_text="One option per property, in order.")
    options = serializers.CharField(source="label", help_text='"Size: 7, Metal: Silver"; empty for a plain listing.')
    price = serializers.DecimalField(max_digits=10, decimal_places=2)
    stock = serializers.IntegerField(source="quantity")
    is_available = serializers.SerializerMethodField(help_text="Switched on and in stock.")

    def get_is_available(self, offering) -> bool:
        return offering.is_enabled and not offering.is_sold_out  # StockWords: the one "sold out" rule


class PersonalizationOutSerializer(serializers.Serializer):
    mode = serializers.ChoiceField(choices=["none", "optional", "required"], source="personalization")
    prompt = serializers.CharField(source="personalization_prompt")
    max_length = serializers.IntegerField(source="personalization_max_length")


class ProductDetailSerializer(ProductCardSerializer):
    images = ProductImageSerializer(many=True, read_only=True)
    variations = serializers.SerializerMethodField(help_text="The properties a buyer chooses (0 to 2).")
    offerings = serializers.SerializerMethodField(
        help_text="What is sold: one per combination (one, with no options, for a plain listing), live stock."
    )
    personalization = serializers.SerializerMethodField(help_text="The text the seller asks the buyer for.")
    is_reserved = serializers.SerializerMethodField(
        help_text="True while another buyer holds this unique listing in their cart."
    )
    reserved_until = serializers.SerializerMethodField()
    is_favorite = serializers.SerializerMethodField()
    url = serializers.SerializerMethodField(help_text="The listing's web page.")

    class Meta(ProductCardSerializer.Meta):
        fields = [
            *ProductCardSerializer.Meta.fields,
            "description",
            "images",
            "view_count",
            "is_reserved",
            "reserved_until",
            "is_favorite",
            "url",
            "updated_at",
            "variations",
            "offerings",
            "personalization",
        ]

    @extend_schema_field(VariationOutSerializer(many=True))
    def get_variations(self, product):
        return VariationOutSerializer(self.context["choices"].properties, many=True).data

    @extend_schema_field(OfferingOutSerializer(many=True))
    def get_offerings(self, product):
        return OfferingOutSerializer(self.context["choices"].offerings, many=True).data

    @extend_schema_field(PersonalizationOutSerializer)
    def get_personalization(self, product):
        return PersonalizationOutSerializer(self.context["choices"]).data

    def _reserved_for_other(self) -> bool:
        inventory = self.context["inventory"]
        user = self.context["request"].user
        return inventory.is_reserved_for_other(user.pk if user.is_authenticated else None)

    def get_is_reserved(self, product: Product) -> bool:
        return self._reserved_for_other()

    @extend_schema_field(serializers.DateTimeField(allow_null=True))
    def get_reserved_until(self, product: Product):
        if not self._reserved_for_other():
            return None
        return serializers.DateTimeField().to_representation(self.context["inventory"].reserved_until)

    def get_is_favorite(self, product: Product) -> bool:
        favorite_ids = self.context.get("favorite_ids")
        return bool(favorite_ids and product.pk in favorite_ids.product_ids)

    def get_url(self, product: Product) -> str:
        return _absolute(self.context.get("request"), product.get_absolute_url())


class ProductFilterSerializer(QuerySerializer):
    """Query parameters of GET /products."""

    category = serializers.SlugField(
        required=False, max_length=120, help_text="Category slug; includes its subcategories."
    )
    shop = serializers.IntegerField(required=False, min_value=1, max_value=MAX_ID, help_text="Shop id.")
    price_min = DecimalStringField(required=False, help_text="Inclusive lower bound.", **MONEY_KWARGS)
    price_max = DecimalStringField(required=False, help_text="Exclusive upper bound.", **MONEY_KWARGS)
    vintage = serializers.BooleanField(required=False, help_text="Only vintage (true) or only new (false).")
    in_stock = serializers.BooleanField(required=False, default=True, help_text="Only listings in stock.")
    ordering = serializers.ChoiceField(choices=list(ORDERINGS), required=False, default=DEFAULT_ORDERING)

    def listing_filters(self) -> dict:
        """The validated parameters as catalog.selectors.list_products arguments."""
        data = self.validated_data
        return {
            "category_slug": data.get("category"),
            "shop_id": data.get("shop"),
            "price_min": data.get("price_min"),
            "price_max": data.get("price_max"),
            "vintage": data.get("vintage"),
            "in_stock": data["in_stock"],
            "ordering": data["ordering"],
        }


class FavoriteSerializer(serializers.ModelSerializer):
    product = ProductCardSerializer(read_only=True, allow_null=True)
    shop = ShopSummarySerializer(read_only=True, allow_null=True)

    class Meta:
        model = Favorite
        fields = ["id", "kind", "product", "shop", "created_at"]


class FavoriteRequestSerializer(StrictJsonSerializer):
    kind = serializers.ChoiceField(choices=Favorite.Kind.choices, help_text="What to favorite.")
    id = serializers.IntegerField(min_value=1, max_value=MAX_ID, help_text="The listing's or the shop's id.")


class FeedParamsSerializer(QuerySerializer):
    limit = serializers.IntegerField(required=False, default=24, min_value=1, max_value=48)


class SellerProductSerializer(ProductCardSerializer):
    images = ProductImageSerializer(many=True, read_only=True)

    class Meta(ProductCardSerializer.Meta):
        fields = [
            *ProductCardSerializer.Meta.fields,
            "description",
            "is_active",
            "images",
            "view_count",
            "personalization",
            "personalization_prompt",
            "personalization_max_length",
            "updated_at",
        ]


class ProductWriteSerializer(StrictJsonSerializer):
    """Fields of a listing a seller sets; checks are the listing service's."""

    title = serializers.CharField(max_length=200, validators=[validate_visible_text])
    description = serializers.CharField(required=False, allow_blank=True, max_length=20000)
    price = DecimalStringField(**MONEY_KWARGS)
    quantity = serializers.IntegerField(required=False, min_value=0, max_value=MAX_QUANTITY)
    category = serializers.SlugField(max_length=120, help_text="Category slug.")
    tags = serializers.ListField(child=serializers.CharField(max_length=50), required=False)
    is_vintage = serializers.BooleanField(required=False)
    is_active = serializers.BooleanField(required=False)


class ProductImageUploadSerializer(serializers.Serializer):
    image = serializers.FileField(help_text="JPEG, PNG, GIF or WebP; at most 10 MB (checked by etsy.images).")
    alt_text = serializers.CharField(required=False, allow_blank=True, max_length=200, default="")


class SellerVariationSerializer(StrictJsonSerializer):
    """A variation property: its name and its options, in order."""

    name = serializers.CharField(max_length=40)
    options = serializers.ListField(child=serializers.CharField(max_length=60), max_length=70)


class SellerOfferingSerializer(serializers.Serializer):
    """One offering of the grid: the option values in property order (empty for a plain listing)."""

    id = serializers.IntegerField(read_only=True)
    options = serializers.SerializerMethodField()
    price = DecimalStringField(**MONEY_KWARGS)
    quantity = serializers.IntegerField(min_value=0)
    sku = serializers.CharField(allow_blank=True)
    is_enabled = serializers.BooleanField()

    def get_options(self, offering) -> list[str]:
        return [option.value for option in (offering.option1, offering.option2) if option is not None]


class SellerOfferingsSerializer(serializers.Serializer):
    """A listing's properties and its grid of offerings (one per combination)."""

    variations = serializers.SerializerMethodField()
    offerings = SellerOfferingSerializer(many=True)

    @extend_schema_field(SellerVariationSerializer(many=True))
    def get_variations(self, grid) -> list[dict]:
        return [{"name": v.name, "options": [o.value for o in v.options.all()]} for v in grid["variations"]]


class SellerOfferingWriteSerializer(StrictJsonSerializer):
    """One row of the grid as sent: each combination of the properties' options exactly once."""

    options = serializers.ListField(
        child=serializers.CharField(max_length=60),
        max_length=2,
        help_text="The option of each property, in the properties' order; [] for a listing without variations.",
    )
    price = DecimalStringField(**MONEY_KWARGS)
    quantity = serializers.IntegerField(min_value=0, max_value=1_000_000)
    sku = serializers.CharField(required=False, allow_blank=True, max_length=64, default="")
    is_enabled = serializers.BooleanField(required=False, default=True)


class SellerOfferingsWriteSerializer(StrictJsonSerializer):
    """The whole grid: 0-2 properties and every combination's price, quantity, SKU and on/off."""

    variations = SellerVariationSerializer(many=True, max_length=2)
    offerings = SellerOfferingWriteSerializer(many=True, max_length=5000)


class SellerOfferingPatchSerializer(StrictJsonSerializer):
    """Fields of one offering to change; switching it off is ``is_enabled: false``."""

    price = DecimalStringField(required=False, **MONEY_KWARGS)
    quantity = serializers.IntegerField(required=False, min_value=0, max_value=1_000_000)
    sku = serializers.CharField(required=False, allow_blank=True, max_length=64)
    is_enabled = serializers.BooleanField(required=False)


class SellerPersonalizationSerializer(StrictJsonSerializer):
    """Whether the buyer writes text for this listing (initials to engrave), what to ask, how long it may be."""

    personalization = serializers.ChoiceField(choices=Personalization.choices)
    personalization_prompt = serializers.CharField(required=False, allow_blank=True, max_length=200, default="")
    personalization_max_length = serializers.IntegerField(
        required=False, min_value=1, max_value=PERSONALIZATION_LIMIT, default=PERSONALIZATION_DEFAULT_MAX
    )
