"""Shared fixtures: real PostgreSQL (pytest-django) and real Redis for every test."""

import os
import threading
from pathlib import Path

import pytest
import redis
from django.core.cache import caches
from django.test.utils import override_settings

from etsy import near_cache
from etsy.cache import aside as cache_aside
from etsy.celery import app as celery_app
from tests.accounts.factories import UserFactory
from tests.catalog.factories import CategoryFactory, ProductFactory
from tests.shops.factories import ShopFactory


@pytest.fixture(autouse=True, scope="session")
def _fast_password_hashing():
    """Hash test passwords with a fast hasher: PBKDF2's cost is for attackers, not for the suite."""
    with override_settings(PASSWORD_HASHERS=["django.contrib.auth.hashers.MD5PasswordHasher"]):
        yield


@pytest.fixture(autouse=True)
def _clean_redis():
    """Start and end every test with none of this run's cache keys (only our prefix is touched).

    The worker's near copies go with them at once (Redis's own messages would follow a moment later).
    """
    caches["strict"].delete_pattern("*")
    near_cache.clear()
    cache_aside.refresh_budget.refill()  # each test starts with a full budget of refreshes
    cache_aside.refresher.background = False  # queued refreshes run when a test says so (run_pending)
    cache_aside.refresher.clear()
    yield
    cache_aside.refresher.clear()
    near_cache.clear()
    try:
        caches["strict"].delete_pattern("*")
    except Exception:  # a fault-injection test may have left Redis down
        pass


@pytest.fixture(autouse=True)
def _celery_eager():
    """Run tasks inline unless a test starts a real worker (see tests/worker.py)."""
    previous = celery_app.conf.task_always_eager, celery_app.conf.task_eager_propagates
    celery_app.conf.task_always_eager = True
    celery_app.conf.task_eager_propagates = True
    yield
    celery_app.conf.task_always_eager, celery_app.conf.task_eager_propagates = previous


@pytest.fixture
def buyer(db):
    return UserFactory(email="buyer@example.com", display_name="Bea Buyer")


@pytest.fixture
def other_buyer(db):
    return UserFactory(email="other.buyer@example.com", display_name="Otto Other")


@pytest.fixture
def seller(db):
    return UserFactory(email="seller@example.com", display_name="Sam Seller", is_staff=True)


@pytest.fixture
def shop(seller):
    return ShopFactory(owner=seller, name="Sam's Workshop", slug="sams-workshop")


@pytest.fixture
def category(db):
    return CategoryFactory(name="Home & Living", slug="home-living")


@pytest.fixture
def product(shop, category):
    return ProductFactory(shop=shop, category=category)


CHROMIUM = "/usr/bin/chromium"
SCREENSHOTS = Path(__file__).resolve().parents[1] / "artifacts" / "screenshots"


@pytest.fixture(scope="module")
def browser():
    """Debian's Chromium driven by Playwright; skipped (and said so by `make test`) when not installed.

    Module-scoped: Playwright's sync API keeps an event loop running in the test thread while it
    is open, so Django's async-safety check is relaxed only for the modules that use a browser.
    """
    if not os.path.exists(CHROMIUM):
        pytest.skip(f"{CHROMIUM} is not installed (apt-get install -y chromium)")
    from playwright.sync_api import sync_playwright

    previous = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    try:
        with sync_playwright() as playwright:
            chromium = playwright.chromium.launch(
                executable_path=CHROMIUM,
                args=[
                    "--no-sandbox",
                    "--disable-gpu",
                    "--disable-background-networking",
                    "--disable-component-update",
                    "--disable-sync",
                    "--no-first-run",
                ],
            )
            try:
                yield chromium
            finally:
                chromium.close()
    finally:
        if previous is None:
            os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
        else:
            os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = previous


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    tab = context.new_page()
    tab.set_default_timeout(15000)
    yield tab
    context.close()


@pytest.fixture
def shot():
    """Save a screenshot under artifacts/screenshots/ (kept as a test artifact, git-ignored)."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)

    def take(tab, name: str, full_page: bool = True):
        tab.wait_for_load_state("load")
        if full_page:  # a full-page picture never scrolls, so lazy images below the fold would stay blank
            tab.evaluate("document.querySelectorAll('img[loading=lazy]').forEach(img => { img.loading = 'eager'; })")
            tab.wait_for_function("Array.from(document.images).every(img => img.complete)")
        tab.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=full_page)

    return take


@pytest.fixture
def redis_round_trips(monkeypatch):
    """Commands (or pipelines) this thread sent to Redis: one round trip each."""
    sent = []
    original = redis.connection.AbstractConnection.send_packed_command
    me = threading.current_thread()

    def counting(self, command, check_health=True):
        if threading.current_thread() is me:
            sent.append(command)
        return original(self, command, check_health)

    monkeypatch.setattr(redis.connection.AbstractConnection, "send_packed_command", counting)
    return sent
