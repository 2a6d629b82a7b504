"""Checkout and the buyer's address book (accounts): a saved address as the shipping address, and a typed
one saved to the book when the buyer asks."""

from __future__ import annotations

from accounts import selectors as account_selectors
from accounts.exceptions import AddressBookFull
from accounts.models import Address
from accounts.services import addresses as address_services
from orders.services.checkout import ShippingAddress


def shipping_address_from(address: Address) -> ShippingAddress:
    return ShippingAddress(
        name=address.name,
        line1=address.line1,
        line2=address.line2,
        city=address.city,
        region=address.region,
        postcode=address.postal_code,
        country=address.country,
    )


def get_shipping_address(*, buyer, address_id) -> ShippingAddress:
    """Return the buyer's saved address ``address_id`` as a shipping address. Raises AddressNotFound."""
    return shipping_address_from(account_selectors.get_address(owner=buyer, address_id=address_id))


def save_to_address_book(*, buyer, address: ShippingAddress) -> Address | None:
    """Keep a typed shipping address in the buyer's book (unless the same one is there, or the book is full)."""
    same = account_selectors.list_addresses(owner=buyer).filter(
        name=address.name,
        line1=address.line1,
        line2=address.line2,
        city=address.city,
        postal_code=address.postcode,
        country=address.country,
    )
    if same.exists():
        return None
    try:
        return address_services.create_address(
            owner=buyer,
            name=address.name,
            line1=address.line1,
            line2=address.line2,
            city=address.city,
            region=address.region,
            postal_code=address.postcode,
            country=address.country,
        )
    except AddressBookFull:
        return None
