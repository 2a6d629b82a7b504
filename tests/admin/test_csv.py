"""CSV import/export of listings through the admin: all or nothing, row-level errors, own shop only."""

import csv
import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from catalog import csv_io
from catalog.models import Product

pytestmark = pytest.mark.django_db

HEADER = "title,description,price,quantity,category,tags,is_vintage\n"


def _upload(seller, text: str, name="listings.csv"):
    return seller.client.post(
        reverse("admin:catalog_product_import_csv"), {"file": SimpleUploadedFile(name, text.encode())}
    )


def test_import_creates_every_row(seller_a, category, django_capture_on_commit_callbacks):
    text = HEADER + (
        'Linen apron,"Natural, washed",38.00,3,kitchen,"linen, apron",false\n'
        "Brass candle holder,,19.5,1,Kitchen,brass,true\n"
    )
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        response = _upload(seller_a, text)
    assert response.status_code == 302
    apron = Product.objects.get(title="Linen apron")
    assert apron.shop == seller_a.shop and apron.quantity == 3 and apron.tags == ["linen", "apron"]
    assert str(apron.price) == "38.00"
    assert Product.objects.get(title="Brass candle holder").is_vintage is True
    assert callbacks  # products_changed after commit


def test_import_with_one_bad_row_imports_nothing_and_reports_the_row(seller_a, category):
    before = Product.objects.count()
    text = HEADER + (
        "Linen apron,,38.00,3,kitchen,linen,false\n"
        "Broken row,,-4,1,kitchen,,false\n"
        "Another good row,,12.00,1,kitchen,,false\n"
    )
    response = _upload(seller_a, text)
    assert response.status_code == 400
    body = response.content.decode()
    assert "Nothing was imported" in body
    assert "Line 3, price" in body
    assert Product.objects.count() == before


@pytest.mark.parametrize(
    "row,column",
    [
        (",,10,1,kitchen,,false", "title"),
        ("Mug,,abc,1,kitchen,,false", "price"),
        ("Mug,,10.001,1,kitchen,,false", "price"),
        ("Mug,,10,-1,kitchen,,false", "quantity"),
        ("Mug,,10,1,no-such-category,,false", "category"),
        ("Mug,,10,1,kitchen,,maybe", "is_vintage"),
    ],
)
def test_each_invalid_cell_is_reported(seller_a, category, row, column):
    with pytest.raises(csv_io.CsvImportFailed) as exc:
        csv_io.import_products_csv(shop=seller_a.shop, data=(HEADER + row + "\n").encode())
    assert [(e.line, e.column) for e in exc.value.errors] == [(2, column)]


def test_import_refuses_updating_another_shops_listing(seller_a, seller_b, category):
    text = f"id,title,price,category\n{seller_b.product.pk},Hijacked,1.00,kitchen\n"
    response = _upload(seller_a, text)
    assert response.status_code == 400
    assert "not a listing of your shop" in response.content.decode()
    seller_b.product.refresh_from_db()
    assert seller_b.product.title == "Bob Woodworks teapot"


def test_export_then_import_round_trips_and_updates(seller_a, category):
    Product.objects.filter(pk=seller_a.product.pk).update(title="=HYPERLINK(evil)")
    body = seller_a.client.get(reverse("admin:catalog_product_export_csv")).content.decode()
    rows = list(csv.DictReader(io.StringIO(body)))
    assert rows[0]["title"] == "'=HYPERLINK(evil)"  # a spreadsheet shows text, never runs it
    rows[0]["price"] = "99.00"
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=csv_io.COLUMNS)
    writer.writeheader()
    writer.writerows(rows)
    report = csv_io.import_products_csv(shop=seller_a.shop, data=out.getvalue().encode())
    assert (report.created, report.updated) == (0, 1)
    seller_a.product.refresh_from_db()
    assert str(seller_a.product.price) == "99.00" and seller_a.product.title == "=HYPERLINK(evil)"


@pytest.mark.parametrize(
    "data,message",
    [
        (b"\xff\xfe\x00bad", "UTF-8"),
        (b"name,colour\nx,y\n", "missing column"),
        (b"title,price,category\n", "no listings"),
    ],
)
def test_unreadable_files_are_refused(seller_a, data, message):
    with pytest.raises(csv_io.CsvImportFailed) as exc:
        csv_io.import_products_csv(shop=seller_a.shop, data=data)
    assert message in str(exc.value.errors[0])


def test_superuser_without_a_shop_cannot_import(superuser_client):
    response = superuser_client.get(reverse("admin:catalog_product_import_csv"))
    assert response.status_code == 403


