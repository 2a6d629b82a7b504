"""The cart's services as a package: ``cart.services`` still names everything callers and tests import from it."""

from __future__ import annotations

from pathlib import Path

from cart import services
from cart.services import ended_holds, guest, lines, merging


def test_cart_services_keep_their_public_names_as_the_capability_modules_objects():
    assert services.add_item is lines.add_item
    assert services.get_guest_lines is guest.get_guest_lines
    assert services.merge_guest_cart is merging.merge_guest_cart
    assert services.delete_expired_reservations is ended_holds.delete_expired_reservations
    for name in services.__all__:
        assert getattr(services, name) is not None


def test_the_merge_logs_on_the_channel_it_had_before_the_package():
    assert merging.logger.name == "cart.services"


def test_each_cart_services_module_stays_well_under_the_house_limit():
    for module in Path(services.__file__).parent.glob("*.py"):
        assert len(module.read_text().splitlines()) < 350, module.name
