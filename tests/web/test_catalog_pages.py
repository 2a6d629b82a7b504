import pytest
from django.utils import timezone

from tests.cart.factories import CartItemFactory
from tests.catalog.factories import FavoriteFactory, ProductFactory
from tests.orders.factories import ReviewFactory

pytestmark = pytest.mark.django_db


def test_home_shows_trending_listings_with_images_and_layout(client, catalog):
    response = client.get("/")
    html = response.content.decode()
    assert response.status_code == 200
    assert "Trending now" in html
    assert 'class="skip-link" href="#main"' in html
    assert 'role="search"' in html and 'for="site-search-q"' in html
    assert "Home &amp; Living" in html  # category navigation
    assert 'alt="Photo of Speckled stoneware mug' in html
    assert "<!--hole:" not in html and "__csrf_token_hole__" not in html
    assert "Sign in" in html and "data-cart-count>0<" in html


def test_category_page_lists_subcategory_items_with_filters_sort_and_pagination(client, catalog):
    response = client.get("/c/home-living/?sort=price_desc")
    html = response.content.decode()
    assert response.status_code == 200
    assert "(20 items)" in html
    assert html.index("Speckled stoneware mug 19") < html.index("Speckled stoneware mug 0")
    assert "Page 1 of 1" not in html  # one page: no pagination
    filtered = client.get("/c/home-living/?min=30&max=35").content.decode()
    assert "(5 items)" in filtered and "$30 to $35" in filtered  # the filter chip
    assert "Bird print" not in filtered


def test_category_page_paginates_and_ignores_bad_parameters(client, catalog):
    for i in range(30):
        ProductFactory(shop=catalog["shop_a"], category=catalog["art"], title=f"Extra {i}", slug=f"extra-{i}")
    page2 = client.get("/c/art/?page=2")
    assert page2.status_code == 200 and "Page 2 of 2" in page2.content.decode()
    assert client.get("/c/art/?page=abc&min=x&max=-3&sort=drop table&vintage=maybe").status_code == 200


@pytest.mark.parametrize(
    ("first", "plain"),
    [
        ("/search/?q=mug&utm_source=spam&min_price=NaN&sort=bogus&page=abc", "/search/?q=mug"),
        ("/c/home-living/?utm_source=spam&min_price=NaN&sort=bogus&page=abc", "/c/home-living/"),
        ("/shops/clay-studio/?utm_source=spam&min_price=NaN&sort=bogus", "/shops/clay-studio/"),
    ],
)
def test_a_cached_listing_page_links_carry_only_the_filters_it_parsed(client, catalog, first, plain):
    """The first visitor's other parameters must not reach the shared cached page's links and forms."""
    for path in (first, plain):
        html = client.get(path).content.decode()
        assert "utm_source" not in html and "min_price" not in html and "bogus" not in html and "page=abc" not in html
    chosen = client.get("/search/?q=mug&sort=price_asc&min=10&vintage=0&utm_source=spam").content.decode()
    assert 'href="?min=10&amp;q=mug&amp;sort=price_asc&amp;vintage=1"' in chosen  # a facet keeps the filters
    assert '<input type="hidden" name="min" value="10">' in chosen and "utm_source" not in chosen


def test_unknown_category_is_404(client, catalog):
    assert client.get("/c/nope/").status_code == 404


def test_product_page_shows_gallery_price_shop_card_and_only_one_left(client, catalog):
    product = catalog["products"][1]
    html = client.get(product.get_absolute_url()).content.decode()
    assert product.title in html
    assert "$21.00" in html
    assert "Only 1 left" in html
    assert "Clay Studio" in html and "12 items sold" in html
    assert 'width="320" height="320"' in html  # real image dimensions
    assert f'action="/cart/add/{product.pk}/"' in html
    assert "You may also like" in html


def test_product_page_redirects_to_canonical_slug_and_404s_for_missing(client, catalog):
    product = catalog["products"][0]
    response = client.get(f"/listing/{product.pk}/wrong-slug/")
    assert response.status_code == 301 and response["Location"] == product.get_absolute_url()
    assert client.get("/listing/999999/x/").status_code == 404


def test_sold_listing_stays_reachable_and_points_to_the_makers_similar_pieces_first(client, catalog):
    sold = catalog["products"][1]  # Clay Studio
    sold.quantity = 0
    sold.save()
    html = client.get(sold.get_absolute_url()).content.decode()
    assert "Sold out" in html
    assert "Similar pieces, first from Clay Studio" in html
    similar = html.split('id="similar-title"')[1]
    first_card_shop = similar.split('class="card-shop">')[1].split("<")[0].strip()
    assert first_card_shop == "Clay Studio"
    assert "Add to cart" not in html


def test_product_page_says_another_buyer_holds_it(client, catalog, other_buyer):
    product = catalog["products"][2]
    CartItemFactory(user=other_buyer, product=product, reserved_until=timezone.now() + timezone.timedelta(minutes=12))
    html = client.get(product.get_absolute_url()).content.decode()
    assert "Another buyer has this in their cart right now" in html
    assert "Add to cart" not in html


def test_product_page_shows_the_buyers_own_hold_with_a_countdown(client, catalog, buyer):
    product = catalog["products"][2]
    CartItemFactory(user=buyer, product=product, reserved_until=timezone.now() + timezone.timedelta(minutes=12))
    client.force_login(buyer)
    html = client.get(product.get_absolute_url()).content.decode()
    assert "held for you for" in html and "data-countdown" in html


