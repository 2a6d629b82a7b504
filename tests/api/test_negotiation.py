"""etsy.api.negotiation answers every Accept header as DRF's own negotiation does."""

import pytest
from django.http import Http404
from drf_spectacular.renderers import OpenApiJsonRenderer, OpenApiYamlRenderer
from rest_framework.exceptions import NotAcceptable
from rest_framework.negotiation import DefaultContentNegotiation
from rest_framework.renderers import BrowsableAPIRenderer, JSONRenderer
from rest_framework.request import Request
from rest_framework.test import APIRequestFactory

from etsy.api.negotiation import ContentNegotiation

RENDERER_LISTS = [[JSONRenderer()], [OpenApiYamlRenderer(), OpenApiJsonRenderer()], [BrowsableAPIRenderer()]]


def _answer(negotiation, accept, query, renderers, suffix):
    headers = {} if accept is None else {"HTTP_ACCEPT": accept}
    request = Request(APIRequestFactory().get(f"/api/v1/cart{query}", **headers))
    try:
        renderer, media_type = negotiation.select_renderer(request, renderers, suffix)
    except NotAcceptable:
        return "406"
    except Http404:  # a format no renderer has
        return "404"
    return type(renderer), media_type


@pytest.mark.parametrize(
    "accept",
    [None, "*/*", "application/json", "application/yaml", "text/html", "application/json; indent=4", "", "text/*"],
)
@pytest.mark.parametrize("query", ["", "?format=json", "?format=yaml"])
@pytest.mark.parametrize("renderers", RENDERER_LISTS)
@pytest.mark.parametrize("suffix", [None, "json"])
def test_a_renderer_is_chosen_as_drf_chooses_it(accept, query, renderers, suffix):
    mine = _answer(ContentNegotiation(), accept, query, renderers, suffix)
    assert mine == _answer(DefaultContentNegotiation(), accept, query, renderers, suffix)


def test_the_api_uses_it(client):
    from rest_framework.settings import api_settings

    assert api_settings.DEFAULT_CONTENT_NEGOTIATION_CLASS is ContentNegotiation
    assert client.get("/api/v1/cart", HTTP_ACCEPT="text/html").status_code in (401, 403, 406)
