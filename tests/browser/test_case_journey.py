"""A case in a real browser: the buyer reports a shipped order that never came, the seller stays silent, the
case escalates (the beat task), staff refund it in the admin, and the buyer sees the refund on the order page.
Every page on the way passes axe-core and works without JavaScript (plain forms)."""

import datetime
import re

import pytest
from django.core import mail
from django.utils import timezone

from accounts.models import User
from cases.models import Case
from cases.tasks import escalate_overdue_cases
from orders.models import Order
from payments.models import LedgerEntry
from shops.services import open_shop
from tests.accounts.factories import UserFactory
from tests.browser.test_accessibility import PASSWORD, _sign_in, axe  # noqa: F401  (fixture)
from tests.cases.conftest import buy, run_outbox, ship

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_not_received_case_escalates_and_staff_refund_it(live_server, browser, axe, shot):  # noqa: F811
    base = live_server.url
    buyer = UserFactory(email="case.buyer@example.com", display_name="Casey Buyer")
    seller = UserFactory(email="case.seller@example.com")
    shop = open_shop(owner=seller, name="Tom & Jerry's Pottery")
    User.objects.create_superuser(email="staff@example.com", password=PASSWORD)
    order = ship(buy(buyer, shop, price="36.89"))
    # Time travel: the estimated delivery date was yesterday and the parcel never came.
    Order.objects.filter(pk=order.pk).update(estimated_delivery=timezone.localdate() - datetime.timedelta(days=1))

    page = browser.new_context(java_script_enabled=False, viewport={"width": 1280, "height": 900}).new_page()
    _sign_in(page, base, buyer.email)
    page.goto(f"{base}/orders/{order.pk}/")
    page.get_by_role("link", name="Report a problem with this order").click()
    page.get_by_label("Item not received").check()
    page.get_by_label("Tell the seller what happened").fill("Tracking has not moved for a week and nothing came.")
    shot(page, "case_01_open_form")
    page.get_by_role("button", name="Open a case").click()
    page.wait_for_url(re.compile(rf"/orders/{order.pk}/"))
    assert page.get_by_text("Waiting for the seller").is_visible()
    shot(page, "case_02_order_page_open_case")
    case = Case.objects.get(order=order)
    assert case.status == "open"

    # The seller does not answer: 48 hours later the beat task hands the case to staff (run here, in-process).
    Case.objects.filter(pk=case.pk).update(seller_deadline=timezone.now() - datetime.timedelta(minutes=1))
    assert escalate_overdue_cases.apply().result == 1
    page.reload()
    assert page.get_by_text("Marketplace staff are reviewing your case").is_visible()

    staff_page = browser.new_context(java_script_enabled=False, viewport={"width": 1280, "height": 900}).new_page()
    _sign_in(staff_page, base, "staff@example.com", admin=True)
    staff_page.goto(f"{base}/admin/cases/escalatedcase/")
    staff_page.get_by_role("link", name=re.compile(rf"Case #{case.pk}")).click()
    staff_page.get_by_role("combobox", name="Decision").select_option("refund")
    staff_page.get_by_label("Note to both sides").fill("The carrier confirms the parcel is lost.")
    shot(staff_page, "case_03_staff_decision")
    staff_page.click("input[name=_save]")
    staff_page.wait_for_url(re.compile(r"/admin/cases/escalatedcase/$"))
    assert staff_page.get_by_text(f"refunded ${order.total}").is_visible()

    case.refresh_from_db()
    assert (case.status, case.refund_amount, case.resolved_by.email) == (
        "resolved_refunded",
        order.total,
        "staff@example.com",
    )
    assert [e.amount for e in LedgerEntry.objects.filter(order=order, kind="refund")] == [-order.total]
    run_outbox()  # whatever the on-commit relay (eager Celery in the live server's thread) left
    decision_mails = [m for m in mail.outbox if m.subject.startswith(f"Decision on case #{case.pk}")]
    assert sorted(m.to[0] for m in decision_mails) == [buyer.email, seller.email]
    assert all(m.subject.endswith(f": ${order.total} refunded") for m in decision_mails)

    page.reload()
    assert page.get_by_text(f"Refunded: ${order.total}").is_visible()
    assert page.get_by_text("Resolved with a refund").first.is_visible()
    assert page.get_by_role("link", name="Report a problem with this order").count() == 0  # decided: no new case
    shot(page, "case_04_order_page_refunded")


def test_case_pages_pass_axe(live_server, page, axe, settings):  # noqa: F811
    base = live_server.url
    buyer = UserFactory(email="axe.case.buyer@example.com")
    seller = UserFactory(email="axe.case.seller@example.com")
    shop = open_shop(owner=seller, name="Axe Case Shop")
    User.objects.create_superuser(email="axe.staff@example.com", password=PASSWORD)
    order = ship(buy(buyer, shop))
    Order.objects.filter(pk=order.pk).update(estimated_delivery=timezone.localdate() - datetime.timedelta(days=1))
    from cases import services

    _sign_in(page, base, buyer.email)
    found = axe(page, f"{base}/orders/{order.pk}/") + axe(page, f"{base}/cases/orders/{order.pk}/open/")
    case = services.open_case(buyer=buyer, order_id=order.pk, kind="not_received", description="Nothing came.")
    services.add_seller_message(seller=seller, case_id=case.pk, body="Let me check.")
    found += axe(page, f"{base}/orders/{order.pk}/")
    page.context.clear_cookies()
    _sign_in(page, base, seller.email, admin=True)
    found += axe(page, f"{base}/admin/cases/case/") + axe(page, f"{base}/admin/cases/case/{case.pk}/change/")
    Case.objects.filter(pk=case.pk).update(seller_deadline=timezone.now() - datetime.timedelta(minutes=1))
    services.escalate_by_buyer(buyer=buyer, case_id=case.pk)
    page.context.clear_cookies()
    _sign_in(page, base, "axe.staff@example.com", admin=True)
    found += axe(page, f"{base}/admin/cases/escalatedcase/")
    found += axe(page, f"{base}/admin/cases/escalatedcase/{case.pk}/change/")
    assert found == [], "\n".join(found)
