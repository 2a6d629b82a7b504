"""The storefront pages bench_web requests: the URL sets of each page kind (many distinct URLs: products,
categories with sorts and pages, searches), a signed-in buyer with a 3-line cart, and the warm-up that requests
each URL once (the steady state of a shop: its pages are cached).
"""

from __future__ import annotations

import http.client
import secrets
import threading
import urllib.parse


def url_sets(db_url: str, seed_products: int) -> dict[str, list[str]]:
    import psycopg

    with psycopg.connect(db_url) as conn:
        products = conn.execute(
            "SELECT p.id, p.slug FROM catalog_product p JOIN shops_shop s ON s.id = p.shop_id "
            "WHERE p.is_active AND s.is_active AND p.quantity > 0 ORDER BY md5(p.id::text) LIMIT %s",
            [seed_products],
        ).fetchall()
        categories = [r[0] for r in conn.execute("SELECT slug FROM catalog_category ORDER BY id")]
        tags = [
            r[0]
            for r in conn.execute(
                "SELECT t FROM (SELECT unnest(tags) AS t FROM catalog_product LIMIT 50000) x "
                "GROUP BY t ORDER BY count(*) DESC LIMIT 40"
            )
        ]
    searches = [f"/search/?q={urllib.parse.quote(t)}" for t in tags[:30]]
    searches += [f"/search/?q={urllib.parse.quote(a + ' ' + b)}" for a, b in zip(tags[:10], tags[10:20], strict=False)]
    return {
        "bare": ["/bench/bare"],
        "home": ["/"],
        "category": [
            f"/c/{c}/?sort={s}&page={p}" for c in categories for s in ("newest", "price_asc") for p in (1, 2, 3)
        ],
        "search": searches,
        "product": [f"/listing/{pid}/{slug}/" for pid, slug in products],
        "cart": ["/cart/"],
    }


class Browser:
    """Just enough of a browser for sign-up and add-to-cart (cookies, CSRF)."""

    def __init__(self, port: int):
        self.port = port
        self.cookies: dict[str, str] = {}

    def request(self, method: str, path: str, form: dict | None = None) -> tuple[int, str]:
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        headers = {"Cookie": "; ".join(f"{k}={v}" for k, v in self.cookies.items())}
        body = None
        if form is not None:
            form = {**form, "csrfmiddlewaretoken": self.cookies.get("csrftoken", "")}
            body = urllib.parse.urlencode(form)
            headers["Content-Type"] = "application/x-www-form-urlencoded"
            headers["X-CSRFToken"] = self.cookies.get("csrftoken", "")
        conn.request(method, path, body=body, headers=headers)
        response = conn.getresponse()
        for name, value in response.getheaders():
            if name.lower() == "set-cookie":
                k, _, rest = value.partition("=")
                self.cookies[k.strip()] = rest.split(";", 1)[0]
        text = response.read().decode("utf-8", "replace")
        conn.close()
        return response.status, text

    @property
    def cookie_header(self) -> str:
        return "; ".join(f"{k}={v}" for k, v in self.cookies.items() if k in ("sessionid", "csrftoken"))


def signed_in_buyer(port: int, product_paths: list[str], db_url: str) -> Browser:
    import psycopg

    b = Browser(port)
    b.request("GET", "/accounts/signup/")
    email = f"bench-{secrets.token_hex(4)}@example.com"
    password = "bench-Pass-2024!"
    status, _ = b.request("POST", "/accounts/signup/", {"email": email, "password": password, "display_name": "Bench"})
    if status != 302:
        raise SystemExit(f"could not sign up a bench buyer (HTTP {status})")
    # Sign-up emails a confirmation link; the bench confirms the account the way that link would.
    with psycopg.connect(db_url, autocommit=True) as db:
        db.execute("UPDATE accounts_user SET is_active = true, is_signup_pending = false WHERE email = %s", [email])
    b.request("GET", "/accounts/login/")
    status, _ = b.request("POST", "/accounts/login/", {"username": email, "password": password})
    if status != 302 or "sessionid" not in b.cookies:
        raise SystemExit(f"could not sign in the bench buyer (HTTP {status})")
    # The add redirects whether or not it took the item (one held by an earlier run's buyer is refused
    # with a message), so the cart page is what counts: three lines, else the cart figure means nothing.
    lines = 0
    for path in product_paths[:40]:
        pid = int(path.split("/")[2])
        b.request("POST", f"/cart/add/{pid}/", {"quantity": "1"})
        _, body = b.request("GET", "/cart/")
        lines = body.count('class="cart-line')
        if lines >= 3:
            break
    if lines < 3:
        raise SystemExit(f"the bench buyer's cart holds {lines} lines, not 3")
    return b


def warm_every_url(port: int, paths: list[str], cookie: str) -> None:
    """Request each distinct URL once, four at a time (the steady state of a shop: its pages are cached)."""
    todo = list(paths)
    lock = threading.Lock()

    def worker():
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        while True:
            with lock:
                if not todo:
                    break
                path = todo.pop()
            conn.request("GET", path, headers={"Cookie": cookie} if cookie else {})
            conn.getresponse().read()
        conn.close()

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=600)
