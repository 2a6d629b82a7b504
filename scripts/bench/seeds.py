"""The benches' own rows, made through the services as a seller would (shops, listings) or in bulk where the
service adds nothing a bench measures (buyers with API tokens, full carts). Call with Django set up.

Every run tags its rows (sellers' and buyers' emails, shop names) with a fresh tag, so runs never collide.
"""

from __future__ import annotations

import random
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal

# Enough shops that 16 concurrent 3-shop checkouts seldom wait on one another's shop-row locks (a marketplace's
# many shops): the write path's figure is the cost of a checkout, not of a queue on a few rows.
WRITE_PATH_SHOPS, WRITE_PATH_STOCKED, WRITE_PATH_UNIQUE = 60, 120, 120
SHIPPING_ADDRESS = {
    "name": "Load Buyer",
    "line1": "1 Bench Street",
    "line2": "",
    "city": "Hudson",
    "postcode": "12534",
    "country": "US",
}


def open_shops(*, tag: str, count: int, password: str) -> list:
    """``count`` shops, each opened by a seller of its own."""
    from accounts.models import User
    from shops.services import open_shop

    return [
        open_shop(owner=User.objects.create_user(f"seller-{tag}-{i}@bench.test", password), name=f"Bench {tag} {i}")
        for i in range(count)
    ]


def create_listings(
    *, shops: list, category, title: str, count: int, price: Callable[[int], Decimal], quantity: int
) -> list:
    """``count`` listings ``"<title> <i>"`` at ``price(i)``, ``quantity`` each, dealt round the shops in turn."""
    from catalog.services.listings import create_product

    return [
        create_product(
            shop=shops[i % len(shops)], title=f"{title} {i}", category=category, price=price(i), quantity=quantity
        )
        for i in range(count)
    ]


def bench_category(slug: str, name: str):
    from catalog.models import Category

    return Category.objects.get_or_create(slug=slug, defaults={"name": name})[0]


# --- the write path (bench_writes) --------------------------------------------------------------------------------
@dataclass
class WritePathSeed:
    stocked: dict[int, int]  # product id -> shop id
    unique: list[int]
    add_tokens: list[str]
    add_user_ids: list[int]
    checkout_tokens: list[str]
    checkout_user_ids: list[int]


def _bulk_buyers(tag: str, prefix: str, count: int) -> tuple[list[int], list[str]]:
    from django.contrib.auth.hashers import make_password
    from rest_framework.authtoken.models import Token

    from accounts.models import User

    password = make_password("bench-writes-password-7")
    users = User.objects.bulk_create(
        User(email=f"{prefix}-{tag}-{i}@bench.test", password=password, is_active=True) for i in range(count)
    )
    tokens = Token.objects.bulk_create(Token(key=Token.generate_key(), user=user) for user in users)
    return [u.pk for u in users], [t.key for t in tokens]


def seed_write_path(*, checkout_buyers: int, add_buyers: int) -> WritePathSeed:
    """Shops, stocked listings (a million units each: stock never runs out), unique listings, and buyers with API
    tokens: ``add_buyers`` who add to their carts, ``checkout_buyers`` whose carts ``fill_carts`` fills."""
    tag = uuid.uuid4().hex[:6]
    category = bench_category("bench-writes", "Bench writes")
    shops = open_shops(tag=tag, count=WRITE_PATH_SHOPS, password="x-bench-7")
    stocked = create_listings(
        shops=shops,
        category=category,
        title="Stocked mug",
        count=WRITE_PATH_STOCKED,
        price=lambda i: Decimal("7.50") + i % 5,
        quantity=1_000_000,
    )
    unique = create_listings(
        shops=shops,
        category=category,
        title="One of a kind bowl",
        count=WRITE_PATH_UNIQUE,
        price=lambda i: Decimal("19.00"),
        quantity=1,
    )
    add_ids, add_tokens = _bulk_buyers(tag, "adder", add_buyers)
    checkout_ids, checkout_tokens = _bulk_buyers(tag, "payer", checkout_buyers)
    return WritePathSeed(
        {p.pk: p.shop_id for p in stocked}, [p.pk for p in unique], add_tokens, add_ids, checkout_tokens, checkout_ids
    )


def fill_carts(data: WritePathSeed, *, rng: random.Random) -> None:
    """Give every checkout buyer a cart of three stocked listings from three shops (and empty the adders' carts)."""
    from django.db import connection

    by_shop: dict[int, list[int]] = {}
    for pid, shop_id in data.stocked.items():
        by_shop.setdefault(shop_id, []).append(pid)
    fill_three_shop_carts(by_shop, data.checkout_user_ids, rng=rng, also_empty=data.add_user_ids)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE cart_cartitem")


def fill_three_shop_carts(
    by_shop: dict[int, list[int]], user_ids: list[int], *, rng: random.Random, also_empty: list[int] = ()
) -> None:
    """Empty these buyers' carts (and ``also_empty``'s), then put one listing of each of three shops in each
    (``by_shop``: stocked plain listings by shop; each line is its listing's implicit offering)."""
    from django.db import connection

    rows = [
        (user_id, rng.choice(by_shop[shop_id])) for user_id in user_ids for shop_id in rng.sample(sorted(by_shop), 3)
    ]
    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM cart_cartitem WHERE user_id = ANY(%s)", [list(user_ids) + list(also_empty)])
        cursor.execute(
            # Each listing's implicit offering (a plain listing has exactly one: no options).
            "INSERT INTO cart_cartitem (user_id, product_id, offering_id, personalization, quantity, reserved_until,"
            " added_at, updated_at) "
            "SELECT u, p, o.id, '', 1, NULL, now(), now() FROM unnest(%s::bigint[], %s::bigint[]) AS t(u, p) "
            "JOIN catalog_offering AS o ON o.product_id = t.p AND o.option1_id IS NULL AND o.option2_id IS NULL",
            [[r[0] for r in rows], [r[1] for r in rows]],
        )
