"""Reads of the accounts app (the address book). Missing or someone else's -> AddressNotFound."""

from __future__ import annotations

from django.db.models import QuerySet

from accounts.exceptions import AddressNotFound
from accounts.models import Address


def list_addresses(*, owner) -> QuerySet[Address]:
    """Return the owner's addresses, the default first, then newest first."""
    return Address.objects.filter(owner=owner).order_by("-is_default", "-created_at", "-id")


def get_address(*, owner, address_id) -> Address:
    """Return one of the owner's addresses. Raises AddressNotFound."""
    try:
        return Address.objects.get(owner=owner, pk=int(address_id))
    except (Address.DoesNotExist, TypeError, ValueError):
        raise AddressNotFound() from None


def get_default_address(*, owner) -> Address | None:
    return Address.objects.filter(owner=owner, is_default=True).first()
