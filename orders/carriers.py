"""The carriers whose tracking numbers the site turns into links: one table, used everywhere.

Recognised by the shape of the number alone (sellers type only the number). A number no
pattern matches is shown as plain text; an ambiguous shape goes to the first carrier listed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import quote


@dataclass(frozen=True)
class Carrier:
    name: str
    pattern: re.Pattern
    url: str  # "{}" is the tracking number


CARRIERS = [
    Carrier("UPS", re.compile(r"1Z[0-9A-Z]{16}"), "https://www.ups.com/track?tracknum={}"),
    Carrier(
        "Royal Mail",
        re.compile(r"[A-Z]{2}[0-9]{9}GB"),
        "https://www.royalmail.com/track-your-item#/tracking-results/{}",
    ),
    Carrier(
        "USPS",
        re.compile(r"(?:9[0-9]{19,21}|[A-Z]{2}[0-9]{9}US)"),
        "https://tools.usps.com/go/TrackConfirmAction?tLabels={}",
    ),
    Carrier("FedEx", re.compile(r"(?:[0-9]{12}|[0-9]{15})"), "https://www.fedex.com/fedextrack/?trknbr={}"),
    Carrier("DHL", re.compile(r"(?:[0-9]{10}|JJD[0-9]{16,18})"), "https://www.dhl.com/en/express/tracking.html?AWB={}"),
]


@dataclass(frozen=True)
class TrackingLink:
    carrier: str
    url: str


def tracking_link(tracking_number: str) -> TrackingLink | None:
    """Return the carrier and tracking page of a number, or None when no known carrier's shape fits."""
    number = re.sub(r"[\s-]", "", tracking_number or "").upper()
    for carrier in CARRIERS:
        if carrier.pattern.fullmatch(number):
            return TrackingLink(carrier=carrier.name, url=carrier.url.format(quote(number)))
    return None
