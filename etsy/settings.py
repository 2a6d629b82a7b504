"""Settings for every environment.

Each difference between development, test and production comes from an
environment variable read here (django-environ). ``ETSY_ENV=production`` turns on
the production profile: DEBUG off, secure cookies, HSTS, and secrets without defaults.
``make run`` / ``make test`` write the addresses of the embedded services to
``.data/stack.env``; real environment variables always win over that file.
"""

import os
from pathlib import Path
from urllib.parse import urlsplit

import environ
from celery.schedules import crontab

from etsy.task_queues import DEFAULT_QUEUE, broker_transport, broker_transport_options, task_queues, task_routes

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()
_stack_env = BASE_DIR / ".data" / "stack.env"
if _stack_env.exists():
    env.read_env(str(_stack_env), overwrite=False)

# --- Profile -----------------------------------------------------------------
ETSY_ENV = env.str("ETSY_ENV", default="development")
IS_PRODUCTION = ETSY_ENV == "production"

DEBUG = env.bool("DEBUG", default=not IS_PRODUCTION)
SECRET_KEY = env.str("SECRET_KEY") if IS_PRODUCTION else env.str("SECRET_KEY", default="dev-only-insecure-key")
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=[] if IS_PRODUCTION else ["*"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

# --- Applications ------------------------------------------------------------
INSTALLED_APPS = [
    "django_prometheus",
    "accounts.apps.ThrottledAdminConfig",  # django.contrib.admin, its login throttled
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.postgres",
    "django.contrib.humanize",
    "rest_framework",
    "rest_framework.authtoken",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_htmx",
    "django_elasticsearch_dsl",
    "anymail",
    "etsy",  # system checks (etsy/checks.py), tracing
    "etsy.outbox",
    "accounts",
    "shops",
    "catalog",
    "search",
    "cart",
    "orders",
    "messaging",
    "payments",
    "cases",
    "demo",
]

MIDDLEWARE = [
    "django_prometheus.middleware.PrometheusBeforeMiddleware",
    "etsy.middleware.RequestLogMiddleware",  # first of ours: request id + one JSON access line
    "django.middleware.security.SecurityMiddleware",
    "etsy.middleware.ContentSecurityPolicyMiddleware",
    "etsy.middleware.ApiErrorFormatMiddleware",  # outside every response-writing layer below it
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "etsy.db_router.ReplicaReadsMiddleware",  # before any middleware that reads: picks the request's database
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "etsy.middleware.PageMessageMiddleware",  # Django's messages, for pages only (the API has none)
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "etsy.middleware.PrometheusAfterMiddleware",  # django-prometheus's, labelled children kept
]

ROOT_URLCONF = "etsy.urls"
WSGI_APPLICATION = "etsy.wsgi.application"
AUTH_USER_MODEL = "accounts.User"
# ModelBackend, with each web process keeping the accounts it loaded until they change (accounts/backends.py).
AUTHENTICATION_BACKENDS = ["accounts.backends.NearCachedModelBackend"]
LOGIN_URL = "accounts:login"
LOGIN_REDIRECT_URL = "/"
LOGOUT_REDIRECT_URL = "/"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
    # The emails (templates_jinja2/emails/, rendered only by etsy.emails): Jinja2, 2.5 times faster than the template
    # language above, printing values exactly as it does (etsy/email_templates.py).
    {
        "BACKEND": "django.template.backends.jinja2.Jinja2",
        "NAME": "emails",
        "DIRS": [BASE_DIR / "templates_jinja2"],
        "APP_DIRS": False,
        "OPTIONS": {
            "environment": "etsy.email_templates.environment",
            "filters": {"money": "catalog.templatetags.shop_tags.money"},
        },
    },
]

# --- Database ----------------------------------------------------------------
# Checkout sets its own lock_timeout; the statement timeout protects every request.
DATABASES = {"default": env.db("DATABASE_URL", default="postgres://postgres@127.0.0.1:5432/etsy")}
# django-prometheus's PostgreSQL backend with a health check that asks the socket first (etsy/postgresql/base.py).
DATABASES["default"]["ENGINE"] = "etsy.postgresql"
DATABASES["default"]["CONN_MAX_AGE"] = env.int("DB_CONN_MAX_AGE", default=60)
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
DATABASES["default"].setdefault("OPTIONS", {})
DATABASES["default"]["OPTIONS"]["connect_timeout"] = env.int("DB_CONNECT_TIMEOUT", default=5)
# Statements are prepared only where the code asks (etsy/prepared.py: the write path's constant hand-written ones);
# Django's default (None) turns preparing off altogether, for poolers in transaction mode. Behind such a pooler
# set DB_PREPARED_STATEMENTS=false. A prepared statement is planned once (plan_cache_mode): left to choose, PostgreSQL
# kept planning on every run those whose parameter is an array (a custom plan counts its 3 ids, a generic one
# guesses 10, so the custom plan always looked cheaper).
DB_PREPARED_STATEMENTS = env.bool("DB_PREPARED_STATEMENTS", default=True)
DATABASES["default"]["OPTIONS"]["prepare_threshold"] = 10**9 if DB_PREPARED_STATEMENTS else None


