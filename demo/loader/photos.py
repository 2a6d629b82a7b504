"""The listings' photos: drawn once per kind, motif and colour, in parallel, where missing."""

from __future__ import annotations

import os
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

from django.utils.text import slugify

from demo import images as demo_images
from demo.vocabulary import COLOUR_RGB, KINDS, MATERIALS


def _photo_paths(kind_key: str, shape: str, colour: str) -> tuple[str, str]:
    kind = next(k for k in KINDS if k.key == kind_key)
    stem = slugify(kind_key) if shape == kind.shape else f"{slugify(kind_key)}-{shape}"
    return f"demo/products/{stem}-{colour}.jpg", f"demo/thumbs/{stem}-{colour}.jpg"


def _draw_photo(job: tuple[str, str, str, str, str]) -> None:
    root, kind_key, shape, colour, texture = job
    name, thumb = _photo_paths(kind_key, shape, colour)
    img = demo_images.draw_product(
        shape=shape, colour=COLOUR_RGB[colour], texture=texture, seed=sum(map(ord, kind_key + colour))
    )
    demo_images.save_jpeg(img, Path(root) / name)
    demo_images.save_jpeg(demo_images.thumbnail_of(img), Path(root) / thumb)


def _missing_photos(*, media_root: Path, combos: set[tuple[str, str, str]]) -> list[tuple[str, str, str, str, str]]:
    jobs = []
    for kind_key, shape, colour in sorted(combos):
        name, thumb = _photo_paths(kind_key, shape, colour)
        if not (media_root / name).exists() or not (media_root / thumb).exists():
            kind = next(k for k in KINDS if k.key == kind_key)
            jobs.append((str(media_root), kind_key, shape, colour, MATERIALS[kind.materials[0]].texture))
    return jobs


def _draw_photos(jobs: list[tuple[str, str, str, str, str]], progress: Callable[[int], None] | None) -> None:
    """Draw photos in parallel; listings of one kind, motif and colour share a photo."""
    if len(jobs) < 8:
        for job in jobs:
            _draw_photo(job)
            if progress:
                progress(1)
        return
    with ProcessPoolExecutor(max_workers=max(1, min(4, os.cpu_count() or 1))) as pool:
        for _ in pool.map(_draw_photo, jobs, chunksize=4):
            if progress:
                progress(1)
