"""CSV import and export of a shop's listings (for sellers moving from another marketplace).

Import is all or nothing: every row is validated first and the report lists each bad row
with its line number; only a file without errors is written, in one transaction.
Export neutralises cells that a spreadsheet would run as a formula.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation

from django.db import transaction
from django.utils import timezone

from catalog.models import Category, Product
from catalog.services.listings import InvalidListing, normalize_tags, send_products_changed_on_commit, slug_for
from catalog.stock import apply_listing_edits_to_offerings, create_implicit_offerings, lock_products
from etsy.exceptions import DomainError
from etsy.names import hidden_characters

COLUMNS = ["id", "title", "description", "price", "quantity", "category", "tags", "is_vintage", "is_active"]
REQUIRED = {"title", "price", "category"}
MAX_BYTES = 5 * 1024 * 1024
MAX_ROWS = 5000
_TRUE = {"1", "true", "yes", "y", "t"}
_FALSE = {"0", "false", "no", "n", "f", ""}
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


@dataclass(frozen=True)
class RowError:
    line: int  # 1-based line in the file, the header being line 1
    column: str
    message: str

    def __str__(self) -> str:
        return f"Line {self.line}, {self.column}: {self.message}"


@dataclass
class ImportReport:
    created: int = 0
    updated: int = 0
    errors: list[RowError] = field(default_factory=list)


class CsvImportFailed(DomainError):
    code = "csv_import_failed"
    status_code = 400
    default_message = "The file has errors; nothing was imported."

    def __init__(self, errors: list[RowError]):
        super().__init__(extra={"errors": [str(e) for e in errors]})
        self.errors = errors


def _safe_cell(value) -> str:
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(_FORMULA_START) else text


def export_products_csv(*, products: Iterable[Product], out: io.TextIOBase) -> int:
    """Write ``products`` (already scoped to a shop by the caller) as CSV to ``out``; returns the count."""
    writer = csv.writer(out)
    writer.writerow(COLUMNS)
    count = 0
    for p in products:
        writer.writerow(
            [
                p.pk,
                _safe_cell(p.title),
                _safe_cell(p.description),
                f"{p.price:.2f}",
                p.quantity,
                p.category.slug,
                _safe_cell(", ".join(p.tags)),
                "true" if p.is_vintage else "false",
                "true" if p.is_active else "false",
            ]
        )
        count += 1
    return count


def _unformula(text: str) -> str:
    # Undo our own export escaping so a round trip keeps titles such as "-50% vintage jar".
    return text[1:] if text.startswith("'") and text[1:2] in _FORMULA_START and text[1:2] else text


def _parse_rows(shop, text: str) -> tuple[list[dict], list[RowError]]:
    reader = csv.DictReader(io.StringIO(text))
    headers = [h.strip().lower() for h in (reader.fieldnames or [])]
    missing = REQUIRED - set(headers)
    if missing:
        return [], [RowError(1, ", ".join(sorted(missing)), "missing column")]
    reader.fieldnames = headers
    categories = {}
    for c in Category.objects.only("pk", "slug", "name"):
        categories.setdefault(c.slug.lower(), c)
        categories.setdefault(c.name.lower(), c)
    own_ids = set(Product.objects.filter(shop=shop).values_list("pk", flat=True))
    rows, errors, seen_ids = [], [], set()
    for line, raw in enumerate(reader, start=2):
        if len(rows) + len(errors) >= MAX_ROWS:
            errors.append(RowError(line, "-", f"more than {MAX_ROWS} rows"))
            break
        if None in raw:  # more cells than headers
            errors.append(RowError(line, "-", "more cells than columns"))
            continue
        row = {k: (v or "").strip() for k, v in raw.items() if k}
        if not any(row.values()):
            continue
        before = len(errors)
        item: dict = {"line": line}
        if row.get("id"):
            try:
                pid = int(row["id"])
            except ValueError:
                pid = None
            if pid is None or pid not in own_ids:
                errors.append(RowError(line, "id", "not a listing of your shop"))
            elif pid in seen_ids:
                errors.append(RowError(line, "id", "listed twice in the file"))
            else:
                seen_ids.add(pid)
                item["id"] = pid
        title = _unformula(row.get("title", ""))
        if not title:
            errors.append(RowError(line, "title", "required"))
        elif len(title) > 200:
            errors.append(RowError(line, "title", "longer than 200 characters"))
        elif hidden_characters(title):
            errors.append(RowError(line, "title", "holds an invisible or control character"))
        item["title"] = title
        item["description"] = _unformula(row.get("description", ""))
        try:
            price = Decimal(row.get("price", "").replace("$", "").replace(",", ""))
            if not price.is_finite() or price < 0 or price.as_tuple().exponent < -2 or price >= Decimal("1e8"):
                raise InvalidOperation
            item["price"] = price.quantize(Decimal("0.01"))
        except (InvalidOperation, ValueError):
            errors.append(RowError(line, "price", f"not a valid price: {row.get('price', '')!r}"))
        quantity = row.get("quantity", "") or "1"
        if quantity.isdigit() and int(quantity) <= 1_000_000:
            item["quantity"] = int(quantity)
        else:
            errors.append(RowError(line, "quantity", f"not a whole number ≥ 0: {quantity!r}"))
        category = categories.get(row.get("category", "").lower())
        if category is None:
            errors.append(RowError(line, "category", f"unknown category {row.get('category', '')!r}"))
        item["category"] = category
        try:
            item["tags"] = normalize_tags(_unformula(row.get("tags", "")))
        except InvalidListing as exc:
            errors.append(RowError(line, "tags", exc.message))
        for flag, default in (("is_vintage", "false"), ("is_active", "true")):
            value = (row.get(flag) or default).lower()
            if value in _TRUE:
                item[flag] = True
            elif value in _FALSE:
                item[flag] = False
            else:
                errors.append(RowError(line, flag, f"expected true or false, got {value!r}"))
        if len(errors) == before:
            rows.append(item)
    return rows, errors


def import_products_csv(*, shop, data: bytes) -> ImportReport:
    """Create or update ``shop``'s listings from CSV ``data``, all rows or none.

    Raises CsvImportFailed (with every row error). Sends products_changed after commit.
    """
    if len(data) > MAX_BYTES:
        raise CsvImportFailed([RowError(1, "-", f"the file is larger than {MAX_BYTES // (1024 * 1024)} MB")])
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise CsvImportFailed([RowError(1, "-", "the file is not UTF-8 text")]) from None
    try:
        rows, errors = _parse_rows(shop, text)
    except csv.Error as exc:
        raise CsvImportFailed([RowError(1, "-", f"not a readable CSV file ({exc})")]) from None
    if errors:
        raise CsvImportFailed(errors)
    if not rows:
        raise CsvImportFailed([RowError(1, "-", "the file has no listings")])
    return _write_rows(shop, rows)


@transaction.atomic
def _write_rows(shop, rows: list[dict]) -> ImportReport:
    report = ImportReport()
    fields = ["title", "description", "price", "quantity", "category", "tags", "is_vintage", "is_active"]
    updates = {r["id"]: r for r in rows if "id" in r}
    # Locked through the one helper, in id order, like every other writer of these rows.
    existing = {pk: p for pk, p in lock_products(product_ids=updates).items() if p.shop_id == shop.pk}
    for pid, row in updates.items():
        product = existing[pid]
        for f in fields:
            setattr(product, f, row[f])
        product.slug = slug_for(row["title"])
        product.updated_at = timezone.now()
    if existing:
        Product.objects.bulk_update(list(existing.values()), fields + ["slug", "updated_at"])
        report.updated = len(existing)
    created = Product.objects.bulk_create(
        [Product(shop=shop, slug=slug_for(r["title"]), **{f: r[f] for f in fields}) for r in rows if "id" not in r]
    )
    create_implicit_offerings(product_ids=[p.pk for p in created])
    apply_listing_edits_to_offerings(product_ids=existing)
    report.created = len(created)
    send_products_changed_on_commit(product_ids=[*existing, *(p.pk for p in created)], reason="bulk")
    return report