def _set_on_connect(name: str, value: str) -> None:
    """Send a server setting with every connection (libpq's startup ``options``), after any the URL gave."""
    options = DATABASES["default"]["OPTIONS"]
    options["options"] = " ".join(filter(None, [options.get("options"), f"-c {name}={value}"]))


if DB_PREPARED_STATEMENTS:
    _set_on_connect("plan_cache_mode", "force_generic_plan")
# The planner's price of a random page read against a sequential one (PostgreSQL's default, 4, prices a spinning
# disk). Our working set is in memory or on SSD; at 4 the planner hash-joins the order items or the ledger in full
# (a sequential scan growing with every sale) where a few index look-ups answer. Empty: the server's own setting.
DB_RANDOM_PAGE_COST = env.str("DB_RANDOM_PAGE_COST", default="1.1")
if DB_RANDOM_PAGE_COST:
    _set_on_connect("random_page_cost", f"{float(DB_RANDOM_PAGE_COST):g}")
DATABASES["default"]["TEST"] = {"NAME": env.str("TEST_DATABASE_NAME", default=None)}
# Read replicas (etsy/db_router.py): GET/HEAD of catalog, shop, search and feed pages read a healthy
# replica; writes, transactions and a client's reads for READ_YOUR_WRITES_SECONDS after it wrote use the primary.
DATABASE_REPLICA_URLS = env.list("DATABASE_REPLICA_URLS", default=[])
for _number, _url in enumerate(DATABASE_REPLICA_URLS, start=1):
    DATABASES[f"replica{_number}"] = {
        **env.db_url_config(_url),
        "ENGINE": DATABASES["default"]["ENGINE"],
        "CONN_MAX_AGE": DATABASES["default"]["CONN_MAX_AGE"],
        "CONN_HEALTH_CHECKS": True,
        "OPTIONS": dict(DATABASES["default"]["OPTIONS"]),
        "TEST": {"MIRROR": "default"},
    }
DATABASE_ROUTERS = ["etsy.db_router.ReplicaRouter"] if DATABASE_REPLICA_URLS else []
READ_YOUR_WRITES_SECONDS = env.int("READ_YOUR_WRITES_SECONDS", default=10)
REPLICA_MAX_LAG_SECONDS = env.float("REPLICA_MAX_LAG_SECONDS", default=5.0)
REPLICA_CHECK_SECONDS = env.float("REPLICA_CHECK_SECONDS", default=2.0)
# Whole namespaces or single view names whose GET/HEAD may read a replica.
REPLICA_READ_VIEWS = env.list(
    "REPLICA_READ_VIEWS",
    default=[
        "catalog:home",
        "catalog:category",
        "catalog:product",
        "catalog:product_short",
        "shops",
        "search",
        "api:categories",
        "api:products",
        "api:product-detail",
        "api:feed",
        "api:shop-detail",
        "api:shop-products",
        "api:shop-reviews",
        "api:search",
        "api:search-suggestions",
    ],
)
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Cache (Redis) -----------------------------------------------------------
# One Redis per role, each falling back to REDIS_URL (docs/operations.md, "Redis roles"):
# - REDIS_CACHE_URL, "default": page data, may evict (allkeys-lru) and may be lost: errors are
#   swallowed so pages fall back to the database;
# - REDIS_SESSIONS_URL, "sessions": the sessions cache (the database stays the source of truth);
# - REDIS_LOCKS_URL, "strict": idempotency keys, reservations, payment locks; never evicts
#   (noeviction) and never swallows an error, so callers refuse rather than risk a duplicate;
# - CELERY_BROKER_URL (section "Celery").
# REDIS_SENTINELS (host:port,...) switches every role to django-redis's Sentinel client: the URLs'
# host is then the Sentinel service name (redis://mymaster/0).
REDIS_URL = env.str("REDIS_URL", default="redis://127.0.0.1:6379/0")
REDIS_CACHE_URL = env.str("REDIS_CACHE_URL", default="") or REDIS_URL
REDIS_SESSIONS_URL = env.str("REDIS_SESSIONS_URL", default="") or REDIS_URL
REDIS_LOCKS_URL = env.str("REDIS_LOCKS_URL", default="") or REDIS_URL
REDIS_SENTINELS = [
    (host, int(port)) for host, _, port in (item.rpartition(":") for item in env.list("REDIS_SENTINELS", default=[]))
]
CACHE_ENABLED = env.bool("CACHE_ENABLED", default=True)
# Stale page copies are rebuilt by each web process's refresher thread after the responses (etsy/cache/aside.py);
# false: by the request that finds one due, before its response (the earlier behaviour, to compare the two).
CACHE_REFRESH_IN_BACKGROUND = env.bool("CACHE_REFRESH_IN_BACKGROUND", default=True)
# The share of each web process's time its refresher may spend checking and rebuilding stale page copies
# (etsy.cache.aside: a budget of seconds that refills at this rate).
CACHE_REFRESH_SHARE = env.float("CACHE_REFRESH_SHARE", default=0.05)
CACHE_KEY_PREFIX = env.str("CACHE_KEY_PREFIX", default="etsy")
# Tests in parallel (pytest-xdist): each worker keeps its own keys, near-cache invalidations and task queue;
# pytest-django gives each its own test database.
# A test run (pytest sets PYTEST_VERSION for itself and its subprocesses) never shares keys or task queues with
# `make run` on the same Redis, and parallel test workers (pytest-xdist) none with each other.
_TEST_WORKER = env.str("PYTEST_XDIST_WORKER", default="")
_TEST_PREFIX_SUFFIX = ("-test" + (f"-{_TEST_WORKER}" if _TEST_WORKER else "")) if env.str("PYTEST_VERSION", "") else ""
if _TEST_PREFIX_SUFFIX and not CACHE_KEY_PREFIX.endswith(_TEST_PREFIX_SUFFIX):  # a test's subprocess inherits both
    CACHE_KEY_PREFIX = f"{CACHE_KEY_PREFIX}{_TEST_PREFIX_SUFFIX}"