def test_a_database_error_mid_import_rolls_back_every_row(seller_a, category, monkeypatch):
    from django.db import IntegrityError

    text = f"id,title,price,category\n{seller_a.product.pk},Updated title,5.00,kitchen\n,Brand new,6.00,kitchen\n"

    def failing_bulk_create(*args, **kwargs):
        raise IntegrityError("simulated failure after the updates were written")

    monkeypatch.setattr(Product.objects, "bulk_create", failing_bulk_create)
    with pytest.raises(IntegrityError):
        csv_io.import_products_csv(shop=seller_a.shop, data=text.encode())
    seller_a.product.refresh_from_db()
    assert seller_a.product.title == "Alice Ceramics teapot"
    assert not Product.objects.filter(title="Brand new").exists()


# --- one row per offering -----------------------------------------------------------------------

VARIED_HEADER = "id,title,price,quantity,category,variation_1,option_1,variation_2,option_2,sku,enabled\n"


def _import(seller, text: str):
    return csv_io.import_products_csv(shop=seller.shop, data=text.encode())


def _offerings(product):
    from catalog.models import Offering

    return list(
        Offering.objects.filter(product=product)
        .order_by("option1__position", "option2__position")
        .values_list("option1__value", "option2__value", "price", "quantity", "sku", "is_enabled")
    )


def test_import_creates_a_listing_with_two_properties_from_its_rows(seller_a, category):
    from decimal import Decimal

    text = VARIED_HEADER + (
        ",Stacking ring,40.00,2,kitchen,Size,6,Metal,Silver,R6S,true\n"
        ",Stacking ring,80.00,1,kitchen,Size,6,Metal,Gold,R6G,true\n"
        ",Stacking ring,40.00,0,kitchen,Size,7,Metal,Silver,R7S,true\n"
        ",Stacking ring,80.00,3,kitchen,Size,7,Metal,Gold,R7G,false\n"
        ",Stacking ring,12.00,1,kitchen,,,,,,\n"  # no variations: a second, plain listing of the same title
    )
    report = _import(seller_a, text)
    assert (report.created, report.updated) == (2, 0)
    ring, plain = Product.objects.filter(title="Stacking ring").order_by("pk")
    assert _offerings(ring) == [
        ("6", "Silver", Decimal("40.00"), 2, "R6S", True),
        ("6", "Gold", Decimal("80.00"), 1, "R6G", True),
        ("7", "Silver", Decimal("40.00"), 0, "R7S", True),
        ("7", "Gold", Decimal("80.00"), 3, "R7G", False),
    ]
    assert (ring.price, ring.quantity) == (Decimal("40.00"), 3)
    assert _offerings(plain) == [(None, None, Decimal("12.00"), 1, "", True)]


def test_export_then_import_round_trips_offerings_and_personalisation(seller_a, category):
    from catalog.services import listings
    from catalog.services.offerings import OfferingSpec, VariationSpec, replace_offerings

    product = seller_a.product
    replace_offerings(
        product=product,
        variations=[VariationSpec("Glaze", ["Blue", "Ash"])],
        offerings=[OfferingSpec(["Blue"], "30.00", 2, sku="TP-B"), OfferingSpec(["Ash"], "32.00", 0, sku="TP-A")],
    )
    listings.set_personalization(product=product, mode="optional", prompt="A name for the lid", max_length=12)
    exported = seller_a.client.get(reverse("admin:catalog_product_export_csv")).content.decode()
    rows = list(csv.DictReader(io.StringIO(exported)))
    assert [(r["id"], r["variation_1"], r["option_1"], r["price"], r["sku"]) for r in rows] == [
        (str(product.pk), "Glaze", "Blue", "30.00", "TP-B"),
        (str(product.pk), "Glaze", "Ash", "32.00", "TP-A"),
    ]
    before = _offerings(product)
    report = _import(seller_a, exported)  # unchanged file: same listing, same offerings
    assert (report.created, report.updated) == (0, 1)
    assert _offerings(product) == before
    product.refresh_from_db()
    assert (product.personalization, product.personalization_prompt, product.personalization_max_length) == (
        "optional",
        "A name for the lid",
        12,
    )
    # Edit the spreadsheet: a third glaze, a new price.
    rows[0]["price"] = "29.50"
    rows.append({**rows[1], "option_1": "Moss", "quantity": "5", "sku": "TP-M"})
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=csv_io.COLUMNS)
    writer.writeheader()
    writer.writerows(rows)
    _import(seller_a, out.getvalue())
    assert [(o[0], str(o[2]), o[3], o[4]) for o in _offerings(product)] == [
        ("Blue", "29.50", 2, "TP-B"),
        ("Ash", "32.00", 0, "TP-A"),
        ("Moss", "32.00", 5, "TP-M"),
    ]


