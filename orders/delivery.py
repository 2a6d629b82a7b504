"""Estimated delivery dates: the shop's processing days, then the carrier's days, counted in business days.

Etsy shows buyers a delivery estimate from the seller's processing time and the shipping service; we use
two carrier figures from settings (domestic, international). Weekends are skipped; public holidays are not
modelled (an estimate, not a promise).
"""

from __future__ import annotations

import datetime

from django.conf import settings


def add_business_days(start: datetime.date, days: int) -> datetime.date:
    """Return the date ``days`` business days (Monday to Friday) after ``start``."""
    current = start
    remaining = days
    while remaining > 0:
        current += datetime.timedelta(days=1)
        if current.weekday() < 5:
            remaining -= 1
    return current


def shipping_days(*, international: bool) -> int:
    return settings.SHIPPING_DAYS_INTERNATIONAL if international else settings.SHIPPING_DAYS_DOMESTIC


def is_international(*, shop_country: str, ship_country: str) -> bool:
    return (shop_country or "").upper() != (ship_country or "").upper()


def estimate_when_placed(*, placed_on: datetime.date, processing_days: int, international: bool) -> datetime.date:
    """Return the estimate shown when the order is placed: processing, then shipping."""
    return add_business_days(placed_on, processing_days + shipping_days(international=international))


def estimate_when_shipped(*, shipped_on: datetime.date, international: bool) -> datetime.date:
    """Return the estimate once the parcel left: shipping days from the day it shipped (early or late)."""
    return add_business_days(shipped_on, shipping_days(international=international))
