"""The product page's buy box: the buyer's choice of options and text, what its selects and lines say, refusals.

Rendered per request into the cached page shell (``catalog.views.product``), or once per stock state when
nothing in it is the visitor's own; after an add to cart htmx swaps it alone (``render_buy_box``).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from functools import lru_cache, partial

from django.http import HttpRequest
from django.template.loader import render_to_string

from catalog import extensions, selectors
from catalog.exceptions import OfferingNotFound, OfferingUnavailable, PersonalizationError
from catalog.models import PERSONALIZATION_LIMIT
from catalog.shells import cart_count, favorite_ids_of, has_session, render_personal, signed_in_user_id
from catalog.templatetags.shop_tags import money
from etsy import cache
from etsy.exceptions import DomainError


@dataclass(frozen=True)
class BuyerChoice:
    """What the buyer put in the buy box (options, personalisation text, quantity), kept when refused."""

    option_ids: tuple[int, ...] = ()
    personalization: str = ""
    quantity: int = 1

    @classmethod
    def from_data(cls, data) -> BuyerChoice:
        """Read the add-to-cart form's fields (or a page link's ``?options=``); bad values are dropped."""
        option_ids = []
        for raw in data.getlist("options"):
            try:
                option_ids.append(int(raw))
            except (TypeError, ValueError):
                continue
        try:
            quantity = max(1, min(int(data.get("quantity", 1)), 999))
        except (TypeError, ValueError):
            quantity = 1
        # Kept as typed (a refused form shows it again); the cart's rule checks its length.
        text = str(data.get("personalization", ""))[: PERSONALIZATION_LIMIT + 1]
        return cls(option_ids=tuple(option_ids), personalization=text, quantity=quantity)


def buy_box_errors(exc: DomainError) -> dict[str, str]:
    """Where the buy box shows a refusal: beside the selects, the personalisation box, or above the button."""
    if isinstance(exc, OfferingNotFound | OfferingUnavailable):
        return {"choice_error": exc.message}
    if isinstance(exc, PersonalizationError):
        return {"personalization_error": exc.message}
    return {"error": exc.message}


def buy_box(
    request: HttpRequest,
    product,
    inventory,
    favorite_ids,
    *,
    notice: str = "",
    error: str = "",
    choice: BuyerChoice | None = None,
    choice_error: str = "",
    personalization_error: str = "",
) -> str:
    user_id = signed_in_user_id(request)
    product = replace(product, choices=product.choices.with_live_stock(inventory))
    # A listing's own hold is its one piece's; with variations holds are per offering, said on the choice's line.
    plain = not product.choices.has_variations
    reserved_for_other = plain and inventory.is_reserved_for_other(user_id)
    held_by_me = plain and inventory.is_held_by(user_id)
    # A guest's one-of-a-kind piece is not held: their session's cart says it is theirs to check out.
    in_guest_cart = (
        user_id is None
        and plain
        and inventory.is_unique
        and has_session(request)
        and extensions.is_in_guest_cart(session=request.session, product_id=product.pk)
    )
    is_favorite = product.pk in favorite_ids.product_ids
    personal = held_by_me or in_guest_cart or notice or error or choice_error or personalization_error
    if not personal and choice is None:
        # Without the buyer's own hold (a ticking countdown) or their refused choice the box depends only on
        # the listing (its choices), the stock and the favorite flag: rendered once per state, the CSRF token
        # filled later.
        return _stock_buy_box(product, inventory.quantity, reserved_for_other, inventory.reserved_until, is_favorite)
    return render_personal(
        request,
        "buy_box",
        {
            "product": product,
            "inventory": inventory,
            "reserved_for_other": reserved_for_other,
            "held_by_me": held_by_me,
            "in_guest_cart": in_guest_cart,
            "is_favorite": is_favorite,
            "notice": notice,
            "error": error,
            **choice_context(
                product.choices,
                choice,
                choice_error=choice_error,
                error=error,
                held_for_other=held_for_other(inventory, user_id),
            ),
            "personalization_error": personalization_error,
        },
    )


def held_for_other(inventory, user_id: int | None):
    """Whether an offering's one piece is in another buyer's cart right now (its live hold)."""

    def held(offering_id: int) -> bool:
        stock = inventory.get_offering(offering_id)
        return stock is not None and stock.is_reserved_for_other(user_id)

    return held


def choice_context(
    choices: selectors.ListingChoices,
    choice: BuyerChoice | None,
    *,
    choice_error: str = "",
    error: str = "",
    held_for_other=lambda offering_id: False,
) -> dict:
    """What the buy box and its price-and-stock line show for the buyer's choice (None: nothing chosen yet).

    A combination the page knows cannot be bought is said beside the selects, in the page's words, and
    stands for a stock refusal of the add (``error``) rather than repeating it above the button.
    """
    choice = choice or BuyerChoice()
    state, offering = choices.find(choice.option_ids) if choices.has_variations else (None, None)
    if state == selectors.ChoiceState.AVAILABLE and held_for_other(offering.pk):
        state = selectors.ChoiceState.RESERVED
    if choice.option_ids and state in selectors.CHOICE_MESSAGES:
        choice_error = choice_error or selectors.CHOICE_MESSAGES[state]
        error = ""
    chosen = choices.chosen(choice.option_ids)
    return {
        "choices": choices,
        "choice": choice,
        "selects": [
            {
                "property": prop,
                "options": [
                    {"pk": option.pk, "label": _option_label(choices, option), "selected": option.pk == picked}
                    for option in prop.options
                ],
            }
            for prop, picked in zip(choices.properties, chosen, strict=True)
        ],
        "choice_state": state,
        "offering": offering if state == selectors.ChoiceState.AVAILABLE else None,
        "choice_error": choice_error,
        "error": error,
    }


def _option_label(choices: selectors.ListingChoices, option: selectors.OptionChoice) -> str:
    """An option as its select shows it; with one property the option is the offering, so say its price and stock."""
    if len(choices.properties) != 1:
        return option.value
    state, offering = choices.find((option.pk,))
    if state == selectors.ChoiceState.AVAILABLE:
        has_range = len({o.price for o in choices.offerings if o.is_enabled}) > 1
        return f"{option.value} ({money(offering.price)})" if has_range else option.value
    return f"{option.value} (sold out)" if state == selectors.ChoiceState.SOLD_OUT else f"{option.value} (unavailable)"


@lru_cache(maxsize=4096)
def _stock_buy_box(
    product: PageProduct, quantity: int, reserved_for_other: bool, reserved_until, is_favorite: bool
) -> str:
    from catalog.selectors import Inventory

    inventory = Inventory(quantity=quantity, reserved_until=reserved_until if reserved_for_other else None)
    return render_to_string(
        "personal/buy_box.html",
        {
            "product": product,
            "inventory": inventory,
            "reserved_for_other": reserved_for_other,
            "held_by_me": False,
            "is_favorite": is_favorite,
            "csrf_token": cache.CSRF_MARKER,
            **choice_context(product.choices, None),
        },
    )


def render_buy_box(request: HttpRequest, product_id: int, *, notice: str = "", error: str = "", **refused) -> str:
    """The buy box alone (htmx answers after add to cart), with the header badge swapped out of band.

    ``refused``: the buyer's ``choice`` and ``choice_error`` / ``personalization_error`` (``buy_box_errors``).
    """
    product = selectors.get_product_detail(product_id=product_id)
    inventory = selectors.get_inventory(product_id=product_id)
    box = buy_box(
        request, page_product(product), inventory, favorite_ids_of(request), notice=notice, error=error, **refused
    )
    badge = render_personal(request, "cart_badge", {"cart_count": cart_count(request), "oob": True})
    return cache.fill_shell(box + badge, {}, partial(cache.csrf_token, request))


@dataclass(frozen=True)
class PageProduct:
    """What the buy box needs of a product (kept with the cached page): its choices (selects, personalisation)."""

    pk: int
    title: str
    quantity: int
    choices: selectors.ListingChoices


def page_product(product) -> PageProduct:
    return PageProduct(
        pk=product.pk,
        title=product.title,
        quantity=product.quantity,
        choices=selectors.get_listing_choices(product=product),
    )
