"""The Stripe provider against localstripe (a stateful fake Stripe server on a loopback port).

localstripe covers PaymentMethods, PaymentIntents (including requires_action) and Refunds; it has
no Connect accounts, transfers or idempotency keys (tests/payments/connect_fake.py covers Connect).
Webhooks are signed with the stripe library's own scheme (``WebhookSignature.generate_signature_header``).
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from decimal import Decimal
from pathlib import Path

import pytest
import stripe

from cart import services as cart_services
from etsy.breakers import reset_all
from tests.api.conftest import api_client, buyer_client, client_for, seller_client  # noqa: F401  (fixtures)
from tests.catalog.factories import ProductFactory
from tests.local_services import free_port
from tests.payments.connect_fake import ConnectFake
from tests.shops.factories import ShopFactory

WEBHOOK_SECRET = "whsec_test_money"
ADDRESS = {"name": "Bea Buyer", "line1": "1 Market Street", "city": "Hudson", "postcode": "12534", "country": "US"}
# localstripe's own test payment methods (Stripe's pm_card_chargeDeclined does not exist there).
LS_SUCCEEDS = "pm_card_visa"
LS_DECLINED = "pm_card_chargeCustomerFail"  # 4000000000000341: declined when charged


def _wait_for_port(port: int, process: subprocess.Popen, seconds: float = 15) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            return False
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return True
        except OSError:
            time.sleep(0.1)
    return False


@pytest.fixture(scope="session")
def localstripe_url():
    binary = shutil.which("localstripe") or str(Path(sys.executable).parent / "localstripe")
    if not Path(binary).exists():
        pytest.skip("localstripe is not installed (pip install -r requirements.txt)")
    # A free port can be taken between our check and localstripe's bind, and a cold start (a fresh virtualenv
    # compiling its modules) can be slow: try three ports, 30 s each. CI must not skip the money tests silently.
    failures = []
    for _attempt in range(3):
        port = free_port()
        log = tempfile.TemporaryFile()
        process = subprocess.Popen([binary, "--port", str(port)], stdout=log, stderr=subprocess.STDOUT)
        if _wait_for_port(port, process, seconds=30):
            break
        process.kill()
        process.wait(timeout=10)
        log.seek(0)
        failures.append(f"port {port}: {log.read()[-500:].decode(errors='replace')}")
    else:
        reason = "localstripe did not start: " + " | ".join(failures)
        if os.environ.get("CI"):
            pytest.fail(reason)
        pytest.skip(reason)
    yield f"http://127.0.0.1:{port}"
    process.terminate()
    process.wait(timeout=10)


@pytest.fixture(scope="session")
def connect_fake_server():
    fake = ConnectFake().start()
    yield fake
    fake.stop()


@pytest.fixture
def connect_fake(connect_fake_server):
    connect_fake_server.reset()
    return connect_fake_server


@pytest.fixture
def stripe_settings(settings, localstripe_url, connect_fake):
    settings.PAYMENT_PROVIDER = "orders.payments_stripe.StripePaymentProvider"
    settings.USES_STRIPE = True
    settings.STRIPE_SECRET_KEY = "sk_test_money"
    settings.STRIPE_PUBLISHABLE_KEY = "pk_test_money"
    settings.STRIPE_API_BASE = localstripe_url
    settings.STRIPE_CONNECT_API_BASE = connect_fake.url
    settings.STRIPE_SUPPORTS_TRANSFER_GROUP = False  # localstripe refuses it on PaymentIntents
    settings.STRIPE_WEBHOOK_SECRET = WEBHOOK_SECRET
    reset_all()
    yield settings
    reset_all()


@pytest.fixture
def stripe_client(stripe_settings):
    return stripe.StripeClient("sk_test_money", base_addresses={"api": stripe_settings.STRIPE_API_BASE})


@pytest.fixture
def two_shop_cart(buyer, shop, category):
    other = ShopFactory(name="Second Shop", shipping_base=Decimal("3.50"), shipping_additional=Decimal("0.75"))
    products = [
        ProductFactory(shop=shop, category=category, price=Decimal("19.99"), quantity=1),
        ProductFactory(shop=shop, category=category, price=Decimal("7.45"), quantity=5),
        ProductFactory(shop=other, category=category, price=Decimal("33.10"), quantity=1),
    ]
    cart_services.add_item(user=buyer, product_id=products[0].pk)
    cart_services.add_item(user=buyer, product_id=products[1].pk, quantity=2)
    cart_services.add_item(user=buyer, product_id=products[2].pk)
    return products


def signed_event(event_type: str, obj: dict, *, event_id: str | None = None, secret: str = WEBHOOK_SECRET):
    """Return (body, Stripe-Signature header) of an event as Stripe would send it."""
    body = json.dumps(
        {
            "id": event_id or f"evt_{uuid.uuid4().hex[:24]}",
            "object": "event",
            "type": event_type,
            "created": int(time.time()),
            "livemode": False,
            "data": {"object": obj},
        }
    )
    return body, stripe.WebhookSignature.generate_signature_header(body, secret)


def post_event(client, body: str, signature: str):
    return client.post(
        "/payments/webhooks/stripe", data=body, content_type="application/json", HTTP_STRIPE_SIGNATURE=signature
    )


def run_outbox(topic: str | None = None) -> int:
    """Process the pending outbox rows (a test's transaction never commits, so on_commit relays do not run)."""
    from etsy.outbox import services as outbox_services
    from etsy.outbox.models import OutboxMessage

    rows = OutboxMessage.objects.filter(processed_at__isnull=True, dead_at__isnull=True)
    if topic:
        rows = rows.filter(topic=topic)
    ids = list(rows.order_by("id").values_list("id", flat=True))
    return sum(outbox_services.process(message_id=pk) == "done" for pk in ids)
