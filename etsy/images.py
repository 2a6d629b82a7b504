"""Validation and storage preparation of uploaded pictures (listing images, shop logos, banners).

An upload is accepted only when its first bytes are a JPEG, PNG, GIF or WebP signature,
Pillow identifies the same format, and the whole picture decodes within the size and pixel
caps (a decompression bomb is refused before its pixels are allocated). It is then
re-encoded from decoded pixels (trailing HTML or script and metadata are dropped), resized,
and given a server-chosen name. Each stored picture has a WebP twin at the same name with a
``.webp`` suffix so pages can offer it in ``<picture>`` to browsers that accept WebP.
"""

from __future__ import annotations

import posixpath
import re
import uuid
import warnings
from dataclasses import dataclass
from io import BytesIO

from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from PIL import Image, ImageOps, UnidentifiedImageError

from etsy.exceptions import DomainError

MAX_UPLOAD_BYTES = 10 * 1024 * 1024
MAX_PIXELS = 40_000_000  # e.g. 8000 x 5000; larger is refused before decoding
MAX_SIDE = 10_000
MIN_SIDE = 16
LISTING_SIDE = 1600
THUMBNAIL_SIDE = 400
JPEG_QUALITY = 85
WEBP_QUALITY = 80

_SIGNATURES: tuple[tuple[bytes, str], ...] = (
    (b"\xff\xd8\xff", "JPEG"),
    (b"\x89PNG\r\n\x1a\n", "PNG"),
    (b"GIF87a", "GIF"),
    (b"GIF89a", "GIF"),
)


class InvalidImage(DomainError):
    code = "invalid_image"
    status_code = 400
    default_message = "Upload a JPEG, PNG, GIF or WebP picture."


@dataclass(frozen=True)
class ProcessedImage:
    """A re-encoded picture and its variants, ready to store under ``name`` (server-chosen)."""

    name: str
    content: bytes
    webp: bytes
    thumbnail: bytes
    thumbnail_webp: bytes
    width: int
    height: int


def sniff_format(head: bytes) -> str | None:
    """Return the image format named by the file's magic bytes, or None."""
    for signature, fmt in _SIGNATURES:
        if head.startswith(signature):
            return fmt
    if len(head) >= 12 and head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "WEBP"
    return None


def _read_upload(upload) -> bytes:
    size = getattr(upload, "size", None)
    if size is not None and size > MAX_UPLOAD_BYTES:
        raise InvalidImage(f"The picture is larger than {MAX_UPLOAD_BYTES // (1024 * 1024)} MB.")
    if hasattr(upload, "seek"):
        upload.seek(0)
    data = upload.read(MAX_UPLOAD_BYTES + 1)
    if len(data) > MAX_UPLOAD_BYTES:
        raise InvalidImage(f"The picture is larger than {MAX_UPLOAD_BYTES // (1024 * 1024)} MB.")
    if hasattr(upload, "seek"):
        upload.seek(0)
    return data


def decode_image(data: bytes, *, draft_side: int | None = None) -> Image.Image:
    """Decode ``data`` fully after checking its signature and dimensions. Raises InvalidImage.

    ``draft_side`` lets JPEG decode at a reduced scale (still reading the whole stream) when
    the picture will be shrunk to that size anyway.
    """
    fmt = sniff_format(data[:16])
    if fmt is None:
        raise InvalidImage("This file is not a JPEG, PNG, GIF or WebP picture.")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            header = Image.open(BytesIO(data), formats=[fmt])
            width, height = header.size
            if width * height > MAX_PIXELS or max(width, height) > MAX_SIDE:
                raise InvalidImage("The picture has too many pixels.")
            if min(width, height) < MIN_SIDE:
                raise InvalidImage(f"The picture must be at least {MIN_SIDE} pixels on each side.")
            header.verify()
            image = Image.open(BytesIO(data), formats=[fmt])
            if draft_side and fmt == "JPEG":
                image.draft("RGB", (draft_side, draft_side))
            image.load()
    except InvalidImage:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise InvalidImage("The picture has too many pixels.") from exc
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, EOFError) as exc:
        raise InvalidImage("The picture is damaged or not really an image.") from exc
    if image.format != fmt:
        raise InvalidImage("The picture's content does not match its type.")
    return image


def _encode(image: Image.Image, fmt: str) -> bytes:
    out = BytesIO()
    if fmt == "JPEG":
        image.convert("RGB").save(out, "JPEG", quality=JPEG_QUALITY, optimize=True, progressive=True)
    elif fmt == "PNG":
        image.save(out, "PNG", optimize=True)
    else:
        image.save(out, "WEBP", quality=WEBP_QUALITY, method=4)
    return out.getvalue()


def process_upload(upload, *, max_side: int = LISTING_SIDE, thumbnail_side: int = THUMBNAIL_SIDE) -> ProcessedImage:
    """Validate, re-encode and resize an uploaded picture. Raises InvalidImage."""
    image = decode_image(_read_upload(upload), draft_side=max_side)
    try:
        image.seek(0)  # first frame of an animation
        image = ImageOps.exif_transpose(image)
        has_alpha = image.mode in ("RGBA", "LA", "PA") or (image.mode == "P" and "transparency" in image.info)
        image = image.convert("RGBA" if has_alpha else "RGB")
        image.thumbnail((max_side, max_side), Image.Resampling.LANCZOS)
        thumb = image.copy()
        thumb.thumbnail((thumbnail_side, thumbnail_side), Image.Resampling.LANCZOS)
        fmt, ext = ("PNG", "png") if has_alpha else ("JPEG", "jpg")
        return ProcessedImage(
            name=f"{uuid.uuid4().hex}.{ext}",
            content=_encode(image, fmt),
            webp=_encode(image, "WEBP"),
            thumbnail=_encode(thumb, fmt),
            thumbnail_webp=_encode(thumb, "WEBP"),
            width=image.width,
            height=image.height,
        )
    except (OSError, ValueError) as exc:
        raise InvalidImage("The picture could not be processed.") from exc


def webp_name(name: str) -> str:
    """Storage name of the WebP twin of a stored picture."""
    stem, _, _ext = name.rpartition(".")
    return f"{stem or name}.webp"


def save_webp_twin(stored_name: str, webp: bytes) -> str:
    """Store the WebP twin next to ``stored_name``; returns its storage name."""
    return default_storage.save(webp_name(stored_name), ContentFile(webp))


# The names process_upload chooses (32 hex digits); listings.store_image_files stores each such picture
# together with its WebP twin. Other names (demo photos, older files) have none.
_UPLOADED_NAME = re.compile(r"^[0-9a-f]{32}\.(?:jpg|png)$")


def has_webp_twin(name: str) -> bool:
    """Whether a stored picture has a WebP twin, decided from its name alone (no storage request)."""
    return bool(_UPLOADED_NAME.match(posixpath.basename(name)))


def webp_url(field_file) -> str:
    """URL of the WebP twin of an ImageField value, or "" when it has none (no storage request per render)."""
    if not field_file or not has_webp_twin(field_file.name):
        return ""
    return default_storage.url(webp_name(field_file.name))


def picture_sources(field_file) -> dict[str, str]:
    """``{"src": ..., "webp": ...}`` for a ``<picture>`` element (webp empty when missing)."""
    if not field_file:
        return {"src": "", "webp": ""}
    return {"src": field_file.url, "webp": webp_url(field_file)}


def delete_stored(field_file) -> None:
    """Delete a stored picture and its WebP twin (missing files are fine)."""
    if not field_file:
        return
    for name in (field_file.name, webp_name(field_file.name)):
        try:
            default_storage.delete(name)
        except OSError:
            pass