# Each web process keeps its own copy of product page records and stock counts, dropped the
# moment Redis reports a change (etsy/near_cache.py); at most this many entries (~12 KB each).
# It subscribes to the cache Redis by URL, so it is off by default behind Sentinel.
NEAR_CACHE_ENABLED = env.bool("NEAR_CACHE_ENABLED", default=not REDIS_SENTINELS)
NEAR_CACHE_MAX_ENTRIES = env.int("NEAR_CACHE_MAX_ENTRIES", default=2000)
_redis_options = {
    "CLIENT_CLASS": "django_redis.client.DefaultClient",
    "SOCKET_CONNECT_TIMEOUT": env.float("REDIS_CONNECT_TIMEOUT", default=0.5),
    "SOCKET_TIMEOUT": env.float("REDIS_SOCKET_TIMEOUT", default=0.5),
}
if REDIS_SENTINELS:
    _redis_options.update(
        {
            "CLIENT_CLASS": "django_redis.client.SentinelClient",
            "CONNECTION_FACTORY": "django_redis.pool.SentinelConnectionFactory",
            "CONNECTION_POOL_CLASS": "redis.sentinel.SentinelConnectionPool",
            "SENTINELS": REDIS_SENTINELS,
            "SENTINEL_KWARGS": {"socket_timeout": env.float("REDIS_CONNECT_TIMEOUT", default=0.5)},
        }
    )


def _redis_cache(location: str, *, timeout: int | None, ignore_exceptions: bool) -> dict:
    return {
        "BACKEND": "django_redis.cache.RedisCache",
        "LOCATION": location,
        "KEY_PREFIX": CACHE_KEY_PREFIX,
        "TIMEOUT": timeout,
        "OPTIONS": {**_redis_options, "IGNORE_EXCEPTIONS": ignore_exceptions},
    }


CACHES = {
    "default": _redis_cache(REDIS_CACHE_URL, timeout=env.int("CACHE_DEFAULT_TTL", default=300), ignore_exceptions=True),
    "sessions": _redis_cache(REDIS_SESSIONS_URL, timeout=None, ignore_exceptions=True),
    "strict": _redis_cache(REDIS_LOCKS_URL, timeout=None, ignore_exceptions=False),
}
DJANGO_REDIS_LOG_IGNORED_EXCEPTIONS = True
# Sessions survive a Redis outage: the database is the source of truth.
# cached_db, kept in each web process while Redis says it has not changed (etsy/sessions.py).
SESSION_ENGINE = "etsy.sessions"
SESSION_CACHE_ALIAS = "sessions"
SESSION_COOKIE_AGE = 60 * 60 * 24 * 14

# --- Circuit breakers (etsy/breakers/) ------------------------------------------
# The breakers whose error-rate window and open/half-open state live in Redis, one for every web process and
# Celery worker: a comma-separated list of names ("payment", "elasticsearch"); empty: each process counts its own
# calls (the earlier behaviour). The payment breaker's per-process sample (5 calls) opened on one worker's bad luck
# (two slow cards in its last five calls) while the fleet's rate was 10 %. Elasticsearch stays per process: every
# search that misses the cache calls it, so a process's own sample is large, the shared window would add a round
# trip to each of those calls, and a wrong opening costs a PostgreSQL answer, not a refused sale.
BREAKER_SHARED_WINDOWS = env.list("BREAKER_SHARED_WINDOWS", default=["payment"])
# The cache alias whose Redis holds them: "strict" (REDIS_LOCKS_URL), which checkout needs anyway for its
# payment locks, never evicts, and whose key prefix keeps environments and test runs apart.
BREAKER_REDIS_ALIAS = env.str("BREAKER_REDIS_ALIAS", default="strict")
# The breakers' own Redis client timeouts (connect and read), seconds: a slow Redis costs a call at most this.
BREAKER_REDIS_TIMEOUT = env.float("BREAKER_REDIS_TIMEOUT", default=0.1)
# After a Redis error a process counts in its own window (and logs it once) for this long, then tries Redis again.
BREAKER_REDIS_RETRY_SECONDS = env.float("BREAKER_REDIS_RETRY_SECONDS", default=5.0)
# How old a process's view of a shared breaker's state may be before the check that precedes a checkout asks
# Redis (one MGET); every counted call's own round trip refreshes the view, so a busy process never asks.
BREAKER_STATE_MAX_AGE = env.float("BREAKER_STATE_MAX_AGE", default=2.0)

