from decimal import Decimal

import factory

from shops.models import Shop
from tests.accounts.factories import UserFactory


class ShopFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Shop

    owner = factory.SubFactory(UserFactory, is_staff=True)
    name = factory.Sequence(lambda n: f"Maker Shop {n}")
    slug = factory.Sequence(lambda n: f"maker-shop-{n}")
    description = "Small-batch goods made by hand."
    rating = Decimal("4.5")
    shipping_base = Decimal("4.00")
    shipping_additional = Decimal("1.00")
