"""Writes of the shops domain: opening and editing a shop, the denormalized rating."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from functools import partial

from django.conf import settings
from django.contrib.auth.models import Group, Permission
from django.core.mail import EmailMultiAlternatives
from django.db import IntegrityError, transaction
from django.db.models import Avg, Count, Q
from django.template.loader import render_to_string
from django.utils import timezone
from django.utils.text import slugify

from etsy.exceptions import DomainError
from shops.exceptions import AlreadyHasShop
from shops.models import DigestLog, Shop
from shops.selectors_seller import SELLERS_GROUP
from shops.signals import shop_changed

# What the "Sellers" group may do in the admin; rows are always scoped to the seller's own shop
# by the ModelAdmins (etsy/admin_site.py). Mirrored by shops/migrations/0003_sellers_group.py.
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
    name = name.strip()
    unknown = set(fields) - SHOP_EDITABLE_FIELDS
    if unknown:
        raise TypeError(f"open_shop() got unexpected fields: {sorted(unknown)}")
    if Shop.objects.filter(owner_id=owner.pk).exists():
        raise AlreadyHasShop()
    if Shop.objects.filter(name__iexact=name).exists():
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
        fields["name"] = fields["name"].strip()
        if Shop.objects.filter(name__iexact=fields["name"]).exclude(pk=shop.pk).exists():
            raise ShopNameTaken()
    for key, value in fields.items():
        setattr(shop, key, value)
    shop.save()
    transaction.on_commit(partial(_send_shop_changed, shop.pk, sorted(fields)))
    return shop


@transaction.atomic
def recompute_shop_rating(*, shop_id: int) -> Shop:
    """Recompute Shop.rating and review_count from the reviews. Sends shop_changed after commit."""
    from orders.models import Review  # orders depends on shops, not the reverse, at import time

    shop = Shop.objects.select_for_update().get(pk=shop_id)
    figures = Review.objects.filter(shop_id=shop_id).aggregate(avg=Avg("rating"), count=Count("id"))
    rating = None if figures["avg"] is None else Decimal(figures["avg"]).quantize(Decimal("0.1"), ROUND_HALF_UP)
    Shop.objects.filter(pk=shop_id).update(rating=rating, review_count=figures["count"])
    shop.refresh_from_db(fields=["rating", "review_count"])
    transaction.on_commit(partial(_send_shop_changed, shop_id, ["rating", "review_count"]))
    return shop


LOW_STOCK_THRESHOLD = 3


@dataclass(frozen=True)
class DigestOutcome:
    shop_id: int
    day: dt.date
    sent: bool
    reason: str


def _digest_figures(shop: Shop, day: dt.date) -> dict:
    from catalog.models import Favorite, Product
    from orders.models import Order

    end = dt.datetime.combine(day, dt.time.min, tzinfo=dt.UTC)
    start = end - dt.timedelta(days=1)
    orders = list(
        Order.objects.filter(shop=shop, created_at__gte=start, created_at__lt=end)
        .exclude(status__in=[Order.Status.PENDING_PAYMENT, Order.Status.CANCELLED])
        .select_related("buyer")
        .order_by("created_at")
    )
    favorites = Favorite.objects.filter(created_at__gte=start, created_at__lt=end).filter(
        Q(kind=Favorite.Kind.PRODUCT, product__shop=shop) | Q(kind=Favorite.Kind.SHOP, shop=shop)
    )
    low_stock = list(
        Product.objects.filter(shop=shop, is_active=True, quantity__lte=LOW_STOCK_THRESHOLD).order_by(
            "quantity", "title"
        )
    )
    return {
        "orders": orders,
        "revenue": sum((o.total for o in orders), Decimal("0.00")),
        "product_favorites": favorites.filter(kind=Favorite.Kind.PRODUCT).count(),
        "shop_favorites": favorites.filter(kind=Favorite.Kind.SHOP).count(),
        "low_stock": low_stock,
        "since": start,
    }


def send_daily_digest(*, shop_id: int, day: dt.date) -> DigestOutcome:
    """Email ``shop_id``'s owner the digest of the day before ``day``, at most once per shop and day.

    The DigestLog row (unique per shop and day) is claimed first; the email goes out while the
    row is locked and the row is stamped in the same transaction, so a restarted beat or a second
    worker skips it. If sending fails the stamp rolls back and the next run retries.
    """
    shop = Shop.objects.select_related("owner").filter(pk=shop_id, is_active=True).first()
    if shop is None:
        return DigestOutcome(shop_id, day, False, "no such active shop")
    DigestLog.objects.get_or_create(shop_id=shop_id, day=day)
    with transaction.atomic():
        log = (
            DigestLog.objects.select_for_update(skip_locked=True)
            .filter(shop_id=shop_id, day=day, sent_at__isnull=True)
            .first()
        )
        if log is None:
            return DigestOutcome(shop_id, day, False, "already sent")
        figures = _digest_figures(shop, day)
        log.new_orders = len(figures["orders"])
        log.new_favorites = figures["product_favorites"] + figures["shop_favorites"]
        log.low_stock = len(figures["low_stock"])
        has_news = bool(log.new_orders or log.new_favorites or log.low_stock)
        if has_news:
            context = {"shop": shop, "day": day, "site_url": getattr(settings, "SITE_URL", ""), **figures}
            subject = render_to_string("emails/seller_daily_digest_subject.txt", context).strip()
            message = EmailMultiAlternatives(
                subject,
                render_to_string("emails/seller_daily_digest.txt", context),
                settings.DEFAULT_FROM_EMAIL,
                [shop.owner.email],
            )
            message.attach_alternative(render_to_string("emails/seller_daily_digest.html", context), "text/html")
            message.send()
        log.sent_at = timezone.now()
        log.save(update_fields=["sent_at", "new_orders", "new_favorites", "low_stock"])
    return DigestOutcome(shop_id, day, has_news, "sent" if has_news else "nothing to report")
