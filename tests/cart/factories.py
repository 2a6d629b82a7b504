import factory

from cart.models import CartItem
from catalog.models import Offering
from tests.accounts.factories import UserFactory
from tests.catalog.factories import ProductFactory


def _offering_of(line) -> Offering:
    """A plain listing's one offering (pass ``offering=`` for a listing with variations)."""
    return Offering.objects.filter(product=line.product).order_by("pk").first()


class CartItemFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = CartItem

    user = factory.SubFactory(UserFactory)
    product = factory.SubFactory(ProductFactory)
    offering = factory.LazyAttribute(_offering_of)
    quantity = 1
