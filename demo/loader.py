"""A deterministic demo catalog: shops, a category tree, listings with photos, past orders and reviews.

``iter_listings(seed=..., products=..., shops=...)`` yields the same ``ListingSpec``
sequence for the same arguments; each spec keeps the structured truth behind its
wording (kind, material, colour, vintage), which the search benchmark judges by.
``load_demo_catalog`` writes it with bulk inserts.
"""

from __future__ import annotations

import os
import random
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from datetime import timedelta
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

from django.conf import settings
from django.contrib.auth.hashers import make_password
from django.contrib.auth.models import Group
from django.db import connection, transaction
from django.db.models import F
from django.utils import timezone
from django.utils.text import slugify

from accounts.models import User
from catalog.models import Category, Favorite, Product, ProductImage
from catalog.signals import products_changed
from catalog.stock import create_implicit_offerings
from demo import images as demo_images
from demo.vocabulary import (
    CATEGORY_TREE,
    COLOUR_RGB,
    COLOURS,
    HANDMADE_WORDS,
    KINDS,
    LOCATIONS,
    MATERIALS,
    MISSPELLINGS,
    SHOP_FIRST,
    SHOP_SECOND,
    STYLES,
    VINTAGE_WORDS,
    Kind,
)
from orders import delivery
from orders.models import Checkout, Order, OrderItem, Review
from search.backends.postgres import compact_category_counts, refresh_vocabulary
from shops.models import Shop

DEMO_PASSWORD = "demo-pass-2024"
DEMO_BUYERS = 20
BATCH = 2000
MAX_SALES_PER_SHOP = 60  # past orders per shop: a lively history, a load that stays quick (~4k orders per 100 shops)
SMALL_WORDS = {"a", "an", "and", "of", "with", "in", "on", "for", "the", "to"}


@dataclass(frozen=True)
class ShopSpec:
    index: int
    name: str
    slug: str
    owner_email: str
    kinds: tuple[str, ...]
    colour: str
    location: str
    rating: Decimal  # the shop's typical review score; the rating shown is the mean of its demo reviews
    sales_count: int  # planned sales (capped by MAX_SALES_PER_SHOP); the count shown is what its orders sold
    weight: float


@dataclass(frozen=True)
class ListingSpec:
    index: int
    shop: int
    kind: str
    material: str
    colour: str
    style: str
    is_vintage: bool
    title: str
    description: str
    tags: tuple[str, ...]
    price: Decimal
    quantity: int
    category: str
    days_old: float
    misspelled: bool
    words: dict = field(default_factory=dict, compare=False)  # the exact synonyms used
    shape: str = ""  # the picture motif: what the title names (a wooden puzzle shows a puzzle)


CLOSING_LINES = [
    "Each piece is slightly different, which is the charm of handmade work.",
    "Made to order in my small studio.",
    "A thoughtful gift, wrapped in recycled paper.",
    "Artisan quality, built to last for years.",
]


def _with_article(phrase: str) -> str:
    """Return ``phrase`` after "a" or "an", as it is spoken ("an antique", "a 1970s", "an 18 inch")."""
    first = phrase.split()[0].lower() if phrase.split() else ""
    vowel_sound = first[:1] in "aeio" or first.startswith(("8", "11", "18")) or first in {"hour", "honest"}
    return f"{'an' if vowel_sound else 'a'} {phrase}"


def _decade_for(maker_word: str, rng_choice: str) -> str:
    """Keep a vintage listing's decade consistent with the word its title uses ("1970s", "Antique")."""
    word = maker_word.lower()
    if word[:4].isdigit():
        return word
    if word == "antique":
        return {"1950s": "1900s", "1960s": "1910s", "1970s": "1920s", "1980s": "1930s"}.get(rng_choice, "1920s")
    if word.startswith("mid-century"):
        return {"1970s": "1950s", "1980s": "1960s", "1990s": "1950s"}.get(rng_choice, rng_choice)
    return rng_choice


def _title_case(text: str) -> str:
    words = text.split()
    out = []
    for i, word in enumerate(words):
        if i and word.lower() in SMALL_WORDS:
            out.append(word.lower())
        elif word[:1].isdigit():
            out.append(word)
        else:
            out.append(word[:1].upper() + word[1:])
    return " ".join(out)


