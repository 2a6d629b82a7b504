"""Product views, trending and the personalized home feed (the documents' "Personalization").

Views are recorded on the hot path with no database write and no wait for Redis: each worker
sends the views it served in batches (``buffer_view``), to a global buffer that
``catalog.tasks.flush_product_views`` turns into ``ProductView`` rows every 30 s, and a short
per-viewer list of recent products that the feed reads at once. Buyers with fewer than 5
views get trending listings; the others get listings from their top categories, price band
and tags, learned from views and favorites, without sold-out or already purchased items and
spread across shops.
"""

from __future__ import annotations

import atexit
import json
import logging
import os
import threading
import time
from collections import Counter
from datetime import timedelta
from decimal import Decimal
from statistics import median

from django.conf import settings
from django.db.models import Case, Count, Value, When
from django.utils import timezone

from catalog import extensions
from catalog.models import Favorite, Product, ProductView
from etsy import cache, metrics

logger = logging.getLogger(__name__)

COLD_START_VIEWS = 5
RECENT_VIEWS_KEPT = 50
RECENT_VIEWS_TTL = 60 * 60 * 24 * 30
TRENDING_WINDOW = timedelta(days=7)
TRENDING_SIZE = 48
FEED_PER_SHOP = 2


def _redis():
    from django_redis import get_redis_connection

    return get_redis_connection("default")


def _raw_key(name: str) -> str:
    return f"{getattr(settings, 'CACHE_KEY_PREFIX', 'etsy')}:{name}"


def views_buffer_key() -> str:
    return _raw_key("views:buffer")


def recent_views_key(*, user_id: int | None, session_key: str | None) -> str | None:
    if user_id:
        return _raw_key(f"views:recent:u{user_id}")
    if session_key:
        return _raw_key(f"views:recent:s{session_key}")
    return None


def _view_event(*, product_id: int, user_id: int | None, session_key: str | None) -> str:
    """One view as the JSON line ``catalog.tasks.flush_product_views`` reads.

    Formatted directly (it runs on every product page): ids are integers, and the session key
    is JSON-quoted.
    """
    user = "null" if user_id is None else int(user_id)
    return f'{{"p":{int(product_id)},"u":{user},"s":{json.dumps(session_key or "")},"t":{time.time()!r}}}'


def queue_product_view(pipe, *, product_id: int, user_id: int | None = None, session_key: str | None = None) -> None:
    """Add the commands that buffer one view to a Redis pipeline (the caller sends it)."""
    pipe.rpush(views_buffer_key(), _view_event(product_id=product_id, user_id=user_id, session_key=session_key))
    recent = recent_views_key(user_id=user_id, session_key=session_key)
    if recent:
        pipe.lpush(recent, product_id)
        pipe.ltrim(recent, 0, RECENT_VIEWS_KEPT - 1)
        pipe.expire(recent, RECENT_VIEWS_TTL)


# A view need not reach Redis before the response: the worker keeps the views it served and sends them
# together, one RPUSH to the global buffer and one LPUSH / LTRIM / EXPIRE per viewer, when 200 are waiting
# or at the latest a second after the first (a daemon thread per process, ``_ViewSender``), and before this
# process reads a viewer's recent views (``list_recent_view_ids``, the home page). A signed-in product page
# then costs no Redis round trip when its entries are near copies (``make bench-web``: the view was the one
# write left on it). A worker killed outright loses at most the views of its last second: a lost view is
# acceptable, a slower page is not.
VIEWS_BATCH = 200
VIEWS_FLUSH_SECONDS = 1.0
_views: list[tuple[int, str | None, str]] = []  # (product id, the viewer's recent-views key, the buffer's event)
_views_lock = threading.Lock()
_views_first_at = 0.0


class _ViewSender:
    """The process's thread that sends buffered views ``VIEWS_FLUSH_SECONDS`` after the first of a batch."""

    def __init__(self) -> None:
        self.due = threading.Event()
        self.pid = os.getpid()
        threading.Thread(target=self._run, name="product-views-sender", daemon=True).start()

    def _run(self) -> None:
        while True:
            self.due.wait()
            self.due.clear()
            while _views:
                wait = _views_first_at + VIEWS_FLUSH_SECONDS - time.monotonic()
                if wait <= 0:
                    send_buffered_views()
                    break
                time.sleep(min(wait, 0.5))


_sender: _ViewSender | None = None


def _wake_sender() -> None:
    global _sender
    sender = _sender
    if sender is None or sender.pid != os.getpid():  # first view in this process (or after a fork)
        with _views_lock:
            if _sender is None or _sender.pid != os.getpid():
                _sender = _ViewSender()
            sender = _sender
    sender.due.set()


