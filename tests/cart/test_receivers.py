import pytest

from cart import services
from cart.models import CartItem
from tests.catalog.factories import ProductFactory

pytestmark = pytest.mark.django_db


def test_logging_in_merges_the_guest_cart(client, buyer, shop):
    product = ProductFactory(shop=shop, quantity=2)
    session = client.session
    services.add_guest_item(session=session, product_id=product.pk, quantity=2)
    session.save()

    assert client.login(email="buyer@example.com", password="correct-horse-battery")

    item = CartItem.objects.get(user=buyer)
    assert (item.product_id, item.quantity) == (product.pk, 2)
    assert services.get_guest_lines(session=client.session) == []
