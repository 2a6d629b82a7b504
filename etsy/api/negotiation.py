"""Content negotiation: DRF's, with the Accept headers API clients send answered without parsing them."""

from __future__ import annotations

from rest_framework.negotiation import DefaultContentNegotiation


class ContentNegotiation(DefaultContentNegotiation):
    """No Accept header, ``*/*`` or exactly the first renderer's media type (``application/json``) select the
    first renderer with its media type, as DRF's parsing and ordering of the header would; any other header, a
    format suffix or ``?format=`` goes through DRF. Parsing the header was 2 % of an add-to-cart's CPU."""

    def select_renderer(self, request, renderers, format_suffix=None):
        if renderers and format_suffix is None:
            first = renderers[0]
            accept = request.META.get("HTTP_ACCEPT")
            if (accept is None or accept == "*/*" or accept == first.media_type) and (
                self.settings.URL_FORMAT_OVERRIDE not in request.query_params
            ):
                return first, first.media_type
        return super().select_renderer(request, renderers, format_suffix)
