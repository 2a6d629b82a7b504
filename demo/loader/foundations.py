"""What the listings stand on: the category tree, the demo accounts and their shops."""

from __future__ import annotations

import random
from decimal import Decimal
from pathlib import Path

from django.contrib.auth.hashers import make_password

from accounts.models import User
from catalog.models import Category
from demo import images as demo_images
from demo.loader.bulk import BATCH
from demo.loader.specs import ShopSpec
from demo.vocabulary import CATEGORY_TREE, COLOUR_RGB
from shops.models import Shop

DEMO_PASSWORD = "demo-pass-2024"
DEMO_BUYERS = 20


def _ensure_categories() -> dict[str, Category]:
    by_slug = {c.slug: c for c in Category.objects.all()}
    for position, (slug, name, parent) in enumerate(CATEGORY_TREE):
        if slug not in by_slug:
            by_slug[slug] = Category.objects.create(
                slug=slug, name=name, parent=by_slug[parent] if parent else None, position=position
            )
    return by_slug


def _ensure_users(shop_specs: list[ShopSpec]) -> dict[str, User]:
    password = make_password(DEMO_PASSWORD)  # hashed once: every demo account shares it
    wanted = [("admin@demo.test", "Ada Admin", True, True), ("buyer@demo.test", "Bea Buyer", False, False)]
    wanted += [(f"buyer{i}@demo.test", f"Demo Buyer {i}", False, False) for i in range(2, DEMO_BUYERS + 1)]
    wanted += [(s.owner_email, f"{s.name} (owner)", True, False) for s in shop_specs]
    existing = {u.email: u for u in User.objects.filter(email__in=[w[0] for w in wanted])}
    User.objects.bulk_create(
        [
            User(email=email, display_name=name, is_staff=staff, is_superuser=superuser, password=password)
            for email, name, staff, superuser in wanted
            if email not in existing
        ],
        batch_size=BATCH,
    )
    return {u.email: u for u in User.objects.filter(email__in=[w[0] for w in wanted])}


def _create_shops(
    shop_specs: list[ShopSpec], users: dict[str, User], media_root: Path, rng: random.Random
) -> list[Shop]:
    rows = []
    for spec in shop_specs:
        logo = f"demo/shops/{spec.slug}-logo.jpg"
        banner = f"demo/shops/{spec.slug}-banner.jpg"
        if not (media_root / logo).exists():
            demo_images.save_jpeg(
                demo_images.draw_logo(name=spec.name, colour=COLOUR_RGB[spec.colour]), media_root / logo
            )
        if not (media_root / banner).exists():
            demo_images.save_jpeg(
                demo_images.draw_banner(name=spec.name, colour=COLOUR_RGB[spec.colour], seed=spec.index),
                media_root / banner,
            )
        kinds = ", ".join(k for k in spec.kinds)
        rows.append(
            Shop(
                owner=users[spec.owner_email],
                name=spec.name,
                slug=spec.slug,
                description=f"{spec.name} is a small studio in {spec.location} making {kinds} by hand, "
                "plus the occasional vintage find.",
                location=spec.location,
                logo=logo,
                banner=banner,
                rating=None,  # the mean of its demo reviews, set once they are written
                sales_count=spec.sales_count,
                shipping_base=rng.choice([Decimal("3.50"), Decimal("4.00"), Decimal("5.95"), Decimal("0.00")]),
                shipping_additional=rng.choice([Decimal("0.00"), Decimal("1.00"), Decimal("1.50")]),
                free_shipping_threshold=rng.choice([None, Decimal("35.00"), Decimal("50.00")]),
                processing_days=rng.randint(1, 7),
                policy_text="Ships within the processing time. Returns accepted within 14 days for unused items.",
            )
        )
    return Shop.objects.bulk_create(rows, batch_size=BATCH)