# --- Celery ------------------------------------------------------------------
CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default="") or REDIS_URL
CELERY_RESULT_BACKEND = None
CELERY_TASK_ALWAYS_EAGER = env.bool("CELERY_TASK_ALWAYS_EAGER", default=False)
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
# A new pool process warms up before its first task (etsy.celery, etsy.warmup: about a quarter second of CPU, 1-1.4 s
# when nine processes start together on two cores); Celery's default 4 s to report ready would restart a process
# that is still warming on a busier machine, again and again.
CELERY_WORKER_PROC_ALIVE_TIMEOUT = env.float("CELERY_WORKER_PROC_ALIVE_TIMEOUT", default=30.0)
# Redis: a task not acknowledged within the visibility timeout is redelivered. RabbitMQ (the documented
# production broker): quorum queues and publisher confirms (etsy/task_queues.py).
# Redis: kombu's transport with one client per channel rather than one per command (etsy/redis_broker.py).
CELERY_BROKER_TRANSPORT = broker_transport(CELERY_BROKER_URL)
CELERY_BROKER_TRANSPORT_OPTIONS = broker_transport_options(
    CELERY_BROKER_URL, visibility_timeout=env.int("CELERY_VISIBILITY_TIMEOUT", default=3600)
)
# A hung task is stopped (soft limit raises inside the task, then a hard kill), well under the
# visibility timeout, so a task is never redelivered while its first copy still runs.
CELERY_TASK_SOFT_TIME_LIMIT = env.int("CELERY_TASK_SOFT_TIME_LIMIT", default=240)
CELERY_TASK_TIME_LIMIT = env.int("CELERY_TASK_TIME_LIMIT", default=300)
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# Celery's Django fixup closes every database connection before and after each task unless this is set, so each
# task opened a new PostgreSQL session (a backend started, authenticated and its catalog caches warmed per task).
# With it, the fixup closes them every 2 x this many tasks; between, etsy/celery.py treats each task as Django
# treats a request (close_old_connections: CONN_MAX_AGE and the health check decide).
CELERY_DB_REUSE_MAX = env.int("CELERY_DB_REUSE_MAX", default=1000)
# One queue per kind of work (emails, search, payments, default), one worker pool each in production.
# A test run's queues carry its suffix (and each pytest-xdist worker's name): its tasks never reach a `make run`
# worker, nor another test worker.
# CELERY_QUEUE_SUFFIX: a benchmark's own queues (scripts/bench_writes.py), so a `make run` worker on the same Redis
# never takes its tasks (they name rows of another database).
_QUEUE_SUFFIX = TASK_QUEUE_SUFFIX = _TEST_PREFIX_SUFFIX + env.str("CELERY_QUEUE_SUFFIX", default="")
CELERY_TASK_DEFAULT_QUEUE = DEFAULT_QUEUE + _QUEUE_SUFFIX
CELERY_TASK_QUEUES = task_queues(CELERY_BROKER_URL, suffix=_QUEUE_SUFFIX)
CELERY_TASK_ROUTES = task_routes(suffix=_QUEUE_SUFFIX)
CELERY_TIMEZONE = "UTC"
CELERY_BEAT_SCHEDULE: dict = {}  # filled by the "Background jobs" section below

# --- Email -------------------------------------------------------------------
# Every message passes accounts.mail, which drops addresses that bounced or complained, then the delivery
# backend: a provider through django-anymail when EMAIL_PROVIDER is set (amazon_ses, postmark, mailgun,
# sendgrid, ...; its keys as ANYMAIL_<NAME>, e.g. ANYMAIL_POSTMARK_SERVER_TOKEN), else SMTP when EMAIL_HOST is
# set or in production, else the console. The production profile refuses console/memory/file backends (etsy.checks).
EMAIL_PROVIDER = env.str("EMAIL_PROVIDER", default="")
EMAIL_HOST = env.str("EMAIL_HOST", default="localhost")
EMAIL_PORT = env.int("EMAIL_PORT", default=25)
EMAIL_HOST_USER = env.str("EMAIL_HOST_USER", default="")
EMAIL_HOST_PASSWORD = env.str("EMAIL_HOST_PASSWORD", default="")
EMAIL_USE_TLS = env.bool("EMAIL_USE_TLS", default=False)
EMAIL_USE_SSL = env.bool("EMAIL_USE_SSL", default=False)
EMAIL_TIMEOUT = env.int("EMAIL_TIMEOUT", default=10)
if EMAIL_PROVIDER:
    _delivery_default = f"anymail.backends.{EMAIL_PROVIDER}.EmailBackend"
elif IS_PRODUCTION or "EMAIL_HOST" in env:
    _delivery_default = "django.core.mail.backends.smtp.EmailBackend"
else:
    _delivery_default = "django.core.mail.backends.console.EmailBackend"
