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
