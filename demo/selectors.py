"""Reads of the demo: who the demo accounts are, for the `make run` banner and the README."""

from __future__ import annotations

from dataclasses import dataclass

from shops.models import Shop

BUYER_EMAIL = "buyer@demo.test"
ADMIN_EMAIL = "admin@demo.test"
FEATURED_SELLERS = ("seller1@demo.test", "seller2@demo.test")


@dataclass(frozen=True)
class DemoAccount:
    role: str
    email: str
    note: str


def list_demo_accounts() -> list[DemoAccount]:
    """Return the accounts a newcomer signs in with, each seller with the shop it owns in this database."""
    shops = dict(Shop.objects.filter(owner__email__in=FEATURED_SELLERS).values_list("owner__email", "name"))
    accounts = [DemoAccount("buyer", BUYER_EMAIL, "")]
    for email in FEATURED_SELLERS:
        if email in shops:
            accounts.append(DemoAccount("seller", email, f"owns {shops[email]}"))
    accounts.append(DemoAccount("admin", ADMIN_EMAIL, "superuser"))
    return accounts
