import pytest

pytestmark = pytest.mark.django_db


def test_seller_reaches_admin_index_with_own_sales(seller_a, seller_b):
    response = seller_a.client.get("/admin/")
    assert response.status_code == 200
    body = response.content.decode()
    assert "Sales of Alice Ceramics" in body
    assert "Bob Woodworks" not in body