def iter_shops(*, seed: int, shops: int) -> list[ShopSpec]:
    rng = random.Random(f"shops-{seed}")
    names: set[str] = set()
    specs = []
    kind_keys = [kind.key for kind in KINDS]
    for i in range(shops):
        for attempt in range(100):
            name = f"{rng.choice(SHOP_FIRST)} {rng.choice(SHOP_SECOND)}"
            if attempt > 20:
                name = f"{name} {rng.randint(2, 999)}"
            if name not in names:
                break
        names.add(name)
        # A maker works in a few related kinds: start from one, add neighbours by category.
        first = rng.choice(KINDS)
        related = [
            k.key for k in KINDS if k.category.split("-")[0] == first.category.split("-")[0] and k.key != first.key
        ]
        kinds = [first.key, *rng.sample(related, min(len(related), rng.randint(0, 2)))]
        if rng.random() < 0.4:
            kinds.append(rng.choice(kind_keys))
        specs.append(
            ShopSpec(
                index=i,
                name=name,
                slug=slugify(name)[:100] or f"shop-{i}",
                owner_email=f"seller{i + 1}@demo.test",
                kinds=tuple(dict.fromkeys(kinds)),
                colour=rng.choice(COLOURS),
                location=rng.choice(LOCATIONS),
                rating=Decimal(str(round(rng.triangular(3.4, 5.0, 4.8), 1))),
                sales_count=int(rng.paretovariate(1.2) * 20),
                weight=rng.paretovariate(1.5),
            )
        )
    return specs


def _price(rng: random.Random, kind: Kind, material_key: str) -> Decimal:
    low, high = kind.price
    raw = Decimal(str(rng.uniform(low, high))) * MATERIALS[material_key].price_factor
    whole = int(raw)
    cents = rng.choice([Decimal("0.00"), Decimal("0.00"), Decimal("0.50"), Decimal("0.95"), Decimal("0.99")])
    return (Decimal(max(whole, 5)) + cents).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


def _quantity(rng: random.Random) -> int:
    roll = rng.random()
    if roll < 0.03:
        return 0  # sold: the listing stays visible and points to similar pieces
    if roll < 0.85:
        return 1
    if roll < 0.95:
        return rng.randint(2, 5)
    return rng.randint(6, 25)


def _make_listing(rng: random.Random, index: int, shop: ShopSpec) -> ListingSpec:
    kind_key = rng.choice(shop.kinds)
    kind = next(k for k in KINDS if k.key == kind_key)
    material_key = rng.choice(kind.materials)
    material = MATERIALS[material_key]
    colour = rng.choice(COLOURS)
    style = rng.choice(STYLES)
    is_vintage = rng.random() < 0.22
    kind_word = rng.choice(kind.words)
    material_word = rng.choice(material.words)
    maker_word = rng.choice(VINTAGE_WORDS if is_vintage else HANDMADE_WORDS)

    pattern = rng.randrange(6)
    if pattern == 0:
        title = f"{maker_word} {material_word} {kind_word}"
    elif pattern == 1:
        title = f"{maker_word} {colour} {material_word} {kind_word}"
    elif pattern == 2:
        title = f"{style} {material_word} {kind_word}, {maker_word.lower()}"
    elif pattern == 3:
        title = f"{colour.capitalize()} {kind_word} in {material_word} - {maker_word.lower()} {style.lower()} piece"
    elif pattern == 4:
        title = f"{maker_word} {style.lower()} {kind_word} made of {material_word}"
    else:
        title = f"{material_word} {kind_word} - {colour} - {maker_word.lower()}"
    title = _title_case(title)

    # Each detail is a whole sentence: two of them side by side always read as English.
    details = " ".join(rng.sample(kind.details, 2))
    if is_vintage:
        decade = _decade_for(maker_word, rng.choice(["1950s", "1960s", "1970s", "1980s", "1990s"]))
        condition = rng.choice(["excellent", "very good", "good, with light wear", "lovingly used"])
        opening = _with_article(f"{maker_word.lower()} {kind.words[0]}").capitalize()
        description = (
            f"{opening} from the {decade}, in {colour} {material_word}. Condition: {condition}. {details} "
            "Found at an estate sale and cleaned by hand; {availability}"
        )
    else:
        opening = _with_article(f"{style.lower()} {kind.words[0]}").capitalize()
        description = (
            f"{opening} {rng.choice(['made', 'crafted', 'finished'])} by hand from {material_word} in {colour}. "
            f"{details} {rng.choice(CLOSING_LINES)}"
        )

    misspelled = False
    if rng.random() < 0.05:
        for right, wrong in MISSPELLINGS.items():
            if right in title:
                title = title.replace(right, wrong, 1)
                misspelled = True
                break
            if right.capitalize() in title:
                title = title.replace(right.capitalize(), wrong.capitalize(), 1)
                misspelled = True
                break

    tags = [kind.key, material_key, colour, style.lower(), "vintage" if is_vintage else "handmade"]
    if rng.random() < 0.5:
        tags.append("gift")
    price = _price(rng, kind, material_key)
    quantity = _quantity(rng)
    if is_vintage:
        availability = (
            "one of a kind, so only one is available."
            if quantity <= 1
            else f"{quantity} matching pieces came from the same sale."
        )
        description = description.replace("{availability}", availability)
    return ListingSpec(
        index=index,
        shop=shop.index,
        kind=kind.key,
        material=material_key,
        colour=colour,
        style=style,
        is_vintage=is_vintage,
        title=title[:200],
        description=description,
        tags=tuple(dict.fromkeys(tags)),
        price=price,
        quantity=quantity,
        category=kind.category,
        days_old=rng.expovariate(1 / 90),
        misspelled=misspelled,
        words={"kind": kind_word, "material": material_word, "maker": maker_word},
        shape=kind.shape_for(kind_word),
    )


