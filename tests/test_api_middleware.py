"""What the middleware stack spends on an API request: Django's messages are for pages only."""

from pathlib import Path

import pytest
from django.contrib.messages import get_messages
from django.contrib.sessions.middleware import SessionMiddleware
from django.http import HttpResponse
from django.test import RequestFactory

from etsy.middleware import PageMessageMiddleware

ROOT = Path(__file__).resolve().parent.parent


def _through_messages(path: str):
    request = RequestFactory().get(path)
    SessionMiddleware(lambda r: HttpResponse()).process_request(request)
    seen = {}

    def view(request):
        seen["storage"] = getattr(request, "_messages", None)
        return HttpResponse()

    PageMessageMiddleware(view)(request)
    return seen["storage"]


@pytest.mark.django_db
def test_pages_have_message_storage_and_the_api_has_none():
    assert _through_messages("/cart/") is not None
    assert _through_messages("/api/v1/cart/items") is None


def test_no_api_module_uses_djangos_messages():
    # The premise of leaving the API without message storage: nothing it runs adds or reads a message.
    api_modules = [*ROOT.glob("*/api/*.py"), *ROOT.glob("etsy/api/*.py"), ROOT / "etsy" / "api_urls.py"]
    assert api_modules
    for module in api_modules:
        text = module.read_text()
        assert "contrib.messages" not in text and "contrib import messages" not in text, module


@pytest.mark.django_db
def test_a_message_a_page_added_waits_through_api_requests(client, buyer, product):
    client.force_login(buyer)
    response = client.post(f"/cart/add/{product.pk}/", {"quantity": 1})
    assert response.status_code == 302
    assert client.get("/api/v1/cart").status_code == 200
    page = client.get(response["Location"])
    assert [str(message) for message in get_messages(page.wsgi_request)]
