"""Paying sellers: separate charges and transfers, one Transfer per order of a paid checkout."""

from __future__ import annotations

import logging
from decimal import Decimal

from django.conf import settings
from django.db import transaction

from orders import payments as provider_calls
from orders.models import Order
from payments import selectors
from payments.models import LedgerEntry, Transfer
from payments.services import ledger
from shops import services as shop_services

logger = logging.getLogger(__name__)

PAID_STATUSES = [Order.Status.PAID, Order.Status.SHIPPED, Order.Status.DELIVERED]


def ensure_payout_account(*, shop) -> str:
    """Return the shop's payout account id; in development (not production) make a test one if it has none.

    In production a seller onboards through the provider's Account Link (``create_onboarding_link``).
    """
    if shop.payout_account_id:
        return shop.payout_account_id
    if settings.IS_PRODUCTION:
        return ""
    _create_payout_account(shop=shop)
    shop.refresh_from_db(fields=["payout_account_id"])
    return shop.payout_account_id


def _create_payout_account(*, shop) -> str:
    # Arguments are read here: the provider call runs in another thread (its own database connection).
    shop_id, email = shop.pk, shop.owner.email
    provider = provider_calls.get_provider()
    account_id = provider_calls.guarded(
        lambda: provider.create_payout_account(shop_id=shop_id, email=email), counted=False
    )
    shop_services.set_payout_account(shop_id=shop_id, account_id=account_id)
    return account_id


def create_onboarding_link(*, shop, refresh_url: str, return_url: str) -> str:
    """Return the provider's onboarding URL (Account Link) for the shop's payout account, creating the account."""
    account_id = shop.payout_account_id or _create_payout_account(shop=shop)
    provider = provider_calls.get_provider()
    return provider_calls.guarded(
        lambda: provider.create_account_link(account_id=account_id, refresh_url=refresh_url, return_url=return_url),
        counted=False,
    )


def pay_sellers_for_checkout(*, checkout_id) -> int:
    """Record each paid order's sale and fees and transfer its net to its shop; return transfers made.

    Idempotent: ledger entries by key, one Transfer per order (provider idempotency key per order).
    Raises PaymentError / PaymentsOpenCircuit (the outbox retries). An order whose shop has no payout
    account yet keeps its net in the shop's balance (pending) until one exists.
    """
    orders = selectors.list_orders_of_checkout_in(checkout_id=checkout_id, statuses=PAID_STATUSES)
    ledger.record_sales(orders=orders)  # one statement: every order's sale and fee
    # Which orders still wait for their transfer, with what the ledger owes for each: one read for all.
    nets = selectors.list_untransferred_order_nets(order_ids=[order.pk for order in orders])
    made = []
    for order in orders:
        if order.pk in nets:
            transfer_id = _transfer_net(order=order, net=nets[order.pk])
            if transfer_id:
                made.append((order, nets[order.pk], transfer_id))
    _record_transfers(made)  # the transfers and their payout entries: two statements for every order
    return len(made)


def pay_seller_for_order(*, order, net: Decimal | None = None) -> int:
    """Transfer one order's net to its shop (once); return 1 when a transfer was made now.

    ``net``: what the ledger owes for the order, when the caller read it (and that it has no transfer yet).
    """
    if net is None:
        if Transfer.objects.filter(order=order).exists():
            return 0
        # What the ledger owes for the order now (sale, fees, any refund booked before the transfer).
        net = selectors.get_order_net(order_id=order.pk)
    transfer_id = _transfer_net(order=order, net=net)
    if not transfer_id:
        return 0
    _record_transfers([(order, net, transfer_id)])
    return 1


def _transfer_net(*, order, net: Decimal) -> str:
    """Ask the provider to transfer the order's net to its shop (idempotent per order); return the transfer id,
    or "" when there is nothing to transfer or no payout account yet."""
    if net <= 0:
        return ""
    account_id = ensure_payout_account(shop=order.shop)
    if not account_id:
        logger.info("seller transfer waits for a payout account", extra={"order_id": order.pk})
        return ""
    provider = provider_calls.get_provider()
    request = {  # read before the call: it runs in another thread (its own database connection)
        "amount": net,
        "currency": order.checkout.currency,
        "destination": account_id,
        "source_transaction": order.checkout.provider_charge_id,
        "transfer_group": f"checkout_{order.checkout_id}",
        "idempotency_key": f"transfer:order:{order.pk}",
    }
    return provider_calls.guarded(lambda: provider.create_transfer(**request))


def _record_transfers(made: list[tuple[Order, Decimal, str]]) -> None:
    """Record each order's one Transfer and its payout entry (both or neither; inside the outbox handler's
    transaction no savepoint of their own is needed), whatever their number in two statements."""
    if not made:
        return
    with transaction.atomic(savepoint=False):
        # The orders' Transfers, unless a retry recorded them already (an INSERT that ignores the conflict).
        Transfer.objects.bulk_create(
            [
                Transfer(order=order, shop_id=order.shop_id, provider_transfer_id=transfer_id, amount=net)
                for order, net, transfer_id in made
            ],
            ignore_conflicts=True,
        )
        ledger.append_many(
            entries=[
                {
                    "shop_id": order.shop_id,
                    "order_id": order.pk,
                    "kind": LedgerEntry.Kind.PAYOUT,
                    "amount": -net,
                    "key": f"payout:order:{order.pk}",
                    "reference": transfer_id,
                }
                for order, net, transfer_id in made
            ]
        )


def transfer_pending_payouts(*, limit: int = 200) -> int:
    """Transfer the nets still held for orders whose shop has a payout account now; return transfers made.

    Catches up after a seller's onboarding or a provider outage. One order's failure does not stop the rest.
    """
    orders = list(
        Order.objects.filter(ledger_entries__kind=LedgerEntry.Kind.SALE, transfer__isnull=True)
        .exclude(shop__payout_account_id="")
        .select_related("shop__owner", "checkout")
        .distinct()
        .order_by("pk")[:limit]
    )
    made = 0
    for order in orders:
        try:
            made += pay_seller_for_order(order=order)
        except (provider_calls.PaymentError, provider_calls.PaymentsOpenCircuit):
            logger.warning("seller transfer failed; retried next run", exc_info=True, extra={"order_id": order.pk})
    return made
