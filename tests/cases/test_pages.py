"""The order page's case section and the buyer's case forms, without JavaScript (plain form posts)."""

import datetime

import pytest
from django.test import Client
from django.utils import timezone

from cases.models import Case

pytestmark = pytest.mark.django_db
PASSWORD = "correct-horse-battery"


@pytest.fixture
def signed_in(buyer):
    client = Client()
    assert client.login(email=buyer.email, password=PASSWORD)
    return client


def test_before_the_estimate_the_order_page_says_when_a_case_can_be_opened(signed_in, shipped_order):
    html = signed_in.get(f"/orders/{shipped_order.pk}/").content.decode()
    assert "Problem with this order?" in html and "Report a problem with this order" not in html
    assert (
        signed_in.post(
            f"/cases/orders/{shipped_order.pk}/open/", {"kind": "not_received", "description": "x"}
        ).status_code
        == 409
    )
    assert not Case.objects.exists()


def test_the_buyer_opens_a_case_messages_and_closes_it_with_plain_forms(signed_in, past_estimate):
    page = signed_in.get(f"/orders/{past_estimate.pk}/").content.decode()
    assert f'href="/cases/orders/{past_estimate.pk}/open/"' in page
    form = signed_in.get(f"/cases/orders/{past_estimate.pk}/open/")
    assert form.status_code == 200 and "<legend>What went wrong?</legend>" in form.content.decode()
    assert signed_in.post(f"/cases/orders/{past_estimate.pk}/open/", {"kind": "not_received"}).status_code == 400
    response = signed_in.post(
        f"/cases/orders/{past_estimate.pk}/open/", {"kind": "not_received", "description": "It never came."}
    )
    assert response.status_code == 302 and response["Location"] == f"/orders/{past_estimate.pk}/#case"
    case = Case.objects.get()
    page = signed_in.get(f"/orders/{past_estimate.pk}/").content.decode()
    assert "Waiting for the seller" in page and "It never came." in page and "Case opened (item not received)" in page
    assert "Ask marketplace staff to step in" not in page  # not before the seller's deadline
    signed_in.post(f"/cases/{case.pk}/message/", {"body": "Any news?"})
    Case.objects.filter(pk=case.pk).update(seller_deadline=timezone.now() - datetime.timedelta(minutes=1))
    page = signed_in.get(f"/orders/{past_estimate.pk}/").content.decode()
    assert "Any news?" in page and "Ask marketplace staff to step in" in page
    signed_in.post(f"/cases/{case.pk}/escalate/")
    assert Case.objects.get().status == "escalated"
    signed_in.post(f"/cases/{case.pk}/close/")
    assert Case.objects.get().status == "closed_by_buyer"


def test_another_buyer_gets_404_on_the_case_pages(past_estimate, other_buyer, buyer):
    from cases import services

    case = services.open_case(buyer=buyer, order_id=past_estimate.pk, kind="not_received", description="Lost.")
    client = Client()
    assert client.login(email=other_buyer.email, password=PASSWORD)
    assert client.get(f"/cases/orders/{past_estimate.pk}/open/").status_code == 404
    for action in ("message", "escalate", "close"):
        assert client.post(f"/cases/{case.pk}/{action}/", {"body": "x"}).status_code == 404
    assert Case.objects.get().status == "open"


def test_the_order_page_reads_a_long_case_thread_in_constant_queries(signed_in, past_estimate, buyer):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from cases import services

    case = services.open_case(buyer=buyer, order_id=past_estimate.pk, kind="not_received", description="Lost.")

    def count() -> int:
        with CaptureQueriesContext(connection) as queries:
            assert signed_in.get(f"/orders/{past_estimate.pk}/").status_code == 200
        return len(queries)

    seller = past_estimate.shop.owner
    services.add_seller_message(seller=seller, case_id=case.pk, body="Checking.")
    count()  # warm the page's caches (header, categories)
    few = count()
    for n in range(8):
        services.add_seller_message(seller=seller, case_id=case.pk, body=f"Update {n}")
    assert count() <= few  # an N+1 would add a query per message (8 more); caches may only save some


def test_your_cases_lists_the_buyers_cases_by_state_and_links_to_each_order(signed_in, past_estimate, buyer):
    from cases import services

    assert "You have not opened a case" in signed_in.get("/cases/").content.decode()
    case = services.open_case(buyer=buyer, order_id=past_estimate.pk, kind="not_received", description="Lost.")
    page = signed_in.get("/cases/").content.decode()
    assert f'href="/orders/{past_estimate.pk}/#case"' in page
    assert "Item not received" in page and "Waiting for the seller" in page and "the seller has until" in page
    assert f"order #{past_estimate.pk}" in signed_in.get("/cases/?state=active").content.decode()
    assert "No cases here." in signed_in.get("/cases/?state=closed").content.decode()
    services.close_by_buyer(buyer=buyer, case_id=case.pk)
    assert "Closed by the buyer" in signed_in.get("/cases/?state=closed").content.decode()
    assert "No cases here." in signed_in.get("/cases/?state=active").content.decode()


def test_your_cases_refuses_an_unknown_filter_and_shows_no_one_elses_cases(signed_in, past_estimate, other_buyer):
    from cases import services

    services.open_case(buyer=past_estimate.buyer, order_id=past_estimate.pk, kind="not_received", description="x")
    bad = signed_in.get("/cases/?state=nonsense")
    assert bad.status_code == 400 and "There is no such filter" in bad.content.decode()
    other = Client()
    assert other.login(email=other_buyer.email, password=PASSWORD)
    page = other.get("/cases/").content.decode()
    assert "You have not opened a case" in page and f"/orders/{past_estimate.pk}/" not in page
    assert Client().get("/cases/").status_code == 302  # sign in first


def test_your_cases_reads_many_cases_in_constant_queries(signed_in, buyer, shop):
    from cases import services
    from tests.cases.conftest import buy, day_after_estimate, ship

    def count() -> int:
        from django.db import connection
        from django.test.utils import CaptureQueriesContext

        with CaptureQueriesContext(connection) as queries:
            assert signed_in.get("/cases/").status_code == 200
        return len(queries)

    orders = [ship(buy(buyer, shop)) for _ in range(4)]
    now = day_after_estimate(orders[-1])
    services.open_case(buyer=buyer, order_id=orders[0].pk, kind="not_received", description="Lost.", now=now)
    count()
    one = count()
    for order in orders[1:]:
        services.open_case(buyer=buyer, order_id=order.pk, kind="not_received", description="Lost.", now=now)
    assert count() <= one