def iter_listings(*, seed: int, products: int, shops: int) -> Iterator[ListingSpec]:
    """Yield ``products`` listings; the same arguments always give the same listings."""
    shop_specs = iter_shops(seed=seed, shops=shops)
    weights = [s.weight for s in shop_specs]
    rng = random.Random(f"listings-{seed}")
    for index in range(products):
        shop = rng.choices(shop_specs, weights=weights)[0]
        yield _make_listing(rng, index, shop)


# --- Loading ---------------------------------------------------------------------


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


def _photo_paths(kind_key: str, shape: str, colour: str) -> tuple[str, str]:
    kind = next(k for k in KINDS if k.key == kind_key)
    stem = slugify(kind_key) if shape == kind.shape else f"{slugify(kind_key)}-{shape}"
    return f"demo/products/{stem}-{colour}.jpg", f"demo/thumbs/{stem}-{colour}.jpg"


def _draw_photo(job: tuple[str, str, str, str, str]) -> None:
    root, kind_key, shape, colour, texture = job
    name, thumb = _photo_paths(kind_key, shape, colour)
    img = demo_images.draw_product(
        shape=shape, colour=COLOUR_RGB[colour], texture=texture, seed=sum(map(ord, kind_key + colour))
    )
    demo_images.save_jpeg(img, Path(root) / name)
    demo_images.save_jpeg(demo_images.thumbnail_of(img), Path(root) / thumb)


def _missing_photos(*, media_root: Path, combos: set[tuple[str, str, str]]) -> list[tuple[str, str, str, str, str]]:
    jobs = []
    for kind_key, shape, colour in sorted(combos):
        name, thumb = _photo_paths(kind_key, shape, colour)
        if not (media_root / name).exists() or not (media_root / thumb).exists():
            kind = next(k for k in KINDS if k.key == kind_key)
            jobs.append((str(media_root), kind_key, shape, colour, MATERIALS[kind.materials[0]].texture))
    return jobs


def _draw_photos(jobs: list[tuple[str, str, str, str, str]], progress: Callable[[int], None] | None) -> None:
    """Draw photos in parallel; listings of one kind, motif and colour share a photo."""
    if len(jobs) < 8:
        for job in jobs:
            _draw_photo(job)
            if progress:
                progress(1)
        return
    with ProcessPoolExecutor(max_workers=max(1, min(4, os.cpu_count() or 1))) as pool:
        for _ in pool.map(_draw_photo, jobs, chunksize=4):
            if progress:
                progress(1)


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


def _without_auto_now(model, field_name: str):
    """Let a bulk load set ``created_at`` itself (listings of different ages)."""
    field_obj = model._meta.get_field(field_name)

    class _Ctx:
        def __enter__(self):
            self.saved = field_obj.auto_now_add
            field_obj.auto_now_add = False

        def __exit__(self, *exc):
            field_obj.auto_now_add = self.saved

    return _Ctx()


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


