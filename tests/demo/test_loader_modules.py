"""The demo loader as a package: ``demo.loader`` still names everything its commands and tests import from it."""

from __future__ import annotations

from pathlib import Path

from demo import loader
from demo.loader import foundations, loading, specs


def test_the_loader_keeps_its_public_names_as_the_capability_modules_objects():
    assert loader.load_demo_catalog is loading.load_demo_catalog
    assert loader.iter_listings is specs.iter_listings
    assert loader.ListingSpec is specs.ListingSpec
    assert loader.DEMO_PASSWORD is foundations.DEMO_PASSWORD
    for name in loader.__all__:
        assert getattr(loader, name) is not None


def test_each_loader_module_stays_well_under_the_house_limit():
    for module in Path(loader.__file__).parent.glob("*.py"):
        assert len(module.read_text().splitlines()) < 350, module.name
