"""Cases in the admin: a seller sees and answers only their shop's cases; the staff queue is superusers' only."""

import datetime
from decimal import Decimal

import pytest
from django.test import Client

from cases import services
from cases.models import Case
from tests.admin.conftest import PASSWORD, Seller, category, superuser_client  # noqa: F401  (fixtures)
from tests.cases.conftest import buy, day_after_estimate, ship

pytestmark = pytest.mark.django_db


@pytest.fixture
def sellers(category):  # noqa: F811
    return Seller("alice@example.com", "Alice Ceramics", category), Seller("bob@example.com", "Bob Woodworks", category)


def _case(buyer, shop) -> Case:
    order = ship(buy(buyer, shop))
    return services.open_case(
        buyer=buyer, order_id=order.pk, kind="not_received", description="Nothing came.", now=day_after_estimate(order)
    )


def test_a_seller_sees_only_their_own_shops_cases(buyer, sellers):
    alice, bob = sellers
    mine, theirs = _case(buyer, alice.shop), _case(buyer, bob.shop)
    listing = alice.client.get("/admin/cases/case/")
    assert listing.status_code == 200
    shown = {c.pk for c in listing.context["cl"].result_list}
    assert shown == {mine.pk}
    assert alice.client.get(f"/admin/cases/case/{mine.pk}/change/").status_code == 200
    assert alice.client.get(f"/admin/cases/case/{theirs.pk}/change/").status_code in (302, 403, 404)
    forged = alice.client.post(f"/admin/cases/case/{theirs.pk}/change/", {"message": "Mine now", "refund": "full"})
    assert forged.status_code in (302, 403, 404)
    theirs.refresh_from_db()
    assert (theirs.status, theirs.refund_amount, theirs.events.count()) == ("open", 0, 1)


def test_a_seller_answers_and_refunds_in_the_admin(buyer, sellers):
    alice, _ = sellers
    case = _case(buyer, alice.shop)
    response = alice.client.post(
        f"/admin/cases/case/{case.pk}/change/",
        {"message": "Sorry! Refunding part.", "refund": "part", "amount": "6.25"},
    )
    assert response.status_code == 302
    case.refresh_from_db()
    assert (case.status, case.refund_amount) == ("seller_responded", Decimal("6.25"))
    assert [e.kind for e in case.events.order_by("id")] == ["opened", "message", "refund"]


def test_the_staff_queue_is_for_superusers_only(buyer, sellers, superuser_client):  # noqa: F811
    alice, _ = sellers
    case = _case(buyer, alice.shop)
    services.escalate_overdue_cases(now=case.seller_deadline)
    assert alice.client.get("/admin/cases/escalatedcase/").status_code == 403
    assert alice.client.get(f"/admin/cases/escalatedcase/{case.pk}/change/").status_code in (302, 403)
    alice.client.post(f"/admin/cases/escalatedcase/{case.pk}/change/", {"decision": "close"})
    case.refresh_from_db()
    assert case.status == "escalated"
    assert "escalatedcase" not in alice.client.get("/admin/").content.decode()
    queue = superuser_client.get("/admin/cases/escalatedcase/")
    assert queue.status_code == 200 and [c.pk for c in queue.context["cl"].result_list] == [case.pk]


def test_staff_decide_a_refund_in_the_admin_with_who_and_when(buyer, sellers, superuser_client):  # noqa: F811
    alice, _ = sellers
    case = _case(buyer, alice.shop)
    services.escalate_overdue_cases(now=case.seller_deadline)
    response = superuser_client.post(
        f"/admin/cases/escalatedcase/{case.pk}/change/",
        {"decision": "refund", "amount": "10.01", "note": "The carrier lost it."},
    )
    assert response.status_code == 302
    case.refresh_from_db()
    assert (case.status, case.refund_amount, case.resolved_by.email) == (
        "resolved_refunded",
        Decimal("10.01"),
        "root@example.com",
    )
    assert case.resolved_at is not None and case.resolved_at > case.escalated_at - datetime.timedelta(days=30)
    assert superuser_client.get("/admin/cases/escalatedcase/").context["cl"].result_list.count() == 0


def test_escalated_cases_do_not_appear_to_a_staff_user_who_is_not_superuser(buyer, sellers):
    from tests.accounts.factories import UserFactory

    alice, _ = sellers
    case = _case(buyer, alice.shop)
    services.escalate_overdue_cases(now=case.seller_deadline)
    UserFactory(email="helper@example.com", is_staff=True)
    client = Client()
    assert client.login(email="helper@example.com", password=PASSWORD)
    assert client.get("/admin/cases/escalatedcase/").status_code == 403
    assert client.get("/admin/cases/case/").status_code == 403


def test_a_superuser_reads_any_case_but_answers_only_through_the_staff_queue(buyer, sellers, superuser_client):  # noqa: F811
    alice, _ = sellers
    case = _case(buyer, alice.shop)
    page = superuser_client.get(f"/admin/cases/case/{case.pk}/change/")
    assert page.status_code == 200 and 'name="message"' not in page.content.decode()
    assert 'name="message"' in alice.client.get(f"/admin/cases/case/{case.pk}/change/").content.decode()