EMAIL_DELIVERY_BACKEND = env.str("EMAIL_BACKEND", default=_delivery_default)
EMAIL_BACKEND = "accounts.mail.SkipUndeliverableBackend"
ANYMAIL = {name.removeprefix("ANYMAIL_"): value for name, value in env.ENVIRON.items() if name.startswith("ANYMAIL_")}
EMAIL_FILE_PATH = env.str("EMAIL_FILE_PATH", default="")  # for the file-based backend
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="Etsy Marketplace <no-reply@marketplace.test>")
# Absolute links in emails (digests, order notifications) start with this.
SITE_URL = env.str("SITE_URL", default="http://127.0.0.1:8000").rstrip("/")

# --- Search ------------------------------------------------------------------
# Without ELASTICSEARCH_URL, PostgreSQL full-text search answers every query.
ELASTICSEARCH_URL = env.str("ELASTICSEARCH_URL", default="")
# The alias searches use; `make search-rebuild` fills a new versioned index and swaps the alias to it.
ELASTICSEARCH_INDEX = env.str("ELASTICSEARCH_INDEX", default="products")
# The design: 3 shards and 1 replica per 10M products in production; one node, 1 shard, 0 replicas locally.
ELASTICSEARCH_SHARDS = env.int("ELASTICSEARCH_SHARDS", default=3 if IS_PRODUCTION else 1)
ELASTICSEARCH_REPLICAS = env.int("ELASTICSEARCH_REPLICAS", default=1 if IS_PRODUCTION else 0)
ELASTICSEARCH_DSL = {"default": {"hosts": ELASTICSEARCH_URL or "http://127.0.0.1:9200", "request_timeout": 3}}
ELASTICSEARCH_DSL_AUTOSYNC = False  # we sync after commit through Celery (search.receivers)
ELASTICSEARCH_DSL_AUTO_REFRESH = False
SEARCH_CACHE_TTL = env.int("SEARCH_CACHE_TTL", default=120)

# --- Marketplace rules ---------------------------------------------------------
RESERVATION_MINUTES = env.int("RESERVATION_MINUTES", default=15)
IDEMPOTENCY_TTL_SECONDS = env.int("IDEMPOTENCY_TTL_SECONDS", default=60 * 60 * 24)
CHECKOUT_LOCK_TIMEOUT_MS = env.int("CHECKOUT_LOCK_TIMEOUT_MS", default=3000)
PAYMENT_PROVIDER = env.str("PAYMENT_PROVIDER", default="orders.payments.TestPaymentProvider")
PAYMENT_TIMEOUT_SECONDS = env.float("PAYMENT_TIMEOUT_SECONDS", default=5.0)
# A checkout whose charge the provider never received is cancelled (and restocked) after this long.
PAYMENT_ABANDON_AFTER_SECONDS = env.int("PAYMENT_ABANDON_AFTER_SECONDS", default=15 * 60)
# How long the test provider's "time out" payment method hangs (only the test provider reads it).
TEST_PAYMENT_SLOW_SECONDS = env.float("TEST_PAYMENT_SLOW_SECONDS", default=PAYMENT_TIMEOUT_SECONDS + 2)
# The fee rule (orders/fees.py), frozen on each order: a transaction fee in percent of items plus shipping
# and a payment-processing fee in percent of the order total plus a fixed amount per order.
MARKETPLACE_FEE_PERCENT = env.float("MARKETPLACE_FEE_PERCENT", default=6.5)
PAYMENT_PROCESSING_PERCENT = env.float("PAYMENT_PROCESSING_PERCENT", default=3.0)
PAYMENT_PROCESSING_FIXED = env.str("PAYMENT_PROCESSING_FIXED", default="0.25")
# The buyer's account: addresses kept per buyer; how long an email-change link (mailed to the new address) is valid.
ADDRESS_BOOK_LIMIT = env.int("ADDRESS_BOOK_LIMIT", default=50)
EMAIL_CHANGE_MAX_AGE_SECONDS = env.int("EMAIL_CHANGE_MAX_AGE_SECONDS", default=3 * 24 * 3600)
# Estimated delivery (orders/delivery.py): the shop's processing days, then these carrier days, in business days.
SHIPPING_DAYS_DOMESTIC = env.int("SHIPPING_DAYS_DOMESTIC", default=4)
SHIPPING_DAYS_INTERNATIONAL = env.int("SHIPPING_DAYS_INTERNATIONAL", default=10)
# A shipped order nobody marked delivered is taken as delivered this many days after its estimated date.
AUTO_DELIVER_AFTER_DAYS = env.int("AUTO_DELIVER_AFTER_DAYS", default=14)
# Reviews may be left and edited this many days from delivery (or from the estimated date without tracking).
REVIEW_WINDOW_DAYS = env.int("REVIEW_WINDOW_DAYS", default=100)
# The carrier tracking webhook (POST /webhooks/tracking) signs its body with HMAC-SHA256 under this secret.
TRACKING_WEBHOOK_SECRET = env.str("TRACKING_WEBHOOK_SECRET", default="")
# The Stripe provider (PAYMENT_PROVIDER=orders.payments_stripe.StripePaymentProvider). Card data is
# typed into Stripe.js's Payment Element (loaded from STRIPE_JS_URL, the one extra origin the CSP allows);
# we only ever see a payment-method id. STRIPE_API_BASE / STRIPE_CONNECT_API_BASE point the official
# library elsewhere (tests: localstripe and a local Connect fake); STRIPE_SUPPORTS_TRANSFER_GROUP=false
# for a server that refuses transfer_group on PaymentIntents (localstripe): it is then sent on Transfers only.
STRIPE_SECRET_KEY = env.str("STRIPE_SECRET_KEY", default="")
STRIPE_PUBLISHABLE_KEY = env.str("STRIPE_PUBLISHABLE_KEY", default="")
STRIPE_WEBHOOK_SECRET = env.str("STRIPE_WEBHOOK_SECRET", default="")
STRIPE_JS_URL = env.str("STRIPE_JS_URL", default="https://js.stripe.com/v3/")
STRIPE_API_BASE = env.str("STRIPE_API_BASE", default="https://api.stripe.com")
STRIPE_CONNECT_API_BASE = env.str("STRIPE_CONNECT_API_BASE", default="") or STRIPE_API_BASE
STRIPE_SUPPORTS_TRANSFER_GROUP = env.bool("STRIPE_SUPPORTS_TRANSFER_GROUP", default=True)
USES_STRIPE = PAYMENT_PROVIDER.endswith("StripePaymentProvider")

