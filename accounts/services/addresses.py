"""The buyer's address book. At most one default per owner (a partial unique index): every change of the
default locks the owner's row first, so two concurrent "make default" calls run one after the other."""

from __future__ import annotations

from django.conf import settings
from django.db import transaction

from accounts.exceptions import AddressBookFull
from accounts.models import Address, User
from accounts.selectors import get_address

ADDRESS_FIELDS = ("name", "line1", "line2", "city", "region", "postal_code", "country", "phone")


def _max_addresses() -> int:
    return settings.ADDRESS_BOOK_LIMIT


def _lock_owner(owner_id: int) -> None:
    User.objects.select_for_update().filter(pk=owner_id).values_list("pk", flat=True).get()


def _clean(values: dict) -> dict:
    cleaned = {k: str(values[k]).strip() for k in ADDRESS_FIELDS if k in values and values[k] is not None}
    if "country" in cleaned:
        cleaned["country"] = cleaned["country"].upper()
    return cleaned


@transaction.atomic
def create_address(*, owner: User, make_default: bool = False, **values) -> Address:
    """Add an address (the first one becomes the default). Raises AddressBookFull."""
    _lock_owner(owner.pk)
    existing = Address.objects.filter(owner=owner)
    if existing.count() >= _max_addresses():
        raise AddressBookFull(extra={"limit": _max_addresses()})
    is_default = make_default or not existing.exists()
    if is_default:
        existing.filter(is_default=True).update(is_default=False)
    return Address.objects.create(owner=owner, is_default=is_default, **_clean(values))


@transaction.atomic
def update_address(*, owner: User, address_id: int, make_default: bool = False, **values) -> Address:
    """Change some fields of one of the owner's addresses. Raises AddressNotFound."""
    _lock_owner(owner.pk)
    address = get_address(owner=owner, address_id=address_id)
    for field, value in _clean(values).items():
        setattr(address, field, value)
    if make_default and not address.is_default:
        Address.objects.filter(owner=owner, is_default=True).update(is_default=False)
        address.is_default = True
    address.save()
    return address


@transaction.atomic
def set_default_address(*, owner: User, address_id: int) -> Address:
    """Make one of the owner's addresses the default (idempotent). Raises AddressNotFound."""
    return update_address(owner=owner, address_id=address_id, make_default=True)


@transaction.atomic
def delete_address(*, owner: User, address_id: int) -> None:
    """Delete one of the owner's addresses; if it was the default, the newest other one takes over.

    Raises AddressNotFound. Orders keep their own copy of the address they shipped to.
    """
    _lock_owner(owner.pk)
    address = get_address(owner=owner, address_id=address_id)
    was_default = address.is_default
    address.delete()
    if was_default:
        successor = Address.objects.filter(owner=owner).order_by("-created_at", "-id").first()
        if successor is not None:
            Address.objects.filter(pk=successor.pk).update(is_default=True)
