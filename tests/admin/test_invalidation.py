"""Admin bulk writes use update(), so they announce products_changed after commit: cached public pages refresh."""

import pytest
from django.test import Client
from django.urls import reverse

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("execute", [True, False])
def test_mark_sold_out_refreshes_the_cached_product_page(seller_a, django_capture_on_commit_callbacks, execute):
    product = seller_a.product
    visitor = Client()
    assert "sold-banner" not in visitor.get(product.get_absolute_url()).content.decode()  # cached now
    with django_capture_on_commit_callbacks(execute=execute):
        seller_a.client.post(
            reverse("admin:catalog_product_changelist"),
            {"action": "mark_sold_out", "_selected_action": [product.pk]},
        )
    page = visitor.get(product.get_absolute_url()).content.decode()
    # Only once the transaction commits is the page dropped: without the commit it stays stale.
    assert ("sold-banner" in page) is execute
