"""A seller, in a real browser, signs in to the admin, lists a piece with a photo and finds it on the site."""

import re

import pytest

from catalog.models import Product
from shops.services import open_shop
from tests.accounts.factories import UserFactory
from tests.admin.conftest import PASSWORD
from tests.admin.images import jpeg_bytes
from tests.catalog.factories import CategoryFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_seller_creates_a_listing_with_a_photo_and_sees_it_on_the_site(live_server, chromium, tmp_path, settings):
    settings.MEDIA_ROOT = tmp_path / "media"
    CategoryFactory(name="Ceramics", slug="ceramics")
    seller = UserFactory(email="maker@example.com")
    open_shop(owner=seller, name="Kiln & Co")
    other = UserFactory(email="rival@example.com")
    open_shop(owner=other, name="Rival Pottery")
    photo = tmp_path / "bowl.jpg"
    photo.write_bytes(jpeg_bytes((1200, 900)))

    context = chromium.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.set_default_timeout(15000)
    try:
        page.goto(live_server.url + "/admin/")
        page.fill("#id_username", "maker@example.com")
        page.fill("#id_password", PASSWORD)
        page.click("input[type=submit]")
        page.wait_for_url(re.compile(r"/admin/$"))
        assert "Sales of Kiln &amp; Co" in page.content()
        assert page.locator("svg.sales-chart").count() == 3
        assert "Rival Pottery" not in page.content()

        page.goto(live_server.url + "/admin/catalog/product/add/")
        page.fill("#id_title", "Speckled stoneware bowl")
        page.fill("#id_description", "Thrown on the wheel, glazed in oatmeal.")
        page.fill("#id_price", "42.00")
        page.fill("#id_quantity", "1")
        page.fill("#id_tags", "bowl,stoneware")
        # the category is an autocomplete (select2 over the admin's scoped autocomplete endpoint)
        # select2 asks once on opening and again, debounced, for the typed term: wait for that answer,
        # or the click can land on the first list as select2 replaces it and nothing is chosen
        page.locator(".field-category .select2-selection").click()
        with page.expect_response(
            lambda response: "/admin/autocomplete/" in response.url and "term=Cera" in response.url
        ):
            page.locator(".select2-search__field").fill("Cera")
        page.locator(".select2-results__option", has_text="Ceramics").click()
        page.wait_for_function("document.querySelector('#id_category').value !== ''")
        page.set_input_files("#id_images-0-image", str(photo))
        page.fill("#id_images-0-alt_text", "The bowl from above")
        with page.expect_navigation():
            page.click("input[name=_save]")
        errors = page.locator(".errornote, .errorlist").all_inner_texts()
        assert not errors, errors  # a form error says which field, not a timeout
        page.wait_for_url(re.compile(r"/admin/catalog/product/$"))
        assert "Speckled stoneware bowl" in page.content()

        product = Product.objects.get(title="Speckled stoneware bowl")
        assert product.shop.name == "Kiln & Co" and product.images.count() == 1

        page.goto(live_server.url + product.get_absolute_url())
        assert page.locator("h1").first.inner_text().strip() == "Speckled stoneware bowl"
        image = page.locator("img[alt='The bowl from above']").first
        image.wait_for()
        assert page.evaluate("(img) => img.complete && img.naturalWidth > 0", image.element_handle())
    finally:
        context.close()