# --- Cases (cases/) ---------------------------------------------------------------
# A seller has this many hours to answer or refund a buyer's case before it escalates to marketplace staff.
CASE_SELLER_RESPONSE_HOURS = env.int("CASE_SELLER_RESPONSE_HOURS", default=48)
# A buyer's cancellation request the shop leaves unanswered this long is accepted (a pending request blocks
# shipping, so an ignored one would hold the buyer's money and the order forever).
CANCELLATION_RESPONSE_HOURS = env.int("CANCELLATION_RESPONSE_HOURS", default=48)

# --- Messaging -------------------------------------------------------------------
# At most one email per conversation and recipient in this many minutes (later messages wait and go together).
MESSAGING_EMAIL_BATCH_MINUTES = env.int("MESSAGING_EMAIL_BATCH_MINUTES", default=10)
# Per-user limits per hour (abuse); the *_NEW ones apply to accounts younger than a day.
MESSAGING_CONVERSATIONS_PER_HOUR = env.int("MESSAGING_CONVERSATIONS_PER_HOUR", default=20)
MESSAGING_CONVERSATIONS_PER_HOUR_NEW = env.int("MESSAGING_CONVERSATIONS_PER_HOUR_NEW", default=5)
MESSAGING_MESSAGES_PER_HOUR = env.int("MESSAGING_MESSAGES_PER_HOUR", default=120)
MESSAGING_MESSAGES_PER_HOUR_NEW = env.int("MESSAGING_MESSAGES_PER_HOUR_NEW", default=30)

# --- Outbox (etsy.outbox) -------------------------------------------------------
# A row whose handler failed this many times is parked as a dead letter (admin, metric, log).
OUTBOX_MAX_ATTEMPTS = env.int("OUTBOX_MAX_ATTEMPTS", default=8)
# Processed rows are deleted after this many days (pending and parked rows are kept).
OUTBOX_RETENTION_DAYS = env.int("OUTBOX_RETENTION_DAYS", default=7)

# --- Background jobs (Celery beat): one entry per job -------------------------
CELERY_BEAT_SCHEDULE.update(
    {
        # Delete cart reservations past reserved_until (readers already ignore them) and count them.
        "cleanup-expired-reservations": {"task": "cart.tasks.cleanup_expired_reservations", "schedule": 60.0},
        # Hand due outbox rows (seller notifications, refunds) to Celery: missed relays, retries after backoff.
        "relay-outbox": {"task": "etsy.outbox.tasks.relay_outbox", "schedule": 30.0},
        # Transfer sellers' nets still held (payout account onboarded since, or the provider was down).
        "transfer-pending-payouts": {"task": "payments.tasks.transfer_pending_payouts", "schedule": 600.0},
        # Delete outbox rows processed more than OUTBOX_RETENTION_DAYS ago, so the table stays small.
        "prune-outbox": {"task": "etsy.outbox.tasks.prune_outbox", "schedule": 3600.0},
        # Ask the payment provider about checkouts whose charge outcome is unknown (timeouts).
        "resolve-pending-payments": {"task": "orders.tasks.resolve_pending_payments", "schedule": 60.0},
        # Write buffered product views from Redis to PostgreSQL in one batch.
        "flush-product-views": {"task": "catalog.tasks.flush_product_views", "schedule": 30.0},
        # Recompute trending listings per category (served from cache for 15 minutes).
        "compute-trending": {"task": "catalog.tasks.compute_trending", "schedule": 600.0},
        # Rebuild the spelling-correction vocabulary ("did you mean") from the searchable listings.
        "refresh-search-vocabulary": {"task": "search.tasks.refresh_search_vocabulary", "schedule": 900.0},
        # Fold the per-category listing counts' deltas (browsing without words sums them) into one row per key.
        "compact-search-category-counts": {"task": "search.tasks.compact_search_category_counts", "schedule": 300.0},
        # Daily digest email per shop; idempotent per shop and day, so a beat restart never doubles it.
        "seller-daily-digest": {"task": "orders.tasks.send_daily_digests", "schedule": crontab(hour=7, minute=0)},
        # Parcels nobody confirmed: delivered AUTO_DELIVER_AFTER_DAYS after the estimate, so reviews can open.
        "mark-overdue-deliveries": {
            "task": "orders.tasks.mark_overdue_deliveries",
            "schedule": crontab(hour=6, minute=30),
        },
        # Hand cases the seller left unanswered past their deadline to marketplace staff (idempotent per case).
        "escalate-overdue-cases": {"task": "cases.tasks.escalate_overdue_cases", "schedule": 600.0},
        # Accept cancellation requests the shop left unanswered past CANCELLATION_RESPONSE_HOURS (idempotent).
        "accept-overdue-cancellations": {
            "task": "orders.tasks.accept_overdue_cancellations",
            "schedule": 600.0,
        },
    }
)

