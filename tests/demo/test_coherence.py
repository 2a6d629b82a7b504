"""The demo is the first thing every user sees: it must not contradict itself (issue 19, item 15)."""

import re
from collections import defaultdict
from decimal import ROUND_HALF_UP, Decimal

import pytest
from django.core.management import call_command
from django.db.models import Sum
from django.utils import timezone

from catalog.models import Product, ProductImage
from demo.images import draw_product
from demo.loader import iter_listings
from demo.vocabulary import KINDS
from orders.models import Order, OrderItem, Review
from shops.models import Shop

# Written by hand: what a reader sees in the title, and what the picture must then show.
MOTIF_OF_WORD = {
    "toy car": "toy",
    "wooden puzzle": "puzzle",
    "stacking toy": "stacker",
    "bar stool": "stool",
    "stool": "stool",
    "rocking chair": "chair",
    "pendant light": "pendant",
    "table lamp": "lamp",
    "mug": "mug",
    "tea cup": "mug",
    "teddy bear": "plush",
    "necklace": "necklace",
    "wallet": "wallet",
}

# "It has <verb/adjective>" and article mistakes the old sentence templates made.
UNGRAMMATICAL = [
    re.compile(r"\bhas (fits|holds|takes|made|lightweight|food safe|ready|about|finished|turned|one size)\b"),
    re.compile(r"\bhas (signed|printed|available|hand-knit|stuffed|soft|hand-dyed|block-printed|machine|\d)"),
    re.compile(r"\band (fits|holds|takes|made|lightweight|food safe|ready|about|finished|turned|one size)\b"),
    re.compile(r"\b[Aa] [aeiouAEIOU]\w"),  # "a antique", "A old"
    re.compile(r"\b[Aa]n [b-df-hj-np-tv-zB-DF-HJ-NP-TV-Z]\w"),  # "an vase"
]


@pytest.fixture(scope="module")
def demo_media(tmp_path_factory):
    return tmp_path_factory.mktemp("demo-media")  # photos drawn once for the module


@pytest.fixture
def demo_catalog(db, settings, demo_media):
    settings.MEDIA_ROOT = demo_media
    call_command("load_demo_catalog", products=1000, shops=6, seed=5, verbosity=0)


def test_demo_descriptions_read_as_english():
    specs = list(iter_listings(seed=7, products=3000, shops=40))
    bad = [(p.pattern, s.description) for s in specs for p in UNGRAMMATICAL if p.search(s.description)]
    assert bad == []
    for spec in specs:
        for sentence in re.split(r"(?<=[.!?;]) ", spec.description):
            assert sentence[:1].isupper() or sentence[:1].isdigit() or sentence.startswith("one of"), sentence


def test_every_detail_of_every_kind_is_a_whole_sentence():
    for kind in KINDS:
        for detail in kind.details:
            assert detail[:1].isupper() and detail.endswith("."), (kind.key, detail)


def test_a_vintage_description_names_the_decade_its_title_names():
    for spec in iter_listings(seed=7, products=3000, shops=40):
        decade = re.match(r"(19\d0s)", spec.words["maker"])
        if spec.is_vintage and decade:
            assert f"from the {decade.group(1)}" in spec.description, spec.description
        if spec.is_vintage and spec.quantity > 1:
            assert "only one is available" not in spec.description


def test_each_kind_word_maps_to_a_fitting_picture_motif():
    by_word = {word: kind.shape_for(word) for kind in KINDS for word in kind.words}
    for word, motif in MOTIF_OF_WORD.items():
        assert by_word[word] == motif, word
    fallback = draw_product(shape="no-such-shape", colour=(58, 104, 186), texture="wood", seed=1)
    for motif in set(by_word.values()):
        drawn = draw_product(shape=motif, colour=(58, 104, 186), texture="wood", seed=1)
        assert drawn.tobytes() != fallback.tobytes(), f"{motif} is drawn as a plain box"


def test_demo_shop_ratings_are_the_mean_of_the_demo_reviews(demo_catalog):
    ratings = defaultdict(list)
    for shop_id, rating in Review.objects.values_list("shop_id", "rating"):
        ratings[shop_id].append(rating)
    assert ratings, "the demo writes reviews"
    for shop in Shop.objects.all():
        mine = ratings.get(shop.pk, [])
        expected = (Decimal(sum(mine)) / len(mine)).quantize(Decimal("0.1"), ROUND_HALF_UP) if mine else None
        assert (shop.rating, shop.review_count) == (expected, len(mine)), shop.name


def test_demo_orders_and_reviews_are_never_dated_in_the_future(demo_catalog):
    now = timezone.now()
    orders = list(Order.objects.prefetch_related("items__product"))
    assert orders
    for order in orders:
        assert order.created_at <= now
        for stamp in (order.paid_at, order.shipped_at, order.delivered_at):
            assert stamp is None or stamp <= now, order
        assert all(item.product.created_at <= order.created_at for item in order.items.all())
        assert (order.status == Order.Status.DELIVERED) == (order.delivered_at is not None)
        assert (order.status in {Order.Status.SHIPPED, Order.Status.DELIVERED}) == (order.shipped_at is not None)
    for review in Review.objects.select_related("order"):
        assert review.order.status == Order.Status.DELIVERED
        assert review.order.delivered_at <= review.created_at <= now


def test_demo_listing_photos_show_what_the_title_names(demo_catalog):
    images = ProductImage.objects.select_related("product").filter(product__title__iregex=r"puzzle|stacking")
    assert images.exists(), "seed 5 lists wooden puzzles and stacking toys"
    for image in images:
        title = image.product.title.lower()
        expected = "puzzle" if "puzzle" in title else "stacker"
        assert expected in image.image.name, (title, image.image.name)
    for image in ProductImage.objects.select_related("product").filter(product__title__icontains="toy car"):
        assert "puzzle" not in image.image.name and "stacker" not in image.image.name


def test_demo_shop_sales_are_the_units_its_orders_sold(demo_catalog):
    units = dict(
        OrderItem.objects.values_list("order__shop_id").annotate(n=Sum("quantity")).values_list("order__shop_id", "n")
    )
    for shop in Shop.objects.all():
        assert shop.sales_count == units.get(shop.pk, 0), shop.name
    assert sum(units.values()) > Product.objects.filter(quantity=0).count(), "stocked listings sell too"


def test_no_demo_listing_sold_more_often_than_it_was_viewed(demo_catalog):
    sold = OrderItem.objects.values("product_id").annotate(n=Sum("quantity"))
    views = dict(Product.objects.values_list("pk", "view_count"))
    assert sold
    for row in sold:
        assert views[row["product_id"]] >= row["n"], row
