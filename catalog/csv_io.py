"""CSV import and export of a shop's listings (for sellers moving from another marketplace).

One row per offering: a listing without variations is one row; a ring in three sizes and two metals is six rows,
each repeating the listing's fields (title, description, category, tags, flags, personalisation, the two property
names) beside its own options, price, quantity, SKU and on/off. The rows of one listing share its ``id`` (an
existing listing) or, for a new listing with variations, follow each other with the same title. The repeated
listing fields must agree, and the rows must cover every combination of the options they name.

Import is all or nothing: every row is validated first and the report lists each bad row
with its line number; only a file without errors is written, in one transaction.
Export neutralises cells that a spreadsheet would run as a formula.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation

from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone

from catalog.models import Category, Offering, Personalization, Product, Variation
from catalog.selectors_seller import with_offerings
from catalog.services import offerings as offering_services
from catalog.services.listings import (
    InvalidListing,
    clean_personalization,
    normalize_tags,
    send_products_changed_on_commit,
    slug_for,
)
from catalog.stock import create_implicit_offerings, lock_products, refresh_listing_totals
from etsy.exceptions import DomainError
from etsy.names import hidden_characters

COLUMNS = [
    "id",
    "title",
    "description",
    "price",
    "quantity",
    "category",
    "tags",
    "is_vintage",
    "is_active",
    "personalization",
    "personalization_prompt",
    "personalization_max_length",
    "variation_1",
    "option_1",
    "variation_2",
    "option_2",
    "sku",
    "enabled",
]
REQUIRED = {"title", "price", "category"}
# The listing's own fields: repeated on each of its rows, and they must agree.
LISTING_FIELDS = [
    "title",
    "description",
    "category",
    "tags",
    "is_vintage",
    "is_active",
    "personalization",
    "personalization_prompt",
    "personalization_max_length",
    "variation_1",
    "variation_2",
]
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


def export_products_csv(*, products: QuerySet[Product], out: io.TextIOBase) -> int:
    """Write ``products`` (already scoped to a shop by the caller) as CSV to ``out``, one row per offering;
    returns the number of listings."""
    writer = csv.writer(out)
    writer.writerow(COLUMNS)
    count = 0
    for p in with_offerings(products):
        names = {v.position: v.name for v in p.variations.all()}
        listing = [
            p.pk,
            _safe_cell(p.title),
            _safe_cell(p.description),
            p.category.slug,
            _safe_cell(", ".join(p.tags)),
            "true" if p.is_vintage else "false",
            "true" if p.is_active else "false",
            p.personalization,
            _safe_cell(p.personalization_prompt),
            p.personalization_max_length,
        ]
        for offering in p.offerings.all():
            writer.writerow(
                [
                    *listing[:3],
                    f"{offering.price:.2f}",
                    offering.quantity,
                    *listing[3:],
                    _safe_cell(names.get(0, "")),
                    _safe_cell(offering.option1.value if offering.option1 else ""),
                    _safe_cell(names.get(1, "")),
                    _safe_cell(offering.option2.value if offering.option2 else ""),
                    _safe_cell(offering.sku),
                    "true" if offering.is_enabled else "false",
                ]
            )
        count += 1
    return count


def _unformula(text: str) -> str:
    # Undo our own export escaping so a round trip keeps titles such as "-50% vintage jar".
    return text[1:] if text.startswith("'") and text[1:2] in _FORMULA_START and text[1:2] else text


def _flag(row: dict, name: str, default: str, line: int, errors: list[RowError]) -> bool | None:
    value = (row.get(name) or default).lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    errors.append(RowError(line, name, f"expected true or false, got {value!r}"))
    return None


def _parse_row(row: dict, line: int, categories: dict, errors: list[RowError]) -> dict:
    """One row's cells, each checked on its own: the listing's fields and its offering's."""
    item: dict = {"line": line}
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
    if quantity.isascii() and quantity.isdigit() and int(quantity) <= offering_services.MAX_QUANTITY:
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
    item["is_vintage"] = _flag(row, "is_vintage", "false", line, errors)
    item["is_active"] = _flag(row, "is_active", "true", line, errors)
    item["enabled"] = _flag(row, "enabled", "true", line, errors)
    try:
        mode, prompt, limit = clean_personalization(
            mode=(row.get("personalization") or Personalization.NONE).lower(),
            prompt=_unformula(row.get("personalization_prompt", "")),
            max_length=row.get("personalization_max_length") or 256,
        )
        item.update(personalization=mode, personalization_prompt=prompt, personalization_max_length=limit)
    except InvalidListing as exc:
        column = next(iter(exc.extra["fields"]))
        errors.append(RowError(line, column, exc.message))
    item["sku"] = _unformula(row.get("sku", ""))
    if len(item["sku"]) > 64:
        errors.append(RowError(line, "sku", "longer than 64 characters"))
    for n in (1, 2):
        item[f"variation_{n}"] = _unformula(" ".join(row.get(f"variation_{n}", "").split()))
        item[f"option_{n}"] = _unformula(" ".join(row.get(f"option_{n}", "").split()))
        if item[f"variation_{n}"] and not item[f"option_{n}"]:
            errors.append(RowError(line, f"option_{n}", f"required with variation_{n}"))
        elif item[f"option_{n}"] and not item[f"variation_{n}"]:
            errors.append(RowError(line, f"variation_{n}", f"required with option_{n}"))
    if item["variation_2"] and not item["variation_1"]:
        errors.append(RowError(line, "variation_1", "fill in variation 1 before variation 2"))
    return item


