"""Business metrics named by the design documents (Prometheus, exposed at /metrics).

Under a multi-process server set PROMETHEUS_MULTIPROC_DIR; prometheus_client then
keeps each worker's samples in files that /metrics adds up.
"""

from prometheus_client import Counter, Gauge, Histogram

product_views = Counter("etsy_product_views_total", "Product page views.", ["category_id"])

search_latency = Histogram(
    "etsy_search_latency_seconds",
    "Search latency by query type (keyword, browse, filtered).",
    ["query_type"],
    buckets=[0.01, 0.05, 0.1, 0.2, 0.3, 0.5, 1],
)
search_queries = Counter("etsy_search_queries_total", "Search queries by whether filters were used.", ["has_filters"])
search_results = Histogram(
    "etsy_search_results_count", "Number of hits per search.", buckets=[0, 1, 5, 10, 25, 50, 100, 500, 1000]
)

orders_created = Counter("etsy_orders_created_total", "Orders created, by status at creation.", ["status"])
orders_by_shop = Counter("etsy_orders_by_shop_total", "Orders created per shop.", ["shop_id"])
order_value = Histogram("etsy_order_value_dollars", "Order totals in dollars.", buckets=[10, 25, 50, 100, 250, 500])
checkout_duration = Histogram(
    "etsy_checkout_duration_seconds", "Checkout duration, end to end.", buckets=[0.1, 0.2, 0.3, 0.5, 1, 2]
)

cache_hits = Counter("etsy_cache_hits_total", "Cache hits by cache type.", ["cache_type"])
cache_misses = Counter("etsy_cache_misses_total", "Cache misses by cache type.", ["cache_type"])
# Cached pages built, by kind (the key's first two parts: ``page:category``, ``page:product``) and by who built it:
# a request that found no copy (``request``) or a process's refresher thread after the responses (``refresher``).
# With their queries and seconds, they say what an expiry wave cost and where (``make bench-web`` prints them).
page_builds = Counter("etsy_page_builds_total", "Cached pages built, by kind and builder.", ["kind", "by"])
page_build_queries = Counter(
    "etsy_page_build_queries_total", "Database queries run while building cached pages.", ["kind", "by"]
)
page_build_seconds = Counter("etsy_page_build_seconds_total", "Seconds spent building cached pages.", ["kind", "by"])
page_build_cpu_seconds = Counter(
    "etsy_page_build_cpu_seconds_total",
    "CPU seconds of the building thread (not the database's) spent building cached pages.",
    ["kind", "by"],
)
page_revalidations = Counter(
    "etsy_page_revalidations_total",
    "Due page copies checked against the database by the refresher: kept (unchanged) or rebuilt.",
    ["kind", "outcome"],
)
near_cache_hits = Counter(
    "etsy_near_cache_hits_total", "Product page reads answered from the worker's own copies, with no Redis round trip."
)
near_cache_invalidations = Counter(
    "etsy_near_cache_invalidations_total",
    "Keys Redis told a worker to drop from its own copies (written, deleted, expired).",
)

circuit_breaker_state = Gauge(
    "etsy_circuit_breaker_state",
    "Circuit breaker state (0=closed, 1=open, 2=half-open).",
    ["service"],
    multiprocess_mode="mostrecent",
)

reservations_created = Counter("etsy_reservations_created_total", "Unique-item cart reservations created.")
reservations_expired = Counter("etsy_reservations_expired_total", "Expired reservations removed by the cleanup job.")
inventory_conflicts = Counter(
    "etsy_inventory_conflicts_total", "Cart or checkout attempts refused because stock or a reservation was taken."
)

outbox_failures = Counter(
    "etsy_outbox_failures_total", "Outbox handler runs that failed (raised, or no handler for the topic).", ["topic"]
)
outbox_dead_letters = Counter(
    "etsy_outbox_dead_letters_total", "Outbox rows parked as dead letters (OUTBOX_MAX_ATTEMPTS failures).", ["topic"]
)
outbox_parked = Gauge(
    "etsy_outbox_parked_messages",
    "Outbox rows parked as dead letters now (counted by the relay sweep).",
    multiprocess_mode="mostrecent",
)

# Worker-side hooks (pool processes' samples added up, task log context); they act only inside a Celery worker.
from etsy import celery_observability  # noqa: E402,F401

payment_books_mismatches = Counter(
    "etsy_payment_books_mismatches_total",
    "Provider amounts that disagree with our books (webhooks, refunds), by kind; never silently accepted.",
    ["kind"],
)
webhook_events = Counter(
    "etsy_webhook_events_total", "Provider webhook events by type and outcome.", ["type", "outcome"]
)