def test_product_page_shows_shop_reviews(client, catalog):
    product = catalog["products"][1]
    ReviewFactory(order__shop=catalog["shop_a"], shop=catalog["shop_a"], comment="Gorgeous glaze, fast shipping.")
    html = client.get(product.get_absolute_url()).content.decode()
    assert "Gorgeous glaze, fast shipping." in html


def test_shop_page_shows_listings_reviews_and_favorite_button(client, catalog, buyer):
    client.force_login(buyer)
    html = client.get("/shops/clay-studio/").content.decode()
    assert "Clay Studio" in html and "(10)" in html
    assert "Favorite this shop" in html
    assert client.get("/shops/nope/").status_code == 404


def test_favorite_toggle_requires_login_and_round_trips(client, catalog, buyer):
    product = catalog["products"][0]
    response = client.post(f"/favorites/listing/{product.pk}/")
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]
    client.force_login(buyer)
    client.post(f"/favorites/listing/{product.pk}/", {"action": "add"})
    product.refresh_from_db()
    assert product.favorite_count == 1
    page = client.get("/favorites/").content.decode()
    assert product.title in page
    html = client.get(product.get_absolute_url()).content.decode()
    assert "In your favorites" in html
    client.post(f"/favorites/listing/{product.pk}/", {"action": "remove"})
    assert product.title not in client.get("/favorites/").content.decode()
    assert client.post("/favorites/listing/999999/").status_code == 404
    assert client.get(f"/favorites/listing/{product.pk}/").status_code == 405


def test_favorite_toggle_with_htmx_returns_the_button(client, catalog, buyer):
    product = catalog["products"][0]
    client.force_login(buyer)
    response = client.post(f"/favorites/listing/{product.pk}/", {"action": "add"}, HTTP_HX_REQUEST="true")
    assert response.status_code == 200
    assert 'aria-pressed="true"' in response.content.decode()


def test_favorite_shop(client, catalog, buyer):
    client.force_login(buyer)
    client.post(f"/favorites/shop/{catalog['shop_a'].pk}/", {"action": "add"})
    assert "Clay Studio" in client.get("/favorites/").content.decode()
    assert "Favorite shop" in client.get("/shops/clay-studio/").content.decode()


def test_media_view_serves_product_images_with_immutable_cache_headers(client, catalog):
    image = catalog["products"][0].images.first()
    response = client.get(image.image.url)
    assert response.status_code == 200
    assert response["Cache-Control"] == "public, max-age=2592000, immutable"
    assert response["Content-Type"] == "image/jpeg"
    assert client.get("/media/../etc/passwd").status_code == 404
    assert client.get("/media/products/none.jpg").status_code == 404


def test_media_view_serves_a_compressed_file_as_itself_not_as_an_encoding(client, db, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    (tmp_path / "shops").mkdir()
    (tmp_path / "shops" / "notes.txt.gz").write_bytes(b"\x1f\x8b not unpacked by the browser")
    response = client.get("/media/shops/notes.txt.gz")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/gzip"
    assert not response.has_header("Content-Encoding")


def test_bare_view_is_off_unless_enabled(client, db):
    assert client.get("/bench/bare").status_code == 404


@pytest.mark.parametrize("path", ["/", "/c/home-living/", "/search/?q=mug", "/shops/clay-studio/", "product"])
def test_a_shell_built_for_a_signed_in_buyer_leaks_nothing_to_the_next_visitor(client, catalog, buyer, path):
    from django.test import Client

    product = catalog["products"][0]
    url = product.get_absolute_url() if path == "product" else path
    signed_in = Client()
    signed_in.force_login(buyer)
    FavoriteFactory(user=buyer, product=product)
    mine = signed_in.get(url).content.decode()  # builds and caches the shell
    assert "Sign out" in mine
    html = client.get(url).content.decode()
    assert "Sign out" not in html and "Sign in" in html
    assert "In your favorites" not in html
    assert buyer.email not in html and str(buyer.display_name) not in html
    their_token = mine.split('name="csrfmiddlewaretoken" value="')[1].split('"')[0]
    assert their_token not in html


def test_buy_box_and_account_links_rendered_once_per_state_still_answer_each_buyer(catalog, buyer, other_buyer, seller):
    """The buy box and header links are kept rendered per stock / favorite / cart state (not per buyer):
    each buyer still sees their own favorite flag, cart count, seller link and their own CSRF token."""
    from django.middleware.csrf import _unmask_cipher_token
    from django.test import Client

    from tests.cart.factories import CartItemFactory

    product = catalog["products"][2]
    FavoriteFactory(user=buyer, product=product)
    CartItemFactory(user=other_buyer, product=catalog["products"][25], quantity=2)
    pages = {}
    for who in (buyer, other_buyer, seller, buyer):
        browser = Client()
        browser.force_login(who)
        html = browser.get(product.get_absolute_url()).content.decode()
        tokens = [v.split('"')[0] for v in html.split('name="csrfmiddlewaretoken" value="')[1:]]
        assert len(tokens) >= 3 and "hole" not in html  # cart, favorite and sign-out forms: every marker filled
        secret = browser.cookies["csrftoken"].value
        assert all(_unmask_cipher_token(t) == secret for t in tokens)  # this browser's own token
        pages[who.email] = html
    assert "In your favorites" in pages[buyer.email]
    assert "In your favorites" not in pages[other_buyer.email] and "Add to favorites" in pages[other_buyer.email]
    assert "data-cart-count>2<" in pages[other_buyer.email] and "data-cart-count>0<" in pages[buyer.email]
    assert '<a href="/sell/">Sell</a>' in pages[seller.email] and '<a href="/sell/">Sell</a>' not in pages[buyer.email]
