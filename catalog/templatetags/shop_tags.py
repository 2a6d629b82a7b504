"""Template helpers of the buyer site: money, images, query strings, personal holes."""

from __future__ import annotations

from decimal import Decimal
from urllib.parse import urlencode

from django import template
from django.templatetags.static import static
from django.utils.html import format_html
from django.utils.safestring import mark_safe

from etsy.images import picture_sources

register = template.Library()

PLACEHOLDER = "img/placeholder.svg"


@register.filter
def money(value) -> str:
    if value is None or value == "":
        return ""
    return f"${Decimal(value):,.2f}"


@register.filter
def listing_price(product) -> str:
    """A listing's price as cards and its page show it: "from $18.00" when its offerings differ in price."""
    price = money(product.price)
    return f"from {price}" if product.has_price_range else price


@register.simple_tag(takes_context=True)
def personal(context, name: str):
    """Render a per-visitor block, or leave a hole in a cached page shell (filled per request)."""
    if context.get("shell_mode"):
        return mark_safe(f"<!--hole:{name}-->")
    tpl = context.template.engine.get_template(f"personal/{name}.html")
    if name == "account_nav" and "cart_count" not in context and "request" in context:
        from catalog.shells import cart_count, unread_count

        request = context["request"]
        with context.push(cart_count=cart_count(request), unread_count=unread_count(request)):
            return tpl.render(context)
    return tpl.render(context)


def _cover(product):
    images = list(product.images.all())  # prefetched by the selectors
    return images[0] if images else None


@register.simple_tag
def product_image(product, size: str = "card", image=None):
    """An <img> with width, height and alt text; a neat placeholder when the listing has no picture."""
    image = image or _cover(product)
    eager = size == "hero"
    loading = "eager" if eager else "lazy"
    if image is not None and image.image:
        stored = image.thumbnail if size != "hero" and image.thumbnail else image.image
        sources = picture_sources(stored)
        width, height = image.width or 600, image.height or 600
        alt = image.alt_text or product.title
        img = format_html(
            '<img src="{}" width="{}" height="{}" alt="{}" loading="{}" decoding="async">',
            sources["src"],
            width,
            height,
            alt,
            loading,
        )
        if not sources["webp"]:
            return img
        # Uploaded pictures have a WebP twin: browsers that accept it take it, others the <img>.
        return format_html('<picture><source srcset="{}" type="image/webp">{}</picture>', sources["webp"], img)
    return format_html(
        '<img src="{}" width="600" height="600" alt="{}" loading="{}" class="placeholder">',
        static(PLACEHOLDER),
        f"{product.title} (no photo yet)",
        loading,
    )


@register.simple_tag(takes_context=True)
def qs(context, **changes) -> str:
    """Return the page's query string with ``changes`` applied (None or "" removes a key); page resets.

    The page's query is ``context["query"]``, built by its view from the filters it parsed, never the
    request's own: a cached page is shared by every request with the same filters, so one visitor's other
    parameters (``?utm_source=…``, a misspelt ``min_price``) must not reach the links everyone is shown.
    """
    params = dict(context["query"])
    if "page" not in changes:
        params.pop("page", None)
    for key, value in changes.items():
        if value is None or value == "":
            params.pop(key, None)
        else:
            params[key] = value
    encoded = urlencode(sorted((k, v) for k, v in params.items() if v != ""))
    return f"?{encoded}" if encoded else "?"


@register.filter
def stars(rating) -> str:
    """Render a rating as text stars (screen readers get the number from the caller's label)."""
    if rating is None:
        return ""
    full = int(round(float(rating)))
    return "★" * full + "☆" * (5 - full)


@register.inclusion_tag("catalog/_category_nav.html")
def category_nav():
    from catalog.selectors import list_categories_tree

    return {"roots": list_categories_tree()}