# --- REST API ----------------------------------------------------------------
# Token auth for mobile clients, session auth for the browser. One error body for
# every error (etsy.api.errors). Throttle state lives in the default cache.
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        # DRF's TokenAuthentication, with the token's account kept in each web process (no query when warm).
        "accounts.authentication.NearCachedTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticatedOrReadOnly"],
    "DEFAULT_SCHEMA_CLASS": "etsy.api.schema.ApiAutoSchema",
    "DEFAULT_PAGINATION_CLASS": "etsy.api.pagination.StandardPagination",
    "PAGE_SIZE": 24,
    "EXCEPTION_HANDLER": "etsy.api.errors.api_exception_handler",
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["rest_framework.parsers.JSONParser"],  # uploads opt in to multipart
    "DEFAULT_CONTENT_NEGOTIATION_CLASS": "etsy.api.negotiation.ContentNegotiation",  # DRF's, common headers fast
    "DEFAULT_THROTTLE_CLASSES": ["etsy.api.throttling.AnonThrottle", "etsy.api.throttling.UserThrottle"],
    "DEFAULT_THROTTLE_RATES": {
        "anon": env.str("API_THROTTLE_ANON", default="120/min"),
        "user": env.str("API_THROTTLE_USER", default="600/min"),
        "auth": env.str("API_THROTTLE_AUTH", default="10/min"),
    },
    "NUM_PROXIES": env.int("API_NUM_PROXIES", default=None),  # proxies in front, for client addresses
    "COERCE_DECIMAL_TO_STRING": True,
    "TEST_REQUEST_DEFAULT_FORMAT": "json",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Etsy Marketplace API",
    "DESCRIPTION": (
        "JSON API for mobile clients: catalog, search, cart, checkout, orders and seller tools. "
        "Authenticate with `Authorization: Token <key>` (POST /api/v1/auth/token) or a browser session. "
        'Every error has the body `{"error": {"code", "message", "fields", "extra"}}`. '
        "Money amounts are decimal strings."
    ),
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SCHEMA_PATH_PREFIX": "/api/v1",
    "COMPONENT_SPLIT_REQUEST": True,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    # Several fields are named "kind" (favorites, search suggestions, conversations, messages): name each enum.
    "ENUM_NAME_OVERRIDES": {
        "KindEnum": "catalog.models.Favorite.Kind",
        "SuggestionKindEnum": "search.types.SUGGESTION_KINDS",
        "ConversationKindEnum": "messaging.models.Conversation.Kind",
        "MessageKindEnum": "messaging.models.Message.Kind",
        "OrderStatusEnum": "orders.models.Order.Status",
        "CancellationStatusEnum": "orders.models.CancellationRequest.Status",
        "CaseKindEnum": "cases.models.Case.Kind",
        "CaseStatusEnum": "cases.models.Case.Status",
        "CaseEventKindEnum": "cases.models.CaseEvent.Kind",
        "CaseEventRoleEnum": "cases.models.CaseEvent.Role",
    },
}

# --- Passwords ---------------------------------------------------------------
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

# --- Internationalisation ----------------------------------------------------
LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

