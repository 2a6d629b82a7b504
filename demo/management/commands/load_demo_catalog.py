import time

from django.core.management.base import BaseCommand
from tqdm import tqdm

from demo.loader import DEMO_PASSWORD, Progress, load_demo_catalog


class _TqdmProgress(Progress):
    def __init__(self, *, enabled: bool):
        self.enabled = enabled
        self.bar: tqdm | None = None

    def start(self, phase: str, total: int) -> None:
        self.close()
        self.bar = tqdm(total=total, desc=phase, unit="", disable=not self.enabled or total == 0)

    def advance(self, steps: int) -> None:
        if self.bar:
            self.bar.update(steps)

    def close(self) -> None:
        if self.bar:
            self.bar.close()


class Command(BaseCommand):
    help = "Load a deterministic demo catalog of handmade and vintage listings (bulk inserts, with progress)."

    def add_arguments(self, parser):
        parser.add_argument("--products", type=int, default=10000)
        parser.add_argument("--shops", type=int, default=100)
        parser.add_argument("--seed", type=int, default=7)
        parser.add_argument("--if-empty", action="store_true", help="Do nothing when listings already exist.")

    def handle(self, *args, products: int, shops: int, seed: int, if_empty: bool, **options):
        started = time.monotonic()
        progress = _TqdmProgress(enabled=options["verbosity"] > 0)
        try:
            report = load_demo_catalog(products=products, shops=shops, seed=seed, if_empty=if_empty, progress=progress)
        finally:
            progress.close()
        if report.skipped:
            self.stdout.write("Demo catalog already loaded: nothing to do.")
            return
        self.stdout.write(
            self.style.SUCCESS(
                f"Loaded {report.products} listings ({report.images} photos) in {report.shops} shops, "
                f"{report.categories} categories, {report.orders} past orders, {report.reviews} reviews and "
                f"{report.favorites} favorites "
                f"in {time.monotonic() - started:.1f}s. Demo password: {DEMO_PASSWORD}"
            )
        )
