from decimal import Decimal

import factory

from catalog.models import Category, Favorite, Product
from catalog.stock import create_implicit_offerings
from tests.shops.factories import ShopFactory


class CategoryFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Category

    name = factory.Sequence(lambda n: f"Category {n}")
    slug = factory.Sequence(lambda n: f"category-{n}")


class ProductFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Product
        skip_postgeneration_save = True

    shop = factory.SubFactory(ShopFactory)
    category = factory.SubFactory(CategoryFactory)
    title = factory.Sequence(lambda n: f"Hand-thrown stoneware mug {n}")
    slug = factory.Sequence(lambda n: f"hand-thrown-stoneware-mug-{n}")
    description = "A sturdy mug glazed in deep blue."
    price = Decimal("24.00")
    quantity = 1
    tags = factory.LazyFunction(lambda: ["ceramic", "mug"])

    @factory.post_generation
    def offering(obj, create, extracted, **kwargs):
        """Every listing sells through an offering: a plain one gets its implicit offering."""
        if create:
            create_implicit_offerings(product_ids=[obj.pk])


class FavoriteFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Favorite

    user = factory.SubFactory("tests.accounts.factories.UserFactory")
    kind = Favorite.Kind.PRODUCT
    product = factory.SubFactory(ProductFactory)


def add_variations(product: Product, properties: dict[str, list[str]], *, price=None, prices=None, quantity: int = 1):
    """Give a listing its variation properties and one offering per combination (replacing the implicit one).

    ``properties``: {"Size": ["6", "7"], "Metal": ["Silver", "Gold"]} (at most two). Every offering gets
    ``price`` (the listing's by default) and ``quantity``; ``prices`` ({value or (value, value): price}) sets
    some combinations apart. The listing's totals are refreshed. Returns {(value, ...): offering}.
    """
    from itertools import product as combinations

    from catalog.models import Offering, Variation, VariationOption
    from catalog.stock import refresh_listing_totals

    price = Decimal(price) if price is not None else product.price
    options_by_property = []
    for position, (name, values) in enumerate(properties.items()):
        variation = Variation.objects.create(product=product, name=name, position=position)
        options_by_property.append(
            [VariationOption.objects.create(variation=variation, value=v, position=i) for i, v in enumerate(values)]
        )
    Offering.objects.filter(product=product, option1__isnull=True).delete()
    offerings = {}
    prices = prices or {}
    for combination in combinations(*options_by_property):
        values = tuple(option.value for option in combination)
        offerings[values] = Offering.objects.create(
            product=product,
            option1=combination[0],
            option2=combination[1] if len(combination) > 1 else None,
            price=Decimal(prices.get(values, prices.get(values[0], price))),
            quantity=quantity,
        )
    refresh_listing_totals(product_ids=[product.pk])
    product.refresh_from_db()
    return offerings


def set_offering_stock(offering, *, quantity: int | None = None, price=None, is_enabled: bool | None = None):
    """Set an offering's stock, price or switch as a seller would, and refresh its listing's totals."""
    from catalog.models import Offering
    from catalog.stock import refresh_listing_totals

    changes = {}
    if quantity is not None:
        changes["quantity"] = quantity
    if price is not None:
        changes["price"] = Decimal(price)
    if is_enabled is not None:
        changes["is_enabled"] = is_enabled
    Offering.objects.filter(pk=offering.pk).update(**changes)
    refresh_listing_totals(product_ids=[offering.product_id])
    offering.refresh_from_db()
    return offering


def set_listing_stock(product: Product, *, quantity: int | None = None, price=None):
    """Set a plain listing's stock or price through its implicit offering (the stock truth), then its totals."""
    from catalog.models import Offering

    offering = Offering.objects.get(product=product, option1__isnull=True)
    set_offering_stock(offering, quantity=quantity, price=price)
    product.refresh_from_db()
    return product


# --- var-buyer: a listing with variations and personalisation, as the buyer pages and journeys use it ---------


def make_ring(*, shop, category, title: str = "Stacking ring", slug: str = "stacking-ring") -> Product:
    """A ring in sizes 6, 7, 8 and Silver or Gold, 4 of each: gold $45, silver $30; 8 in gold sold out, 6 in silver
    switched off; engraving required (3 characters at most)."""
    from catalog.models import Personalization

    product = ProductFactory(
        shop=shop,
        category=category,
        title=title,
        slug=slug,
        price=Decimal("30.00"),
        personalization=Personalization.REQUIRED,
        personalization_prompt="Initials to engrave inside the band",
        personalization_max_length=3,
    )
    offerings = add_variations(product, {"Size": ["6", "7", "8"], "Metal": ["Silver", "Gold"]}, quantity=4)
    for size in ("6", "7", "8"):
        set_offering_stock(offerings[(size, "Gold")], price="45.00")
    set_offering_stock(offerings[("8", "Gold")], quantity=0)
    set_offering_stock(offerings[("6", "Silver")], is_enabled=False)
    product.refresh_from_db()
    return product


def ring_offerings(product: Product) -> dict:
    """{(size, metal): offering} of a ``make_ring`` listing."""
    from catalog.models import Offering

    rows = Offering.objects.filter(product=product).select_related("option1", "option2")
    return {(o.option1.value, o.option2.value): o for o in rows}
