"""Picture payloads for upload tests (real encodings and hostile files)."""

import functools
import io
import struct
import zlib

from PIL import Image


def png_bytes(size=(64, 48), color=(200, 90, 30), mode="RGB") -> bytes:
    out = io.BytesIO()
    Image.new(mode, size, color).save(out, "PNG")
    return out.getvalue()


def jpeg_bytes(size=(640, 480)) -> bytes:
    out = io.BytesIO()
    img = Image.new("RGB", size, (30, 120, 200))
    for x in range(0, size[0], 10):
        img.putpixel((x, size[1] // 2), (255, 255, 255))
    img.save(out, "JPEG", quality=90)
    return out.getvalue()


def png_header_then_html() -> bytes:
    return b"\x89PNG\r\n\x1a\n" + b"<html><script>alert(document.cookie)</script></html>"


def svg_with_script() -> bytes:
    return b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script><rect width="10" height="10"/></svg>'


@functools.lru_cache(maxsize=2)
def decompression_bomb_png(side: int = 12000) -> bytes:
    """A ~150 kB PNG declaring side x side pixels (144 megapixels that would inflate to ~144 MB)."""
    raw_row = b"\x00" + b"\x00" * side  # grayscale, filter byte + pixels
    compressor = zlib.compressobj(6)
    data = b"".join(compressor.compress(raw_row) for _ in range(side)) + compressor.flush()

    def chunk(kind: bytes, payload: bytes) -> bytes:
        return struct.pack(">I", len(payload)) + kind + payload + struct.pack(">I", zlib.crc32(kind + payload))

    ihdr = struct.pack(">IIBBBBB", side, side, 8, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", data) + chunk(b"IEND", b"")
