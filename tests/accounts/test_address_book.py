"""The address book: at most one default per buyer (a database constraint), the first address is the default,
deleting the default promotes the newest other one, another buyer's address does not exist for you."""

import threading

import pytest
from django.db import IntegrityError, connection, transaction

from accounts import selectors
from accounts.exceptions import AddressBookFull, AddressNotFound
from accounts.models import Address
from accounts.services import addresses as services

pytestmark = pytest.mark.django_db

HOME = {"name": "Bea Buyer", "line1": "1 Market Street", "city": "Hudson", "postal_code": "12534", "country": "us"}
WORK = {
    "name": "Bea at work",
    "line1": "99 Warren St",
    "city": "Hudson",
    "region": "NY",
    "postal_code": "12534",
    "country": "US",
}


def _defaults(user) -> list[str]:
    return list(Address.objects.filter(owner=user, is_default=True).values_list("name", flat=True))


def test_the_first_address_is_the_default_and_values_are_trimmed_and_upper_cased(buyer):
    home = services.create_address(owner=buyer, **(HOME | {"name": "  Bea Buyer "}))
    work = services.create_address(owner=buyer, **WORK)
    assert (home.is_default, work.is_default) == (True, False)
    assert home.name == "Bea Buyer" and home.country == "US"
    assert [a.pk for a in selectors.list_addresses(owner=buyer)] == [home.pk, work.pk]


def test_making_another_address_the_default_moves_it(buyer):
    services.create_address(owner=buyer, **HOME)
    work = services.create_address(owner=buyer, **WORK)
    services.set_default_address(owner=buyer, address_id=work.pk)
    assert _defaults(buyer) == ["Bea at work"]
    services.set_default_address(owner=buyer, address_id=work.pk)  # again: nothing more changes
    assert _defaults(buyer) == ["Bea at work"]
    services.create_address(owner=buyer, make_default=True, **(HOME | {"name": "Cabin"}))
    assert _defaults(buyer) == ["Cabin"]


def test_the_database_refuses_a_second_default(buyer):
    Address.objects.create(owner=buyer, is_default=True, **(HOME | {"country": "US"}))
    with pytest.raises(IntegrityError), transaction.atomic():
        Address.objects.create(owner=buyer, is_default=True, **WORK)


def test_the_database_refuses_a_country_that_is_not_two_capital_letters(buyer):
    with pytest.raises(IntegrityError), transaction.atomic():
        Address.objects.create(owner=buyer, **(HOME | {"country": "us"}))


def test_deleting_the_default_promotes_the_newest_other_address(buyer):
    home = services.create_address(owner=buyer, **HOME)
    services.create_address(owner=buyer, **WORK)
    services.create_address(owner=buyer, **(HOME | {"name": "Cabin"}))
    services.delete_address(owner=buyer, address_id=home.pk)
    assert _defaults(buyer) == ["Cabin"]


def test_another_buyers_address_is_not_found(buyer, other_buyer):
    theirs = services.create_address(owner=other_buyer, **HOME)
    for call in (
        lambda: selectors.get_address(owner=buyer, address_id=theirs.pk),
        lambda: services.update_address(owner=buyer, address_id=theirs.pk, name="Mine now"),
        lambda: services.set_default_address(owner=buyer, address_id=theirs.pk),
        lambda: services.delete_address(owner=buyer, address_id=theirs.pk),
    ):
        with pytest.raises(AddressNotFound):
            call()
    theirs.refresh_from_db()
    assert theirs.name == "Bea Buyer"


def test_a_full_book_refuses_one_more(buyer, settings):
    settings.ADDRESS_BOOK_LIMIT = 2
    services.create_address(owner=buyer, **HOME)
    services.create_address(owner=buyer, **WORK)
    with pytest.raises(AddressBookFull):
        services.create_address(owner=buyer, **HOME)
    assert Address.objects.filter(owner=buyer).count() == 2


@pytest.mark.django_db(transaction=True)
def test_concurrent_make_default_calls_leave_exactly_one_default(buyer):
    addresses = [services.create_address(owner=buyer, **(HOME | {"name": f"Place {i}"})) for i in range(4)]
    for _ in range(5):
        barrier = threading.Barrier(len(addresses))
        errors = []

        def make_default(address_id: int) -> None:
            try:
                barrier.wait()
                services.set_default_address(owner=buyer, address_id=address_id)
            except Exception as exc:  # pragma: no cover - reported below
                errors.append(exc)
            finally:
                connection.close()

        threads = [threading.Thread(target=make_default, args=(a.pk,)) for a in addresses]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert errors == []
        assert len(_defaults(buyer)) == 1