# --- Static and media files --------------------------------------------------
STATIC_URL = "/static/"
STATIC_ROOT = Path(env.str("STATIC_ROOT", default=str(BASE_DIR / ".data" / "staticfiles")))
STATICFILES_DIRS = [BASE_DIR / "static"]
MEDIA_URL = "/media/"
MEDIA_ROOT = Path(env.str("MEDIA_ROOT", default=str(BASE_DIR / ".data" / "media")))
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "whitenoise.storage.CompressedManifestStaticFilesStorage"
            if env.bool("STATIC_MANIFEST", default=IS_PRODUCTION)
            else "django.contrib.staticfiles.storage.StaticFilesStorage"
        )
    },
}
# Media in an S3-compatible bucket (django-storages) when MEDIA_S3_BUCKET is set: production on more
# than one host. Uploads are written once under server-chosen names, so objects never change: no
# existence check before a write, a year of caching, and plain (unsigned) URLs a CDN can cache.
MEDIA_S3_BUCKET = env.str("MEDIA_S3_BUCKET", default="")
if MEDIA_S3_BUCKET:
    MEDIA_CDN_DOMAIN = env.str("MEDIA_CDN_DOMAIN", default="") or None
    STORAGES["default"] = {
        "BACKEND": "storages.backends.s3.S3Storage",
        "OPTIONS": {
            "bucket_name": MEDIA_S3_BUCKET,
            "endpoint_url": env.str("MEDIA_S3_ENDPOINT_URL", default="") or None,  # MinIO, R2, Ceph, ...
            "region_name": env.str("MEDIA_S3_REGION", default="") or None,
            "access_key": env.str("MEDIA_S3_ACCESS_KEY_ID", default="") or None,  # else the AWS credential chain
            "secret_key": env.str("MEDIA_S3_SECRET_ACCESS_KEY", default="") or None,
            "location": env.str("MEDIA_S3_PREFIX", default="media"),
            "custom_domain": MEDIA_CDN_DOMAIN,
            "url_protocol": "https:",
            "addressing_style": env.str("MEDIA_S3_ADDRESSING_STYLE", default="") or None,  # "path" for MinIO
            "querystring_auth": False,
            "file_overwrite": True,
            "default_acl": None,
            "object_parameters": {"CacheControl": "public, max-age=31536000, immutable"},
        },
    }
WHITENOISE_MAX_AGE = 31536000 if IS_PRODUCTION else 0
DATA_UPLOAD_MAX_MEMORY_SIZE = 10 * 1024 * 1024
FILE_UPLOAD_MAX_MEMORY_SIZE = 10 * 1024 * 1024

# --- Security ----------------------------------------------------------------
SESSION_COOKIE_SECURE = env.bool("SECURE_COOKIES", default=IS_PRODUCTION)
CSRF_COOKIE_SECURE = env.bool("SECURE_COOKIES", default=IS_PRODUCTION)
SESSION_COOKIE_HTTPONLY = True
SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=IS_PRODUCTION)
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=31536000 if IS_PRODUCTION else 0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = IS_PRODUCTION
SECURE_HSTS_PRELOAD = IS_PRODUCTION
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
# Load balancer probes and the Prometheus scraper talk plain HTTP inside the network.
SECURE_REDIRECT_EXEMPT = [r"^api/health$", r"^metrics$"]
# Our own small middleware (etsy.middleware); enforced in production, report-only elsewhere.
CONTENT_SECURITY_POLICY = env.str(
    "CONTENT_SECURITY_POLICY",
    default=(
        "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data: https:; "
        "font-src 'self' data:; connect-src 'self'; object-src 'none'; base-uri 'self'; form-action 'self'; "
        "frame-ancestors 'none'"
    ),
)
if USES_STRIPE and "CONTENT_SECURITY_POLICY" not in os.environ:
    # Stripe.js and its Payment Element (iframes) from exactly STRIPE_JS_URL's origin; it talks to the API's.
    _stripe_js = "{0.scheme}://{0.netloc}".format(urlsplit(STRIPE_JS_URL))
    _stripe_api = "{0.scheme}://{0.netloc}".format(urlsplit(STRIPE_API_BASE))
    CONTENT_SECURITY_POLICY = (
        CONTENT_SECURITY_POLICY.replace("script-src 'self'", f"script-src 'self' {_stripe_js}")
        .replace("connect-src 'self'", f"connect-src 'self' {_stripe_api}")
        .replace("object-src", f"frame-src {_stripe_js}; object-src")
    )
CSP_REPORT_ONLY = env.bool("CSP_REPORT_ONLY", default=not IS_PRODUCTION)
# Optional: require "Authorization: Bearer <token>" on /metrics (the Prometheus scrape config sends it).
METRICS_BEARER_TOKEN = env.str("METRICS_BEARER_TOKEN", default="")

# --- Tracing -----------------------------------------------------------------
# OpenTelemetry spans (requests, SQL, Redis, Celery, outgoing HTTP) exported over OTLP/HTTP when
# the endpoint is set (etsy/tracing.py); the exporter reads the other OTEL_EXPORTER_OTLP_* variables.
OTEL_EXPORTER_OTLP_ENDPOINT = env.str("OTEL_EXPORTER_OTLP_ENDPOINT", default="")
OTEL_SERVICE_NAME = env.str("OTEL_SERVICE_NAME", default="etsy-backend")

# --- Logging -----------------------------------------------------------------
# One JSON object per line on stdout (etsy/logging.py), secrets and card-like digits redacted.
# LOG_FORMAT=console gives readable lines: the default outside production (`make run`).
LOG_LEVEL = env.str("LOG_LEVEL", default="INFO").upper()  # gunicorn takes "info" as well: so do we
LOGGING_CONFIG = "etsy.logging.configure_logging"
from etsy.logging import build_logging_config, log_format  # noqa: E402  (kept beside the section it serves)

LOGGING = build_logging_config(level=LOG_LEVEL, json=log_format(env.ENVIRON) == "json", environment=ETSY_ENV)
# Celery workers keep our handlers instead of installing their own plain-text ones.
CELERY_WORKER_HIJACK_ROOT_LOGGER = False