def _group_listings(items: list[dict]) -> list[list[dict]]:
    """Rows of one listing together: by id, or consecutive rows without id, with variations and one title."""
    groups: list[list[dict]] = []
    by_id: dict[int, list[dict]] = {}
    for item in items:
        if "id" in item:
            if item["id"] not in by_id:
                by_id[item["id"]] = []
                groups.append(by_id[item["id"]])
            by_id[item["id"]].append(item)
            continue
        previous = groups[-1][-1] if groups else None
        if (
            item["variation_1"]
            and previous is not None
            and "id" not in previous
            and previous["variation_1"]
            and previous["title"] == item["title"]
        ):
            groups[-1].append(item)
        else:
            groups.append([item])
    return groups


def _check_listing(rows: list[dict], errors: list[RowError]) -> dict | None:
    """The listing of ``rows``: its fields (agreeing on every row), its properties and its grid."""
    first = rows[0]
    before = len(errors)
    for row in rows[1:]:
        for name in LISTING_FIELDS:
            if row.get(name) != first.get(name):
                errors.append(RowError(row["line"], name, f"differs from line {first['line']} of the same listing"))
    if len(errors) > before:
        return None
    names = [first[f"variation_{n}"] for n in (1, 2) if first[f"variation_{n}"]]
    options: list[list[str]] = [[] for _ in names]
    seen: set[tuple[str, ...]] = set()
    for row in rows:
        values = tuple(row[f"option_{n + 1}"] for n in range(len(names)))
        key = tuple(v.casefold() for v in values)
        if key in seen:
            label = " / ".join(values) or "the listing"
            errors.append(RowError(row["line"], "option_1", f"{label} is given twice for this listing"))
        seen.add(key)
        for index, value in enumerate(values):
            if value.casefold() not in {o.casefold() for o in options[index]}:
                options[index].append(value)
    variations = [offering_services.VariationSpec(name=n, options=o) for n, o in zip(names, options, strict=True)]
    try:
        variations = offering_services.clean_variations(variations)
    except offering_services.InvalidOfferings as exc:
        errors.append(RowError(first["line"], "variation_1", exc.message))
        return None
    expected = 1
    for spec in variations:
        expected *= len(spec.options)
    if len(seen) < expected:
        errors.append(
            RowError(
                first["line"],
                "option_1",
                f"the listing's rows give {len(seen)} of its {expected} combinations of options: add the missing ones",
            )
        )
    if len(errors) > before:
        return None
    grid = [
        offering_services.OfferingSpec(
            options=[row[f"option_{n + 1}"] for n in range(len(names))],
            price=row["price"],
            quantity=row["quantity"],
            sku=row["sku"],
            is_enabled=row["enabled"],
        )
        for row in rows
    ]
    return {**{name: first[name] for name in LISTING_FIELDS}, "line": first["line"], "variations": variations,
            "grid": grid, **({"id": first["id"]} if "id" in first else {})}  # fmt: skip


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
    items, errors = [], []
    for line, raw in enumerate(reader, start=2):
        if len(items) + len(errors) >= MAX_ROWS:
            errors.append(RowError(line, "-", f"more than {MAX_ROWS} rows"))
            break
        if None in raw:  # more cells than headers
            errors.append(RowError(line, "-", "more cells than columns"))
            continue
        row = {k: (v or "").strip() for k, v in raw.items() if k}
        if not any(row.values()):
            continue
        before = len(errors)
        item = _parse_row(row, line, categories, errors)
        if row.get("id"):
            try:
                pid = int(row["id"])
            except ValueError:
                pid = None
            if pid is None or pid not in own_ids:
                errors.append(RowError(line, "id", "not a listing of your shop"))
            else:
                item["id"] = pid
        if len(errors) == before:
            items.append(item)
    # A file without the variation columns says nothing about variations: it may not wipe a listing's grid.
    varied = (
        set()
        if "variation_1" in headers
        else set(Variation.objects.filter(product__shop=shop).values_list("product_id", flat=True))
    )
    listings = []
    for rows in _group_listings(items):
        listing = _check_listing(rows, errors)
        if listing is not None and listing.get("id") in varied:
            errors.append(
                RowError(listing["line"], "variation_1", "this listing has variations: add the variation columns")
            )
        elif listing is not None:
            listings.append(listing)
    errors.sort(key=lambda e: e.line)
    return listings, errors


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
    fields = [f for f in LISTING_FIELDS if not f.startswith("variation_")]  # the variations go to the grid
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
    new_rows = [r for r in rows if "id" not in r]
    created = Product.objects.bulk_create(
        [
            Product(
                shop=shop,
                slug=slug_for(r["title"]),
                price=r["grid"][0].price,
                quantity=r["grid"][0].quantity,
                **{f: r[f] for f in fields},
            )
            for r in new_rows
        ]
    )
    create_implicit_offerings(product_ids=[p.pk for p in created])
    report.created = len(created)
    _write_offerings([(existing[r["id"]], r) for r in updates.values()] + list(zip(created, new_rows, strict=True)))
    send_products_changed_on_commit(product_ids=[*existing, *(p.pk for p in created)], reason="bulk")
    return report


def _write_offerings(pairs: list[tuple[Product, dict]]) -> None:
    """Each listing's grid: plain listings that stay plain in one bulk update, the others through the service."""
    with_variations = set(
        Variation.objects.filter(product_id__in=[p.pk for p, _ in pairs]).values_list("product_id", flat=True)
    )
    plain = {p.pk: r["grid"][0] for p, r in pairs if not r["variations"] and p.pk not in with_variations}
    implicit = list(Offering.objects.filter(product_id__in=list(plain), option1__isnull=True).order_by("pk"))
    for offering in implicit:
        spec = plain[offering.product_id]
        offering.price, offering.quantity, offering.sku, offering.is_enabled = (
            spec.price,
            spec.quantity,
            spec.sku,
            spec.is_enabled,
        )
    Offering.objects.bulk_update(implicit, ["price", "quantity", "sku", "is_enabled"])
    refresh_listing_totals(product_ids=list(plain))
    for product, row in pairs:
        if product.pk not in plain:
            offering_services.replace_offerings(product=product, variations=row["variations"], offerings=row["grid"])