@pytest.mark.parametrize(
    ("rows", "expected"),
    [
        (  # the listing's own fields disagree between its rows
            "{pk},Ring,40.00,1,kitchen,Size,6,,,,\n{pk},Ring (new),40.00,1,kitchen,Size,7,,,,\n",
            [(3, "title", "differs from line 2 of the same listing")],
        ),
        (
            "{pk},Ring,40.00,1,kitchen,Size,6,,,,\n{pk},Ring,40.00,1,kitchen,Metal,7,,,,\n",
            [(3, "variation_1", "differs from line 2 of the same listing")],
        ),
        (  # 3 rows of 4 combinations
            ",Ring,1,1,kitchen,Size,6,Metal,Silver,,\n,Ring,1,1,kitchen,Size,6,Metal,Gold,,\n"
            ",Ring,1,1,kitchen,Size,7,Metal,Silver,,\n",
            [(2, "option_1", "give 3 of its 4 combinations")],
        ),
        (
            ",Ring,1,1,kitchen,Size,6,,,,\n,Ring,1,1,kitchen,Size,6,,,,\n",
            [(3, "option_1", "6 is given twice")],
        ),
        ("{pk},Ring,1,1,kitchen,,,,,,\n{pk},Ring,1,2,kitchen,,,,,,\n", [(3, "option_1", "given twice")]),
        (",Ring,1,1,kitchen,,6,,,,\n", [(2, "variation_1", "required with option_1")]),
        (",Ring,1,1,kitchen,Size,,,,,\n", [(2, "option_1", "required with variation_1")]),
        (",Ring,1,1,kitchen,,,Size,6,,\n", [(2, "variation_1", "fill in variation 1")]),
        (",Ring,1,1,kitchen,Size,6,size,7,,\n", [(2, "variation_1", "Two properties are called")]),
        (",Ring,1,1,kitchen,Size,6,,,,maybe\n", [(2, "enabled", "expected true or false")]),
        (",Ring,1,1,kitchen,Size,6,,,{long},\n", [(2, "sku", "longer than 64")]),
    ],
)
def test_import_refuses_inconsistent_offering_rows_with_their_line(seller_a, category, rows, expected):
    pk = seller_a.product.pk
    before = _offerings(seller_a.product)
    count = Product.objects.count()
    with pytest.raises(csv_io.CsvImportFailed) as exc:
        _import(seller_a, VARIED_HEADER + rows.format(pk=pk, long="x" * 65))
    got = [(e.line, e.column) for e in exc.value.errors]
    assert got == [(line, column) for line, column, _ in expected]
    for error, (_, _, message) in zip(exc.value.errors, expected, strict=True):
        assert message in error.message
    assert Product.objects.count() == count and _offerings(seller_a.product) == before


def test_import_refuses_a_required_personalisation_without_prompt(seller_a, category):
    text = "title,price,category,personalization,personalization_prompt\nRing,1,kitchen,required,\n"
    with pytest.raises(csv_io.CsvImportFailed) as exc:
        _import(seller_a, text)
    assert [(e.line, e.column) for e in exc.value.errors] == [(2, "personalization_prompt")]


def test_import_through_the_admin_reports_a_disagreeing_row(seller_a, category):
    pk = seller_a.product.pk
    text = VARIED_HEADER + f"{pk},Teapot,1,1,kitchen,Size,S,,,,\n{pk},Teapot,1,1,nowhere-else,Size,M,,,,\n"
    response = _upload(seller_a, text)
    assert response.status_code == 400
    assert "Line 3, category: unknown category" in response.content.decode()


def test_a_file_without_variation_columns_cannot_wipe_a_listings_variations(seller_a, category):
    from catalog.services.offerings import VariationSpec, set_variations

    set_variations(product=seller_a.product, variations=[VariationSpec("Glaze", ["Blue", "Ash"])])
    before = _offerings(seller_a.product)
    with pytest.raises(csv_io.CsvImportFailed) as exc:
        _import(seller_a, f"id,title,price,category\n{seller_a.product.pk},Teapot,5.00,kitchen\n")
    assert [(e.line, e.column) for e in exc.value.errors] == [(2, "variation_1")]
    assert _offerings(seller_a.product) == before
    # With the columns, empty cells are the seller's word: the listing goes back to one offering.
    _import(seller_a, VARIED_HEADER + f"{seller_a.product.pk},Teapot,5.00,3,kitchen,,,,,,\n")
    assert [(o[0], str(o[2]), o[3]) for o in _offerings(seller_a.product)] == [(None, "5.00", 3)]