def _demo_favorites(*, users: dict[str, User], rng: random.Random, now) -> int:
    """Let each demo buyer favorite a dozen listings and a couple of shops over the last month."""
    buyers = [u for email, u in users.items() if email.startswith("buyer")]
    product_ids = list(Product.objects.filter(quantity__gt=0).values_list("pk", flat=True)[:5000])
    shop_ids = list(Shop.objects.values_list("pk", flat=True))
    if not buyers or not product_ids:
        return 0
    rows, liked = [], Counter()
    for buyer in buyers:
        for product_id in rng.sample(product_ids, min(12, len(product_ids))):
            rows.append(
                Favorite(
                    user=buyer,
                    kind=Favorite.Kind.PRODUCT,
                    product_id=product_id,
                    created_at=now - timedelta(days=rng.uniform(0, 30)),
                )
            )
            liked[product_id] += 1
        for shop_id in rng.sample(shop_ids, min(2, len(shop_ids))):
            rows.append(
                Favorite(
                    user=buyer,
                    kind=Favorite.Kind.SHOP,
                    shop_id=shop_id,
                    created_at=now - timedelta(days=rng.uniform(0, 30)),
                )
            )
    with transaction.atomic(), _without_auto_now(Favorite, "created_at"):
        Favorite.objects.bulk_create(rows, batch_size=BATCH, ignore_conflicts=True)
        by_count: dict[int, list[int]] = defaultdict(list)
        for product_id, count in liked.items():
            by_count[count].append(product_id)
        for count, ids in by_count.items():
            Product.objects.filter(pk__in=ids).update(favorite_count=F("favorite_count") + count)
    return len(rows)


def _choose_sales(
    *, sold: list[Product], stocked: list[Product], targets: dict[int, int], rng: random.Random
) -> list[Product]:
    """Return one entry per unit sold: each sold-out piece once, then units of each shop's stocked listings
    until the shop has about its ``targets`` sales (a shop with nothing stocked has only its sold-out pieces)."""
    sales = list(sold)
    per_shop = Counter(product.shop_id for product in sold)
    pools: dict[int, list[Product]] = defaultdict(list)
    for product in stocked:
        pools[product.shop_id].append(product)
    for shop_id, target in sorted(targets.items()):
        if pools[shop_id]:
            sales += [rng.choice(pools[shop_id]) for _ in range(max(0, target - per_shop[shop_id]))]
    return sales


def _count_sales_and_views(*, shop_ids: list[int], sales: list[Product]) -> None:
    """Make the public figures agree with the demo's orders: a shop's sales are its units sold, and no listing
    has sold more often than it was viewed (a listing is seen about 20 times per sale)."""
    per_shop = Counter(product.shop_id for product in sales)
    per_product = Counter(product.pk for product in sales)
    with transaction.atomic():
        for shop_id in shop_ids:
            Shop.objects.filter(pk=shop_id).update(sales_count=per_shop[shop_id])
        views: dict[int, list[int]] = defaultdict(list)
        for product_id, units in per_product.items():
            views[units * 20].append(product_id)
        for floor, ids in views.items():
            Product.objects.filter(pk__in=ids, view_count__lt=floor).update(view_count=F("view_count") + floor)


