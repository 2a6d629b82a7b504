"""Uploaded files with their cache headers, and the benchmark's ceiling view."""

from __future__ import annotations

import posixpath
from pathlib import Path

from django.conf import settings
from django.http import FileResponse, Http404, HttpRequest, HttpResponse, HttpResponseNotAllowed
from django.utils._os import safe_join

MEDIA_CACHE_CONTROL = {
    "products": "public, max-age=2592000, immutable",  # product images: 30 days, never change in place
    "shops": "public, max-age=604800",  # shop logos and banners: 7 days
}


def media(request: HttpRequest, path: str) -> HttpResponse:
    """Serve an uploaded file with the documents' cache headers (a CDN would sit in front)."""
    if request.method not in ("GET", "HEAD"):
        return HttpResponseNotAllowed(["GET", "HEAD"])
    path = posixpath.normpath(path).lstrip("/")
    try:
        full = Path(safe_join(str(settings.MEDIA_ROOT), path))
    except Exception:
        raise Http404("No such file") from None
    if not full.is_file():
        raise Http404("No such file")
    # FileResponse guesses the type itself and maps a compressed file's encoding to its own type
    # (application/gzip), so a stored .gz is downloaded as it is rather than unpacked by the browser.
    response = FileResponse(full.open("rb"))
    parts = path.split("/")
    kind = "products" if "products" in parts or "thumbs" in parts else "shops" if "shops" in parts else None
    response["Cache-Control"] = MEDIA_CACHE_CONTROL.get(kind, "public, max-age=86400")
    return response


def bare(request: HttpRequest) -> HttpResponse:
    """The benchmark's ceiling: the whole middleware stack and nothing else."""
    return HttpResponse(b"ok", content_type="text/plain")
