"""Product photos, shop logos and banners for the demo catalog, drawn with Pillow.

Each picture is drawn at twice its size and scaled down (anti-aliasing). Photos
are pooled per (kind, colour): listings of the same kind and colour share files.
"""

from __future__ import annotations

import math
import random
from pathlib import Path

from PIL import Image, ImageDraw, ImageFilter, ImageFont

SIZE = 640
THUMB = 320
SS = 2  # supersampling factor


def _shade(rgb: tuple[int, int, int], factor: float) -> tuple[int, int, int]:
    return tuple(max(0, min(255, int(c * factor))) for c in rgb)


def _background(rng: random.Random, size: int) -> Image.Image:
    base = rng.choice([(244, 239, 230), (236, 232, 226), (232, 236, 232), (240, 234, 228), (228, 232, 238)])
    # A soft wall gradient above a table edge reads as a product photo; drawn small, scaled up.
    small = 64
    img = Image.new("RGB", (1, small), base)
    horizon = int(small * rng.uniform(0.62, 0.72))
    for y in range(small):
        t = y / small
        img.putpixel((0, y), _shade(base, 1.03 - 0.10 * t) if y < horizon else _shade(base, 0.88 - 0.05 * t))
    return img.resize((size, size), Image.BILINEAR)


def _texture(draw: ImageDraw.ImageDraw, box, colour, texture: str, rng: random.Random) -> None:
    x0, y0, x1, y1 = box
    dark, light = _shade(colour, 0.8), _shade(colour, 1.18)
    step = 14 * SS
    if texture == "weave":
        for x in range(int(x0), int(x1), step):
            draw.line([(x, y0), (x, y1)], fill=dark, width=SS)
        for y in range(int(y0), int(y1), step):
            draw.line([(x0, y), (x1, y)], fill=light, width=SS)
    elif texture == "knit":
        for y in range(int(y0), int(y1), step):
            for x in range(int(x0), int(x1), step):
                draw.line([(x, y), (x + step // 2, y + step // 2), (x + step, y)], fill=dark, width=SS)
    elif texture in ("speckle", "grain", "dots"):
        count = {"speckle": 260, "grain": 420, "dots": 90}[texture]
        radius = {"speckle": 2, "grain": 1, "dots": 5}[texture] * SS
        for _ in range(count):
            x, y = rng.uniform(x0, x1), rng.uniform(y0, y1)
            draw.ellipse([x - radius, y - radius, x + radius, y + radius], fill=dark if rng.random() < 0.6 else light)
    elif texture == "wood":
        for i, y in enumerate(range(int(y0), int(y1), step // 2)):
            pts = [(x, y + math.sin((x + i * 37) / (40 * SS)) * 4 * SS) for x in range(int(x0), int(x1), 8 * SS)]
            if len(pts) > 1:
                draw.line(pts, fill=dark if i % 2 else light, width=SS)
    elif texture == "metal":
        for i in range(6):
            x = x0 + (x1 - x0) * (0.15 + 0.12 * i)
            draw.line([(x, y0), (x + (x1 - x0) * 0.1, y1)], fill=light if i % 2 == 0 else dark, width=3 * SS)


def _shadow(img: Image.Image, box) -> Image.Image:
    scale = 8
    shadow = Image.new("L", (img.width // scale, img.height // scale), 0)
    ImageDraw.Draw(shadow).ellipse([v / scale for v in box], fill=110)
    shadow = shadow.filter(ImageFilter.GaussianBlur(18 * SS / scale)).resize(img.size, Image.BILINEAR)
    dark = Image.new("RGB", img.size, (60, 50, 40))
    return Image.composite(dark, img, shadow)


def draw_product(*, shape: str, colour: tuple[int, int, int], texture: str, seed: int) -> Image.Image:
    """Return a SIZE x SIZE picture of an item of ``shape`` in ``colour``."""
    rng = random.Random(seed)
    s = SIZE * SS
    img = _background(rng, s)
    c = s // 2
    img = _shadow(img, [c - s * 0.30, s * 0.74, c + s * 0.30, s * 0.84])
    draw = ImageDraw.Draw(img)
    dark, light = _shade(colour, 0.7), _shade(colour, 1.25)
    outline = _shade(colour, 0.55)
    w = 3 * SS

    def body(box, radius=0):
        draw.rounded_rectangle(box, radius=radius, fill=colour, outline=outline, width=w)
        _texture(draw, box, colour, texture, rng)

    if shape == "necklace":
        draw.arc([c - s * 0.28, s * 0.08, c + s * 0.28, s * 0.62], 10, 170, fill=(190, 170, 120), width=4 * SS)
        draw.line([(c, s * 0.62), (c, s * 0.66)], fill=(190, 170, 120), width=3 * SS)
        draw.polygon(
            [(c, s * 0.78), (c - s * 0.06, s * 0.68), (c, s * 0.64), (c + s * 0.06, s * 0.68)],
            fill=colour,
            outline=outline,
        )
        draw.ellipse([c - s * 0.02, s * 0.67, c + s * 0.02, s * 0.71], fill=light)
    elif shape == "earrings":
        for dx in (-0.14, 0.14):
            x = c + s * dx
            draw.arc([x - s * 0.04, s * 0.22, x + s * 0.04, s * 0.32], 180, 360, fill=(190, 170, 120), width=3 * SS)
            draw.line([(x, s * 0.32), (x, s * 0.40)], fill=(190, 170, 120), width=2 * SS)
            draw.ellipse([x - s * 0.07, s * 0.40, x + s * 0.07, s * 0.62], fill=colour, outline=outline, width=w)
            draw.ellipse([x - s * 0.02, s * 0.45, x + s * 0.01, s * 0.50], fill=light)
    elif shape == "ring":
        draw.ellipse([c - s * 0.24, s * 0.30, c + s * 0.24, s * 0.76], fill=colour, outline=outline, width=w)
        draw.ellipse(
            [c - s * 0.17, s * 0.38, c + s * 0.17, s * 0.68],
            fill=_shade(colour, 0.0) if False else img.getpixel((c, int(s * 0.2))),
        )
        draw.arc([c - s * 0.22, s * 0.32, c + s * 0.22, s * 0.74], 200, 260, fill=light, width=5 * SS)
        draw.polygon(
            [(c, s * 0.22), (c - s * 0.07, s * 0.30), (c, s * 0.36), (c + s * 0.07, s * 0.30)],
            fill=(200, 230, 245),
            outline=(120, 150, 170),
        )
    elif shape == "wallet":
        body([c - s * 0.30, s * 0.30, c + s * 0.30, s * 0.70], radius=int(s * 0.03))
        draw.rounded_rectangle(
            [c - s * 0.30, s * 0.30, c + s * 0.30, s * 0.44], radius=int(s * 0.03), fill=dark, outline=outline, width=w
        )
        for x in range(int(c - s * 0.28), int(c + s * 0.28), 12 * SS):
            draw.line([(x, s * 0.675), (x + 6 * SS, s * 0.675)], fill=light, width=SS * 2)
    elif shape == "bag":
        draw.arc([c - s * 0.16, s * 0.14, c + s * 0.16, s * 0.50], 180, 360, fill=dark, width=8 * SS)
        draw.polygon(
            [(c - s * 0.28, s * 0.34), (c + s * 0.28, s * 0.34), (c + s * 0.32, s * 0.78), (c - s * 0.32, s * 0.78)],
            fill=colour,
            outline=outline,
        )
        _texture(draw, [c - s * 0.27, s * 0.36, c + s * 0.27, s * 0.76], colour, texture, rng)
        draw.rectangle([c - s * 0.10, s * 0.44, c + s * 0.10, s * 0.52], fill=dark)
    elif shape == "mug":
        draw.ellipse([c + s * 0.12, s * 0.38, c + s * 0.34, s * 0.62], outline=colour, width=14 * SS)
        body([c - s * 0.22, s * 0.28, c + s * 0.20, s * 0.76], radius=int(s * 0.04))
        draw.ellipse([c - s * 0.22, s * 0.25, c + s * 0.20, s * 0.31], fill=dark, outline=outline, width=w)
        for i in range(3):
            x = c - s * 0.08 + i * s * 0.06
            draw.arc([x, s * 0.10, x + s * 0.05, s * 0.22], 90, 270, fill=(255, 255, 255), width=2 * SS)
    elif shape == "vase":
        pts = []
        for i in range(41):
            t = i / 40
            y = s * (0.18 + 0.60 * t)
            r = s * (0.06 + 0.17 * math.sin(math.pi * (0.15 + 0.8 * t)))
            pts.append((c + r, y))
        draw.polygon(pts + [(2 * c - x, y) for x, y in reversed(pts)], fill=colour, outline=outline)
        _texture(draw, [c - s * 0.15, s * 0.35, c + s * 0.15, s * 0.70], colour, texture, rng)
        draw.line([(c, s * 0.18), (c - s * 0.05, s * 0.05)], fill=(70, 120, 60), width=3 * SS)
        draw.ellipse([c - s * 0.10, s * 0.02, c - s * 0.02, s * 0.09], fill=(220, 120, 140))
    elif shape == "candle":
        body([c - s * 0.16, s * 0.34, c + s * 0.16, s * 0.78], radius=int(s * 0.02))
        draw.line([(c, s * 0.34), (c, s * 0.28)], fill=(40, 40, 40), width=2 * SS)
        draw.ellipse([c - s * 0.03, s * 0.18, c + s * 0.03, s * 0.29], fill=(250, 190, 60))
        draw.ellipse([c - s * 0.012, s * 0.23, c + s * 0.012, s * 0.28], fill=(255, 245, 200))
    elif shape == "textile":
        top, bottom = s * 0.26, s * 0.74
        pts_top = [
            (x, top + math.sin(x / (60 * SS)) * 6 * SS) for x in range(int(c - s * 0.30), int(c + s * 0.31), 10 * SS)
        ]
        pts_bot = [
            (x, bottom + math.sin(x / (60 * SS) + 1) * 6 * SS)
            for x in range(int(c + s * 0.30), int(c - s * 0.31), -10 * SS)
        ]
        draw.polygon(pts_top + pts_bot, fill=colour, outline=outline)
        _texture(draw, [c - s * 0.29, top + 8 * SS, c + s * 0.29, bottom - 8 * SS], colour, texture, rng)
        draw.rectangle([c - s * 0.30, s * 0.46, c + s * 0.30, s * 0.52], fill=light)
    elif shape == "lamp":
        draw.polygon(
            [(c - s * 0.14, s * 0.12), (c + s * 0.14, s * 0.12), (c + s * 0.24, s * 0.40), (c - s * 0.24, s * 0.40)],
            fill=(236, 228, 210),
            outline=(180, 170, 150),
        )
        draw.rectangle([c - s * 0.015, s * 0.40, c + s * 0.015, s * 0.62], fill=dark)
        draw.ellipse([c - s * 0.14, s * 0.52, c + s * 0.14, s * 0.78], fill=colour, outline=outline, width=w)
        _texture(draw, [c - s * 0.10, s * 0.56, c + s * 0.10, s * 0.74], colour, texture, rng)
    elif shape == "mirror":
        draw.ellipse([c - s * 0.30, s * 0.10, c + s * 0.30, s * 0.70], fill=colour, outline=outline, width=w)
        _texture(draw, [c - s * 0.30, s * 0.10, c + s * 0.30, s * 0.70], colour, texture, rng)
        draw.ellipse([c - s * 0.24, s * 0.16, c + s * 0.24, s * 0.64], fill=(210, 226, 236))
        draw.line([(c - s * 0.12, s * 0.26), (c + s * 0.02, s * 0.20)], fill=(245, 250, 255), width=6 * SS)
    elif shape == "board":
        body([c - s * 0.32, s * 0.40, c + s * 0.22, s * 0.70], radius=int(s * 0.05))
        draw.rounded_rectangle(
            [c + s * 0.20, s * 0.50, c + s * 0.36, s * 0.60],
            radius=int(s * 0.04),
            fill=colour,
            outline=outline,
            width=w,
        )
        draw.ellipse([c + s * 0.29, s * 0.53, c + s * 0.33, s * 0.57], fill=img.getpixel((5, int(s * 0.5))))
    elif shape == "bowl":
        draw.chord([c - s * 0.30, s * 0.20, c + s * 0.30, s * 0.80], 0, 180, fill=colour, outline=outline, width=w)
        _texture(draw, [c - s * 0.26, s * 0.52, c + s * 0.26, s * 0.76], colour, texture, rng)
        draw.ellipse([c - s * 0.30, s * 0.45, c + s * 0.30, s * 0.55], fill=dark, outline=outline, width=w)
    elif shape == "table":
        body([c - s * 0.32, s * 0.36, c + s * 0.32, s * 0.42], radius=int(s * 0.01))
        for x in (c - s * 0.28, c + s * 0.25):
            draw.rectangle([x, s * 0.42, x + s * 0.03, s * 0.80], fill=dark)
        draw.rectangle([c - s * 0.28, s * 0.62, c + s * 0.28, s * 0.65], fill=colour)
    elif shape == "chair":
        draw.rectangle([c - s * 0.20, s * 0.14, c + s * 0.20, s * 0.20], fill=colour, outline=outline)
        for x in (c - s * 0.18, c - s * 0.06, c + s * 0.06, c + s * 0.16):
            draw.rectangle([x, s * 0.20, x + s * 0.02, s * 0.50], fill=dark)
        body([c - s * 0.24, s * 0.48, c + s * 0.24, s * 0.55])
        for x in (c - s * 0.22, c + s * 0.19):
            draw.rectangle([x, s * 0.55, x + s * 0.03, s * 0.82], fill=dark)
    elif shape == "stool":
        # A round seat on splayed legs, with a footrest ring: no back.
        draw.ellipse([c - s * 0.20, s * 0.30, c + s * 0.20, s * 0.40], fill=colour, outline=outline, width=w)
        _texture(draw, [c - s * 0.16, s * 0.32, c + s * 0.16, s * 0.38], colour, texture, rng)
        for top, bottom in ((-0.14, -0.22), (-0.05, -0.08), (0.05, 0.08), (0.14, 0.22)):
            draw.line([(c + s * top, s * 0.39), (c + s * bottom, s * 0.82)], fill=dark, width=5 * SS)
        draw.line([(c - s * 0.18, s * 0.64), (c + s * 0.18, s * 0.64)], fill=dark, width=3 * SS)
    elif shape == "pendant":
        # A shade hanging from the ceiling on a cord.
        draw.line([(c, 0), (c, s * 0.34)], fill=(60, 56, 52), width=2 * SS)
        draw.pieslice([c - s * 0.22, s * 0.30, c + s * 0.22, s * 0.74], 180, 360, fill=colour, outline=outline, width=w)
        draw.ellipse([c - s * 0.06, s * 0.48, c + s * 0.06, s * 0.56], fill=(255, 236, 180))
    elif shape == "shelf":
        for y in (0.34, 0.58):
            body([c - s * 0.34, s * y, c + s * 0.34, s * (y + 0.04)])
            draw.polygon(
                [(c - s * 0.25, s * (y + 0.04)), (c - s * 0.22, s * (y + 0.04)), (c - s * 0.25, s * (y + 0.10))],
                fill=(60, 60, 60),
            )
        draw.rectangle([c - s * 0.24, s * 0.22, c - s * 0.16, s * 0.34], fill=(196, 110, 80))
        draw.ellipse([c + s * 0.06, s * 0.24, c + s * 0.18, s * 0.34], fill=(90, 140, 90))
        for i in range(5):
            draw.rectangle(
                [c - s * 0.05 + i * s * 0.035, s * 0.46, c - s * 0.03 + i * s * 0.035, s * 0.58],
                fill=_shade(colour, 0.6 + 0.1 * i),
            )
    elif shape == "sweater":
        pts = [
            (c - s * 0.12, s * 0.18),
            (c + s * 0.12, s * 0.18),
            (c + s * 0.34, s * 0.30),
            (c + s * 0.30, s * 0.62),
            (c + s * 0.22, s * 0.40),
            (c + s * 0.22, s * 0.80),
            (c - s * 0.22, s * 0.80),
            (c - s * 0.22, s * 0.40),
            (c - s * 0.30, s * 0.62),
            (c - s * 0.34, s * 0.30),
        ]
        draw.polygon(pts, fill=colour, outline=outline)
        _texture(draw, [c - s * 0.20, s * 0.24, c + s * 0.20, s * 0.78], colour, texture, rng)
        draw.arc([c - s * 0.08, s * 0.12, c + s * 0.08, s * 0.26], 0, 180, fill=dark, width=6 * SS)
    elif shape == "hat":
        draw.chord([c - s * 0.24, s * 0.26, c + s * 0.24, s * 0.86], 180, 360, fill=colour, outline=outline, width=w)
        _texture(draw, [c - s * 0.20, s * 0.34, c + s * 0.20, s * 0.54], colour, texture, rng)
        draw.rounded_rectangle(
            [c - s * 0.26, s * 0.54, c + s * 0.26, s * 0.66], radius=int(s * 0.03), fill=dark, outline=outline, width=w
        )
        draw.ellipse([c - s * 0.07, s * 0.16, c + s * 0.07, s * 0.30], fill=light, outline=outline)
    elif shape == "frame":
        draw.rectangle([c - s * 0.28, s * 0.12, c + s * 0.28, s * 0.76], fill=(60, 48, 40))
        draw.rectangle([c - s * 0.24, s * 0.16, c + s * 0.24, s * 0.72], fill=(250, 248, 242))
        inner = [c - s * 0.20, s * 0.20, c + s * 0.20, s * 0.68]
        draw.rectangle(inner, fill=_shade(colour, 1.5))
        draw.ellipse([c + s * 0.05, s * 0.25, c + s * 0.13, s * 0.33], fill=(250, 220, 120))
        hill = (
            [(inner[0], s * 0.55)]
            + [(x, s * 0.50 + math.sin(x / (50 * SS)) * 18 * SS) for x in range(int(inner[0]), int(inner[2]), 8 * SS)]
            + [(inner[2], s * 0.68), (inner[0], s * 0.68)]
        )
        draw.polygon(hill, fill=colour)
    elif shape == "plush":
        draw.ellipse([c - s * 0.20, s * 0.42, c + s * 0.20, s * 0.80], fill=colour, outline=outline, width=w)
        draw.ellipse([c - s * 0.15, s * 0.16, c + s * 0.15, s * 0.46], fill=colour, outline=outline, width=w)
        for dx in (-0.13, 0.13):
            draw.ellipse(
                [c + s * dx - s * 0.06, s * 0.12, c + s * dx + s * 0.06, s * 0.24],
                fill=colour,
                outline=outline,
                width=w,
            )
        for dx in (-0.06, 0.06):
            draw.ellipse([c + s * dx - s * 0.015, s * 0.27, c + s * dx + s * 0.015, s * 0.30], fill=(30, 30, 30))
        draw.ellipse([c - s * 0.05, s * 0.32, c + s * 0.05, s * 0.40], fill=light)
        _texture(draw, [c - s * 0.14, s * 0.50, c + s * 0.14, s * 0.74], colour, texture, rng)
    elif shape == "toy":
        body([c - s * 0.30, s * 0.44, c + s * 0.30, s * 0.62], radius=int(s * 0.04))
        draw.rounded_rectangle(
            [c - s * 0.14, s * 0.32, c + s * 0.14, s * 0.46], radius=int(s * 0.04), fill=light, outline=outline, width=w
        )
        for x in (c - s * 0.18, c + s * 0.18):
            draw.ellipse([x - s * 0.07, s * 0.56, x + s * 0.07, s * 0.70], fill=(50, 40, 36))
            draw.ellipse([x - s * 0.025, s * 0.61, x + s * 0.025, s * 0.65], fill=(200, 180, 150))
    elif shape == "puzzle":
        # Four jigsaw pieces, slightly apart, each with a knob into its neighbour.
        piece, gap, top = s * 0.22, s * 0.02, s * 0.28
        for row in range(2):
            for col in range(2):
                x0 = c - piece - gap / 2 + col * (piece + gap)
                y0 = top + row * (piece + gap)
                shade = colour if (row + col) % 2 == 0 else light
                draw.rectangle([x0, y0, x0 + piece, y0 + piece], fill=shade, outline=outline, width=w)
                knob = piece * 0.16
                if col == 0:
                    kx, ky = x0 + piece, y0 + piece / 2
                else:
                    kx, ky = x0 + piece / 2, y0 + piece if row == 0 else y0
                draw.ellipse([kx - knob, ky - knob, kx + knob, ky + knob], fill=shade, outline=outline, width=w)
    elif shape == "stacker":
        # Rings of shrinking size on a wooden peg.
        draw.rounded_rectangle(
            [c - s * 0.03, s * 0.22, c + s * 0.03, s * 0.74], radius=int(s * 0.02), fill=(196, 160, 112)
        )
        shades = [_shade(colour, f) for f in (0.75, 0.9, 1.05, 1.2, 1.35)]
        for i, shade in enumerate(shades):
            half, y = s * (0.30 - i * 0.045), s * (0.66 - i * 0.085)
            draw.rounded_rectangle(
                [c - half, y, c + half, y + s * 0.08], radius=int(s * 0.04), fill=shade, outline=outline, width=w
            )
        draw.ellipse([c - s * 0.06, s * 0.16, c + s * 0.06, s * 0.26], fill=light, outline=outline, width=w)
    else:
        body([c - s * 0.25, s * 0.25, c + s * 0.25, s * 0.75], radius=int(s * 0.05))

    return img.resize((SIZE, SIZE), Image.LANCZOS)


def _font(size: int) -> ImageFont.ImageFont:
    return ImageFont.load_default(size=size)


def draw_logo(*, name: str, colour: tuple[int, int, int]) -> Image.Image:
    s = 256 * SS
    img = Image.new("RGB", (s, s), (250, 247, 242))
    draw = ImageDraw.Draw(img)
    draw.ellipse([8 * SS, 8 * SS, s - 8 * SS, s - 8 * SS], fill=colour)
    draw.ellipse([24 * SS, 24 * SS, s - 24 * SS, s - 24 * SS], outline=_shade(colour, 1.4), width=3 * SS)
    initials = "".join(word[0] for word in name.replace("&", "").split()[:2]).upper()
    font = _font(100 * SS)
    draw.text((s / 2, s / 2), initials, fill=(255, 255, 255), font=font, anchor="mm")
    return img.resize((256, 256), Image.LANCZOS)


def draw_banner(*, name: str, colour: tuple[int, int, int], seed: int) -> Image.Image:
    rng = random.Random(seed)
    w, h = 1200, 300
    img = Image.new("RGB", (w, h), _shade(colour, 1.35))
    draw = ImageDraw.Draw(img)
    for _ in range(40):
        x, y, r = rng.uniform(0, w), rng.uniform(0, h), rng.uniform(20, 120)
        draw.ellipse([x - r, y - r, x + r, y + r], fill=_shade(colour, rng.uniform(0.9, 1.5)))
    img = img.filter(ImageFilter.GaussianBlur(6))
    draw = ImageDraw.Draw(img)
    draw.text(
        (60, h / 2),
        name,
        fill=(255, 255, 255),
        font=_font(64),
        anchor="lm",
        stroke_width=2,
        stroke_fill=_shade(colour, 0.5),
    )
    return img


def save_jpeg(img: Image.Image, path: Path, *, quality: int = 82) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    img.save(path, "JPEG", quality=quality, optimize=True, progressive=True)


def thumbnail_of(img: Image.Image) -> Image.Image:
    return img.resize((THUMB, THUMB), Image.LANCZOS)
