import factory

from cart.models import CartItem
from tests.accounts.factories import UserFactory
from tests.catalog.factories import ProductFactory


class CartItemFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = CartItem

    user = factory.SubFactory(UserFactory)
    product = factory.SubFactory(ProductFactory)
    quantity = 1
