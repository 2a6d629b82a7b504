"""The database itself rejects rows that break the marketplace's invariants."""

from decimal import Decimal

import pytest
from django.core.management import call_command
from django.db import IntegrityError, connection, transaction

from catalog.models import Favorite, Product
from orders.models import Review
from tests.accounts.factories import UserFactory
from tests.cart.factories import CartItemFactory
from tests.catalog.factories import FavoriteFactory
from tests.orders.factories import OrderFactory, ReviewFactory

pytestmark = pytest.mark.django_db


def _rejected(fn) -> bool:
    try:
        with transaction.atomic():
            fn()
    except IntegrityError:
        return True
    return False


def test_product_quantity_cannot_go_negative(product):
    assert _rejected(lambda: Product.objects.filter(pk=product.pk).update(quantity=-1))
    product.refresh_from_db()
    assert product.quantity == 1


def test_product_price_cannot_be_negative(product):
    assert _rejected(lambda: Product.objects.filter(pk=product.pk).update(price=Decimal("-0.01")))


def test_review_rating_must_be_between_1_and_5():
    review = ReviewFactory()
    assert _rejected(lambda: Review.objects.filter(pk=review.pk).update(rating=0))
    assert _rejected(lambda: Review.objects.filter(pk=review.pk).update(rating=6))
    assert not _rejected(lambda: Review.objects.filter(pk=review.pk).update(rating=1))


def test_one_review_per_order():
    review = ReviewFactory()
    assert _rejected(
        lambda: Review.objects.create(order=review.order, reviewer=review.reviewer, shop=review.shop, rating=4)
    )


def test_cart_item_unique_per_user_and_product():
    item = CartItemFactory()
    assert _rejected(lambda: CartItemFactory(user=item.user, product=item.product))


def test_order_total_must_equal_subtotal_plus_shipping():
    assert _rejected(lambda: OrderFactory(subtotal=Decimal("10.00"), shipping=Decimal("2.00"), total=Decimal("13.00")))


def test_favorite_targets_exactly_one_thing(product):
    user = UserFactory()
    assert _rejected(lambda: Favorite.objects.create(user=user, kind="product", product=product, shop=product.shop))
    FavoriteFactory(user=user, product=product)
    assert _rejected(lambda: FavoriteFactory(user=user, product=product))


def test_user_email_is_unique_ignoring_case():
    UserFactory(email="Maker@Example.com")
    assert _rejected(lambda: UserFactory(email="maker@example.com"))


def test_documented_indexes_exist():
    with connection.cursor() as cursor:
        names = {
            row[0]
            for row in cursor.execute(
                "SELECT indexname FROM pg_indexes WHERE tablename IN ('catalog_product', 'cart_cartitem')"
            ).fetchall()
        }
    # Gone on purpose: idx_cart_user (cart_item_unique_user_offering_text leads with the user, cart 0006) and
    # idx_products_low_quantity (an index on the quantity made every sale write each index of its listing; the
    # sellers' digest reads one shop's listings, catalog 0011).
    assert {"idx_cart_reservation", "idx_cart_product"} <= names


def test_migrations_are_up_to_date():
    call_command("makemigrations", "--check", "--dry-run", verbosity=0)


# Every row a checkout or an add-to-cart writes (and every update that is not HOT) writes each index of its table.
_WRITE_PATH_TABLES = [
    "cart_cartitem",
    "catalog_product",
    "orders_checkout",
    "orders_order",
    "orders_orderitem",
    "outbox_outboxmessage",
    "payments_ledgerentry",
    "search_listing",
    "shops_shop",
]

# A plain B-tree index whose columns (same operator classes and collations) begin another B-tree index of the
# table: that one serves every lookup the first serves.
_REDUNDANT_INDEXES_SQL = """
    WITH ix AS (
        SELECT i.indexrelid, i.indrelid, i.indisunique, i.indpred IS NOT NULL AS partial,
               i.indexprs IS NOT NULL AS exprs, am.amname,
               string_to_array(i.indkey::text, ' ') AS cols, string_to_array(i.indclass::text, ' ') AS classes,
               string_to_array(i.indcollation::text, ' ') AS colls
          FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid JOIN pg_am am ON am.oid = c.relam
         WHERE i.indrelid = ANY(%s::regclass[])
    )
    SELECT a.indexrelid::regclass::text, b.indexrelid::regclass::text
      FROM ix a JOIN ix b ON a.indrelid = b.indrelid AND a.indexrelid <> b.indexrelid
     WHERE a.amname = 'btree' AND b.amname = 'btree' AND NOT a.indisunique
       AND NOT (a.partial OR b.partial OR a.exprs OR b.exprs)
       AND a.cols = b.cols[1:cardinality(a.cols)] AND a.classes = b.classes[1:cardinality(a.cols)]
       AND a.colls = b.colls[1:cardinality(a.cols)]
     ORDER BY 1, 2
"""


def test_the_write_paths_tables_keep_no_index_that_another_index_makes_redundant():
    with connection.cursor() as cursor:
        cursor.execute(_REDUNDANT_INDEXES_SQL, [_WRITE_PATH_TABLES])
        assert cursor.fetchall() == []
