"""The buyer's case pages: open a case, add a message, escalate, close. Rules live in the services."""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from cases import selectors, services
from cases.forms import CaseMessageForm, OpenCaseForm
from etsy.exceptions import DomainError, NotFound
from orders.selectors import get_order_for_buyer

CASES_PER_PAGE = 20
CASE_FILTERS = [("", "All"), ("active", "Open"), ("closed", "Closed")]


@login_required
def case_list(request: HttpRequest) -> HttpResponse:
    """The buyer's cases, newest first (``?state=active|closed``), 20 a page; each links to its order page."""
    state = request.GET.get("state", "")
    context = {
        "filters": CASE_FILTERS,
        "state": state,
        "section": "cases",
        "hours": settings.CASE_SELLER_RESPONSE_HOURS,
    }
    if state not in dict(CASE_FILTERS):
        context |= {"cases": [], "error": "There is no such filter: pick one of the filters above."}
        return render(request, "cases/list.html", context, status=400)
    cases = selectors.list_case_summaries_for_buyer(buyer=request.user, status=state or None)
    page = Paginator(cases, CASES_PER_PAGE).get_page(request.GET.get("page"))
    return render(request, "cases/list.html", context | {"cases": page.object_list, "page": page})


def _order_page(order_id: int) -> str:
    return reverse("orders:detail", args=[order_id]) + "#case"


@login_required
def open_case(request: HttpRequest, order_id: int) -> HttpResponse:
    try:
        order = get_order_for_buyer(buyer=request.user, order_id=order_id)
    except DomainError:
        raise Http404("No such order") from None
    form = OpenCaseForm(request.POST or None, initial={"kind": request.GET.get("kind")})
    status = 200
    if request.method == "POST":
        if form.is_valid():
            try:
                services.open_case(buyer=request.user, order_id=order.pk, **form.cleaned_data)
            except DomainError as exc:
                form.add_error(None, exc.message)
                status = exc.status_code
            else:
                hours = settings.CASE_SELLER_RESPONSE_HOURS
                messages.success(request, f"Your case is open. The seller has {hours} hours to answer or refund you.")
                return redirect(_order_page(order.pk))
        else:
            status = 400
    context = {"order": order, "form": form, "hours": settings.CASE_SELLER_RESPONSE_HOURS}
    return render(request, "cases/open.html", context, status=status)


def _act(request: HttpRequest, case_id: int, action, done: str, **kwargs) -> HttpResponse:
    try:
        case = selectors.get_case_for_buyer(buyer=request.user, case_id=case_id)
        action(buyer=request.user, case_id=case.pk, **kwargs)
    except NotFound:
        raise Http404("No such case") from None
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, done)
    return redirect(_order_page(case.order_id))


@login_required
@require_POST
def message(request: HttpRequest, case_id: int) -> HttpResponse:
    form = CaseMessageForm(request.POST)
    if not form.is_valid():
        try:
            case = selectors.get_case_for_buyer(buyer=request.user, case_id=case_id)
        except NotFound:
            raise Http404("No such case") from None
        messages.error(request, "Write a message (at most 2000 characters).")
        return redirect(_order_page(case.order_id))
    return _act(request, case_id, services.add_buyer_message, "Your message was sent.", body=form.cleaned_data["body"])


@login_required
@require_POST
def escalate(request: HttpRequest, case_id: int) -> HttpResponse:
    return _act(request, case_id, services.escalate_by_buyer, "Your case is with marketplace staff now.")


@login_required
@require_POST
def close(request: HttpRequest, case_id: int) -> HttpResponse:
    return _act(request, case_id, services.close_by_buyer, "Your case is closed.")