def buffer_view(*, product_id: int, user_id: int | None = None, session_key: str | None = None) -> None:
    """Keep one view to send with others (``send_buffered_views``); sent at once when the batch is full."""
    global _views_first_at
    event = _view_event(product_id=product_id, user_id=user_id, session_key=session_key)
    recent = recent_views_key(user_id=user_id, session_key=session_key)
    with _views_lock:
        _views.append((int(product_id), recent, event))
        first, full = len(_views) == 1, len(_views) >= VIEWS_BATCH
        if first:
            _views_first_at = time.monotonic()
    if full:
        send_buffered_views()
    elif first:
        _wake_sender()


def send_buffered_views() -> int:
    """Send this process's buffered views to Redis in one round trip; return how many were sent."""
    with _views_lock:
        batch = _views[:]
        _views.clear()
    if not batch:
        return 0
    viewed: dict[str, list[int]] = {}
    for product_id, recent, _ in batch:
        if recent:
            viewed.setdefault(recent, []).append(product_id)
    try:
        pipe = _redis().pipeline(transaction=False)
        pipe.rpush(views_buffer_key(), *(event for *_, event in batch))
        for recent, product_ids in viewed.items():
            pipe.lpush(recent, *product_ids)  # one by one to the head: the latest view ends up first
            pipe.ltrim(recent, 0, RECENT_VIEWS_KEPT - 1)
            pipe.expire(recent, RECENT_VIEWS_TTL)
        pipe.execute()
    except Exception:  # a lost view is acceptable; a failed page is not
        logger.warning("could not send %d buffered product views", len(batch), exc_info=True)
        return 0
    return len(batch)


def has_buffered_views() -> bool:
    return bool(_views)


atexit.register(send_buffered_views)


def record_product_view(
    *, product_id: int, category_id: int, user_id: int | None = None, session_key: str | None = None
) -> None:
    """Buffer one product view in Redis (no database write); a Redis failure drops the view."""
    metrics.product_views.labels(category_id=str(category_id)).inc()
    try:
        pipe = _redis().pipeline(transaction=False)
        queue_product_view(pipe, product_id=product_id, user_id=user_id, session_key=session_key)
        pipe.execute()
    except Exception:  # a lost view is acceptable; a failed page is not
        logger.warning("could not buffer a product view", exc_info=True)


NO_VIEWS = 0  # stored alone in a viewer's list: "the database has none either", so it is not asked again


def queue_recent_views(pipe, *, user_id: int | None, session_key: str | None) -> bool:
    """Add the read of the viewer's recent views to a pipeline; False when there is no viewer key.

    Sends this process's buffered views first, so the read sees the views this process served."""
    key = recent_views_key(user_id=user_id, session_key=session_key)
    if key is None:
        return False
    if has_buffered_views():
        send_buffered_views()
    pipe.lrange(key, 0, RECENT_VIEWS_KEPT - 1)
    return True


def list_recent_view_ids(*, user_id: int | None, session_key: str | None, raw: list | None = None) -> list[int]:
    """Return the viewer's recently viewed product ids, newest first (Redis, then the database once).

    ``raw`` is the reply of ``queue_recent_views`` when the caller already read the list.
    """
    key = recent_views_key(user_id=user_id, session_key=session_key)
    if key is None:
        return []
    if raw is None:
        if has_buffered_views():  # this process's own views first
            send_buffered_views()
        try:
            raw = _redis().lrange(key, 0, RECENT_VIEWS_KEPT - 1)
        except Exception:
            logger.warning("could not read recent views", exc_info=True)
            raw = None
    if raw:
        return [int(x) for x in raw if int(x) != NO_VIEWS]
    if not user_id:
        return []
    ids = list(
        ProductView.objects.filter(user_id=user_id)
        .order_by("-viewed_at")
        .values_list("product_id", flat=True)[:RECENT_VIEWS_KEPT]
    )
    if raw is not None:  # Redis answered with nothing: remember the database's answer
        try:
            pipe = _redis().pipeline(transaction=False)
            pipe.rpush(key, *(ids or [NO_VIEWS]))
            pipe.expire(key, RECENT_VIEWS_TTL)
            pipe.execute()
        except Exception:
            logger.warning("could not store recent views", exc_info=True)
    return ids


