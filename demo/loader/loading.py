"""Writing the demo catalog with bulk inserts (``load_demo_catalog``), reporting progress to its caller."""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

from django.conf import settings
from django.contrib.auth.models import Group
from django.db import connection, transaction
from django.utils import timezone
from django.utils.text import slugify

from catalog.models import Product, ProductImage
from catalog.signals import products_changed
from catalog.stock import create_implicit_offerings
from demo.loader.bulk import BATCH, _without_auto_now
from demo.loader.foundations import _create_shops, _ensure_categories, _ensure_users
from demo.loader.history import _choose_sales, _count_sales_and_views, _demo_favorites, _past_orders
from demo.loader.photos import _draw_photos, _missing_photos, _photo_paths
from demo.loader.specs import ListingSpec, iter_listings, iter_shops
from search.backends.postgres import compact_category_counts, refresh_vocabulary
from shops.models import Shop

MAX_SALES_PER_SHOP = 60  # past orders per shop: a lively history, a load that stays quick (~4k orders per 100 shops)


@dataclass
class LoadReport:
    categories: int = 0
    shops: int = 0
    users: int = 0
    products: int = 0
    images: int = 0
    orders: int = 0
    reviews: int = 0
    favorites: int = 0
    skipped: bool = False


class Progress:
    """What the loader reports to its caller: a phase with a known size, then steps of it."""

    def start(self, phase: str, total: int) -> None: ...

    def advance(self, steps: int) -> None: ...


def load_demo_catalog(
    *, products: int, shops: int, seed: int, if_empty: bool = False, progress: Progress | None = None
) -> LoadReport:
    """Write the demo catalog. With ``if_empty``, do nothing when listings already exist."""
    report = LoadReport()
    if if_empty and Product.objects.exists():
        report.skipped = True
        return report
    progress = progress or Progress()
    media_root = Path(settings.MEDIA_ROOT)
    specs = list(iter_listings(seed=seed, products=products, shops=shops))
    jobs = _missing_photos(media_root=media_root, combos={(s.kind, s.shape, s.colour) for s in specs})
    progress.start("product photos", len(jobs))
    _draw_photos(jobs, progress.advance)
    rng = random.Random(f"load-{seed}")
    shop_specs = iter_shops(seed=seed, shops=shops)
    now = timezone.now()

    with transaction.atomic():
        categories = _ensure_categories()
        report.categories = len(categories)
        users = _ensure_users(shop_specs)
        report.users = len(users)
        taken = set(Shop.objects.values_list("slug", flat=True))
        fresh_specs = [s for s in shop_specs if s.slug not in taken and s.owner_email in users]
        _create_shops(fresh_specs, users, media_root, rng)
        shops_by_slug = {shop.slug: shop for shop in Shop.objects.filter(slug__in=[s.slug for s in shop_specs])}
        shop_by_index = {s.index: shops_by_slug[s.slug] for s in shop_specs if s.slug in shops_by_slug}
        report.shops = len(shop_by_index)
        sellers = Group.objects.filter(name="Sellers").first()
        if sellers:
            sellers.user_set.add(*[shop.owner for shop in shop_by_index.values()])

    batch: list[tuple[Product, ListingSpec]] = []
    sold: list[Product] = []
    stocked: list[Product] = []  # listings with several in stock: shops sell units of them again and again

    def flush() -> None:
        with transaction.atomic(), _without_auto_now(Product, "created_at"):
            created = Product.objects.bulk_create([p for p, _ in batch])
            create_implicit_offerings(product_ids=[p.pk for p in created])
        images = []
        for product, spec in zip(created, [s for _, s in batch], strict=True):
            name, thumb = _photo_paths(spec.kind, spec.shape, spec.colour)
            alt = f"{spec.colour.capitalize()} {spec.material} {spec.words['kind']}"
            images.append(
                ProductImage(
                    product=product, image=name, thumbnail=thumb, alt_text=alt, position=0, width=640, height=640
                )
            )
            if spec.quantity == 0:
                sold.append(product)
            elif spec.quantity >= 2:
                stocked.append(product)
        ProductImage.objects.bulk_create(images, batch_size=BATCH)
        report.products += len(created)
        report.images += len(images)
        progress.advance(len(created))
        batch.clear()

    progress.start("listings", len(specs))
    for spec in specs:
        shop = shop_by_index[spec.shop]
        created_at = now - timedelta(days=spec.days_old)
        product = Product(
            shop=shop,
            title=spec.title,
            slug=slugify(spec.title)[:220] or "listing",
            description=spec.description,
            price=spec.price,
            quantity=spec.quantity,
            category=categories[spec.category],
            tags=list(spec.tags),
            is_vintage=spec.is_vintage,
            created_at=created_at,
            view_count=int(rng.paretovariate(1.3) * 5),
            favorite_count=int(rng.paretovariate(1.6)),
        )
        batch.append((product, spec))
        if len(batch) >= BATCH:
            flush()
    if batch:
        flush()

    quality = {shop.pk: spec.rating for spec in shop_specs if (shop := shop_by_index.get(spec.index))}
    targets = {
        shop.pk: min(spec.sales_count, MAX_SALES_PER_SHOP)
        for spec in shop_specs
        if (shop := shop_by_index.get(spec.index))
    }
    sales = _choose_sales(sold=sold, stocked=stocked, targets=targets, rng=rng)
    report.orders, report.reviews = _past_orders(sales=sales, users=users, quality=quality, rng=rng, now=now)
    _count_sales_and_views(shop_ids=list(targets), sales=sales)
    report.favorites = _demo_favorites(users=users, rng=rng, now=now)
    # Fresh planner statistics: without them large categories get nested-loop plans until autovacuum runs.
    with connection.cursor() as cursor:
        for table in ("catalog_product", "catalog_productimage", "shops_shop", "search_listing"):
            cursor.execute(f"ANALYZE {table}")
    # Bulk inserts send no signals: tell search and caches about the new listings once.
    products_changed.send(sender=Product, product_ids=[], reason="bulk")
    refresh_vocabulary()
    compact_category_counts()  # one row per key instead of one per batch written
    return report