def _past_orders(
    *, sales: list[Product], users: dict[str, User], quality: dict[int, Decimal], rng: random.Random, now
) -> tuple[int, int]:
    """Write one order per unit in ``sales``, placed after its listing was listed and never dated in the future.

    An order whose delivery day has come is delivered, most of those with a review written after it arrived
    (scored around the shop's ``quality``); a recent one is still paid or shipped, as in a real seller's queue.
    Each shop's rating and review count are then computed from the reviews written here.
    """
    buyers = [u for email, u in users.items() if email.startswith("buyer")]
    if not sales or not buyers:
        return 0, 0
    comments = [
        "Even more beautiful in person. Thank you!",
        "Arrived quickly and wrapped with care.",
        "Exactly as described, great communication.",
        "Lovely quality, will order again.",
        "Took a while to arrive but worth the wait.",
        "Smaller than I expected, but well made.",
    ]
    shops = {s.id: s for s in Shop.objects.filter(id__in={p.shop_id for p in sales})}
    checkouts, orders, items, reviews = [], [], [], []
    repeat: Counter[int] = Counter()
    for product in sales:
        buyer = rng.choice(buyers)
        shop = shops[product.shop_id]
        shipping = shop.shipping_for(item_count=1, subtotal=product.price)
        # Never before it was listed. A sold-out piece went in the last two months (the sellers' 30-day
        # figures have a history); units of a stocked listing sold over its life, up to a year.
        listed_days = max(0.0, (now - product.created_at).total_seconds() / 86400)
        window = 60.0 if product.quantity == 0 else 365.0
        placed = now - timedelta(days=rng.uniform(0, min(window, listed_days)))
        repeat[product.pk] += 1
        key = f"demo-{product.pk}" if repeat[product.pk] == 1 else f"demo-{product.pk}-{repeat[product.pk]}"
        shipped = placed + timedelta(days=shop.processing_days)
        delivered = shipped + timedelta(days=3)
        if delivered <= now:
            status = Order.Status.DELIVERED
        elif shipped <= now:
            status, delivered = Order.Status.SHIPPED, None
        else:
            status, shipped, delivered = Order.Status.PAID, None, None
        checkout = Checkout(
            buyer=buyer,
            total=product.price + shipping,
            payment_status=Checkout.PaymentStatus.PAID,
            provider_idempotency_key=key,
            provider_charge_id=key.replace("demo-", "demo_ch_"),
            card_last4="4242",
            ship_name=buyer.display_name,
            ship_line1="12 Demo Lane",
            ship_city="Hudson",
            ship_postcode="12534",
            created_at=placed,
        )
        checkouts.append(checkout)
        orders.append(
            Order(
                checkout=checkout,
                buyer=buyer,
                shop=shop,
                subtotal=product.price,
                shipping=shipping,
                total=product.price + shipping,
                status=status,
                created_at=placed,
                tracking_number=f"1Z{product.pk:08d}{repeat[product.pk]:02d}" if shipped else "",
                paid_at=placed,
                shipped_at=shipped,
                delivered_at=delivered,
                estimated_delivery=(
                    delivery.estimate_when_shipped(shipped_on=shipped.date(), international=False)
                    if shipped
                    else delivery.estimate_when_placed(
                        placed_on=placed.date(), processing_days=shop.processing_days, international=False
                    )
                ),
            )
        )
    with (
        transaction.atomic(),
        _without_auto_now(Checkout, "created_at"),
        _without_auto_now(Order, "created_at"),
        _without_auto_now(Review, "created_at"),
    ):
        Checkout.objects.bulk_create(checkouts, batch_size=BATCH)
        for order in orders:
            order.checkout_id = order.checkout.id
        Order.objects.bulk_create(orders, batch_size=BATCH)
        for order, product in zip(orders, sales, strict=True):
            items.append(
                OrderItem(
                    order=order,
                    product=product,
                    title_at_purchase=product.title,
                    price_at_purchase=product.price,
                    quantity=1,
                )
            )
            if order.status == Order.Status.DELIVERED and rng.random() < 0.7:
                typical = float(quality.get(order.shop_id, Decimal("4.5")))
                days_since = (now - order.delivered_at).total_seconds() / 86400
                reviews.append(
                    Review(
                        order=order,
                        reviewer=order.buyer,
                        shop=order.shop,
                        rating=max(1, min(5, round(rng.gauss(typical, 0.8)))),
                        comment=rng.choice(comments),
                        created_at=order.delivered_at + timedelta(days=rng.uniform(0, min(5.0, days_since))),
                    )
                )
        OrderItem.objects.bulk_create(items, batch_size=BATCH)
        Review.objects.bulk_create(reviews, batch_size=BATCH)
        by_shop: dict[int, list[int]] = defaultdict(list)
        for review in reviews:
            by_shop[review.shop_id].append(review.rating)
        for shop_id, ratings in by_shop.items():
            Shop.objects.filter(pk=shop_id).update(rating=_mean_rating(ratings), review_count=len(ratings))
    return len(orders), len(reviews)


def _mean_rating(ratings: list[int]) -> Decimal:
    """Round the way ``shops.services.recompute_shop_rating`` does (one decimal, half up)."""
    return (Decimal(sum(ratings)) / len(ratings)).quantize(Decimal("0.1"), ROUND_HALF_UP)
