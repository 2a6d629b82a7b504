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
