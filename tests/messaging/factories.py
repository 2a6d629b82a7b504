"""Picture payloads and small builders for messaging tests (threads are made through the services)."""

import io

from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image


def png_upload(name: str = "photo.png", size=(64, 48)) -> SimpleUploadedFile:
    out = io.BytesIO()
    Image.new("RGB", size, (200, 90, 30)).save(out, "PNG")
    return SimpleUploadedFile(name, out.getvalue(), content_type="image/png")


def fake_png_upload(name: str = "evil.png") -> SimpleUploadedFile:
    """A PNG signature followed by HTML: refused by etsy.images."""
    return SimpleUploadedFile(
        name, b"\x89PNG\r\n\x1a\n<html><script>alert(1)</script></html>", content_type="image/png"
    )