def compute_trending_ids(*, category_id: int | None = None, size: int = TRENDING_SIZE) -> list[int]:
    """Return trending in-stock product ids: most viewed and favorited in the last week."""
    from catalog.selectors import get_category_tree

    since = timezone.now() - TRENDING_WINDOW
    products = Product.objects.purchasable()
    if category_id is not None:
        category = get_category_tree().by_id.get(category_id)
        if category is None:
            return []
        products = products.filter(category__path__startswith=category.path)
    recent = (
        products.filter(views__viewed_at__gte=since)
        .annotate(n=Count("views"))
        .order_by("-n", "-favorite_count", "-id")
        .values_list("id", flat=True)[:size]
    )
    ids = list(recent)
    if len(ids) < size:
        fill = (
            products.exclude(pk__in=ids)
            .order_by("-favorite_count", "-view_count", "-created_at")
            .values_list("id", flat=True)[: size - len(ids)]
        )
        ids.extend(fill)
    return ids


def _spread_across_shops(rows: list[tuple[int, int]], *, limit: int, per_shop: int) -> list[int]:
    """Pick ids in order, at most ``per_shop`` per shop first, then fill up."""
    chosen: list[int] = []
    counts: Counter[int] = Counter()
    for pid, shop_id in rows:
        if len(chosen) >= limit:
            break
        if counts[shop_id] < per_shop:
            counts[shop_id] += 1
            chosen.append(pid)
    for pid, _ in rows:
        if len(chosen) >= limit:
            break
        if pid not in chosen:
            chosen.append(pid)
    return chosen


def compute_personalized_ids(*, user_id: int | None, seen_ids: list[int], limit: int) -> list[int]:
    """Return feed ids from the viewer's top categories, price band and tags."""
    favorite_ids: list[int] = []
    purchased: list[int] = []
    if user_id:
        favorite_ids = list(
            Favorite.objects.filter(user_id=user_id, kind=Favorite.Kind.PRODUCT).values_list("product_id", flat=True)[
                :50
            ]
        )
        purchased = list(extensions.list_purchased_product_ids(user_id=user_id))
    signal_ids = list(dict.fromkeys(seen_ids + favorite_ids))
    signals = list(Product.objects.filter(pk__in=signal_ids).values_list("id", "category_id", "price", "tags"))
    if not signals:
        return []
    weights = Counter()
    for pid, category_id, _, _ in signals:
        # A favorite says more than a glance.
        weights[category_id] += 3 if pid in favorite_ids else 1
    top_categories = [c for c, _ in weights.most_common(3)]
    prices = [price for _, _, price, _ in signals]
    mid = Decimal(median(prices))
    low, high = (mid * Decimal("0.5")).quantize(Decimal("0.01")), (mid * Decimal("2")).quantize(Decimal("0.01"))
    tag_counts = Counter(t for *_, tags in signals for t in (tags or []))
    top_tags = [t for t, _ in tag_counts.most_common(6)]

    candidates = (
        Product.objects.purchasable()
        .filter(category_id__in=top_categories)
        .filter(price__gte=low, price__lte=high)
        .exclude(pk__in=set(signal_ids) | set(purchased))
    )
    if top_tags:
        candidates = candidates.annotate(tag_match=Case(When(tags__overlap=top_tags, then=1), default=0))
    else:
        candidates = candidates.annotate(tag_match=Value(0))
    rows = list(
        candidates.order_by("-tag_match", "-favorite_count", "-created_at").values_list("id", "shop_id")[: limit * 4]
    )
    return _spread_across_shops(rows, limit=limit, per_shop=FEED_PER_SHOP)


def get_personalized_feed(*, user, session_key: str | None, limit: int = 24) -> list[Product]:
    """Return the home feed: trending below 5 views, else personalized (cached 5 minutes).

    When personalization fails or finds nothing, fall back to trending (the documents'
    degradation rule for the feed).
    """
    from catalog.selectors import list_products_by_ids, list_trending_products

    user_id = user.pk if getattr(user, "is_authenticated", False) else None
    seen = list_recent_view_ids(user_id=user_id, session_key=session_key)
    if len(seen) < COLD_START_VIEWS:
        return list_trending_products(limit=limit)
    try:
        if user_id:
            ids = cache.cache_aside(
                cache.feed_key(user_id),
                lambda: compute_personalized_ids(user_id=user_id, seen_ids=seen, limit=limit),
                ttl=cache.TTL["feed"],
                cache_type="feed",
            )
        else:
            ids = compute_personalized_ids(user_id=None, seen_ids=seen, limit=limit)
    except Exception:
        logger.exception("personalized feed failed; serving trending")
        ids = []
    products = list_products_by_ids(product_ids=ids)
    if not products:
        return list_trending_products(limit=limit)
    return products
