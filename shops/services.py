"""Writes of the shops domain: opening and editing a shop, the denormalized rating."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from decimal import Decimal
from functools import partial

from django.contrib.auth.models import Group, Permission
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.text import slugify

from etsy.exceptions import DomainError
from etsy.names import collapse_spaces
from etsy.prepared import prepared_cursor
from shops.exceptions import AlreadyHasShop
from shops.models import DigestLog, Shop
from shops.selectors import is_shop_name_taken
from shops.selectors_seller import SELLERS_GROUP
from shops.signals import shop_changed

# What the "Sellers" group may do in the admin; rows are always scoped to the seller's own shop
# by the ModelAdmins (shops/admin_scoping.py). Mirrored by shops/migrations/0003_sellers_group.py.
SELLER_PERMISSIONS: dict[str, list[str]] = {
    "shops": ["view_shop", "change_shop"],
    "catalog": [
        "view_category",
        "view_product",
        "add_product",
        "change_product",
        "delete_product",
        "view_productimage",
        "add_productimage",
        "change_productimage",
        "delete_productimage",
    ],
    "orders": ["view_order", "change_order", "view_orderitem", "view_review", "change_review"],
    "payments": ["view_ledgerentry"],
}

SHOP_EDITABLE_FIELDS = {
    "name",
    "description",
    "location",
    "banner",
    "logo",
    "shipping_base",
    "shipping_additional",
    "free_shipping_threshold",
    "processing_days",
    "policy_text",
    "is_active",
}


class ShopNameTaken(DomainError):
    code = "shop_name_taken"
    default_message = "A shop with that name already exists."


def get_sellers_group() -> Group:
    """Return the "Sellers" group, creating it with its permissions if a database lacks it."""
    group, created = Group.objects.get_or_create(name=SELLERS_GROUP)
    if created:
        for app_label, codenames in SELLER_PERMISSIONS.items():
            group.permissions.add(*Permission.objects.filter(content_type__app_label=app_label, codename__in=codenames))
    return group


def _unique_slug(name: str, *, exclude_pk: int | None = None) -> str:
    base = slugify(name)[:100] or "shop"
    slug, n = base, 2
    qs = Shop.objects.all()
    if exclude_pk:
        qs = qs.exclude(pk=exclude_pk)
    while qs.filter(slug=slug).exists():
        slug, n = f"{base}-{n}", n + 1
    return slug


def _send_shop_changed(shop_id: int, fields: list[str]) -> None:
    shop_changed.send(sender=Shop, shop_id=shop_id, fields=fields)


@transaction.atomic
def open_shop(*, owner, name: str, description: str = "", **fields) -> Shop:
    """Open a shop for ``owner``, who becomes staff in the Sellers group.

    Raises AlreadyHasShop, ShopNameTaken. Sends shop_changed after commit.
    """
    name = collapse_spaces(name)
    unknown = set(fields) - SHOP_EDITABLE_FIELDS
    if unknown:
        raise TypeError(f"open_shop() got unexpected fields: {sorted(unknown)}")
    if Shop.objects.filter(owner_id=owner.pk).exists():
        raise AlreadyHasShop()
    if is_shop_name_taken(name=name):
        raise ShopNameTaken()
    shop = Shop(owner=owner, name=name, slug=_unique_slug(name), description=description, **fields)
    try:
        with transaction.atomic():
            shop.save()
    except IntegrityError as exc:  # a concurrent open by the same owner or with the same name
        if Shop.objects.filter(owner_id=owner.pk).exists():
            raise AlreadyHasShop() from exc
        raise ShopNameTaken() from exc
    if not owner.is_staff:
        owner.is_staff = True
        owner.save(update_fields=["is_staff"])
    owner.groups.add(get_sellers_group())
    transaction.on_commit(partial(_send_shop_changed, shop.pk, ["created"]))
    return shop


@transaction.atomic
def update_shop(*, shop: Shop, **fields) -> Shop:
    """Change the editable fields of ``shop``. Raises ShopNameTaken. Sends shop_changed after commit."""
    unknown = set(fields) - SHOP_EDITABLE_FIELDS
    if unknown:
        raise TypeError(f"update_shop() got unexpected fields: {sorted(unknown)}")
    if "name" in fields:
        fields["name"] = collapse_spaces(fields["name"])
        if is_shop_name_taken(name=fields["name"], exclude_pk=shop.pk):
            raise ShopNameTaken()
    for key, value in fields.items():
        setattr(shop, key, value)
    try:
        with transaction.atomic():
            shop.save()
    except IntegrityError as exc:  # a concurrent shop took the same name
        raise ShopNameTaken() from exc
    transaction.on_commit(partial(_send_shop_changed, shop.pk, sorted(fields)))
    return shop


@transaction.atomic
def update_shop_rating(*, shop_id: int, compute: Callable[[], tuple[Decimal | None, int]]) -> Shop:
    """Set Shop.rating and review_count to what ``compute()`` returns while the shop row is locked.

    The reviews live above shops (orders), so their owner passes the computation in; the lock serialises two
    reviews of one shop so the later figures win. Sends shop_changed after commit.
    """
    shop = Shop.objects.select_for_update().get(pk=shop_id)
    shop.rating, shop.review_count = compute()
    Shop.objects.filter(pk=shop_id).update(rating=shop.rating, review_count=shop.review_count)
    transaction.on_commit(partial(_send_shop_changed, shop_id, ["rating", "review_count"]))
    return shop


@contextmanager
def claim_daily_digest(*, shop_id: int, day: dt.date) -> Iterator[DigestLog | None]:
    """Claim the shop's digest of ``day``: yield its DigestLog row locked, or None when it was sent already.

    The row (unique per shop and day) is made first, then locked with SKIP LOCKED, so a restarted beat or a
    second worker gets None. The caller fills the counts and sends; the row is stamped sent in the same
    transaction on a normal exit, and an exception rolls the stamp back so the next run retries.
    """
    DigestLog.objects.get_or_create(shop_id=shop_id, day=day)
    with transaction.atomic():
        log = (
            DigestLog.objects.select_for_update(skip_locked=True)
            .filter(shop_id=shop_id, day=day, sent_at__isnull=True)
            .first()
        )
        yield log
        if log is not None:
            log.sent_at = timezone.now()
            log.save(update_fields=["sent_at", "new_orders", "new_favorites", "low_stock"])


_LOCK_SHOPS_SQL = f"SELECT id FROM {Shop._meta.db_table} WHERE id = ANY(%s::bigint[]) ORDER BY id FOR NO KEY UPDATE"


def lock_shops(*, shop_ids) -> None:
    """Lock these shop rows in id order (FOR NO KEY UPDATE). Must run inside a transaction.

    Checkout takes its shops before the stock: a shop's update re-syncs its search rows (trigger) and a stock
    update one of them, so both orders of locking must start at the shop for the two never to deadlock.
    """
    ids = sorted({int(pk) for pk in shop_ids})
    if not ids:
        return
    with prepared_cursor() as cursor:  # a constant statement, planned once per connection (etsy.prepared)
        cursor.execute(_LOCK_SHOPS_SQL, [ids])
        cursor.fetchall()


# Locked first, in id order, by a statement of their own (lock_shops): the UPDATE then waits on nothing. A locking
# CTE inside the UPDATE deadlocked (seen once in tests/reliability/test_checkout_contention.py): the UPDATE's scan
# reads the rows of the statement's snapshot, and a row another payment updated meanwhile is locked again, as its
# newer version (EvalPlanQual), while a third waiter holds the tuple lock.
_ADD_SALES_SQL = f"""
    UPDATE {Shop._meta.db_table} AS s SET sales_count = GREATEST(s.sales_count + d.units, 0)
      FROM unnest(%s::bigint[], %s::integer[]) AS d(id, units)
     WHERE s.id = d.id
"""


def add_sales_by_shop(*, units_by_shop: dict[int, int]) -> None:
    """Move several shops' sales counts (``{shop id: units}``, negative for cancelled paid orders), never below
    zero: the rows locked in id order, then one UPDATE. Must run inside a transaction."""
    moved = {shop_id: units for shop_id, units in units_by_shop.items() if units}
    if not moved:
        return
    ids = sorted(moved)
    lock_shops(shop_ids=ids)
    with prepared_cursor() as cursor:  # a constant statement, planned once per connection (etsy.prepared)
        cursor.execute(_ADD_SALES_SQL, [ids, [moved[i] for i in ids]])


def set_payout_account(*, shop_id: int, account_id: str) -> bool:
    """Record the shop's payout account (a provider Connect account id) once; return whether it was set now."""
    return bool(Shop.objects.filter(pk=shop_id, payout_account_id="").update(payout_account_id=account_id))
