"""Writes of a seller's listings: create, edit, deactivate, delete, images and bulk changes.

Single-row writes go through ``save()`` (post_save reaches search and cache listeners).
Bulk changes use ``QuerySet.update()`` and therefore send ``catalog.signals.products_changed``
after commit themselves.
"""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal
from functools import partial

from django.core.files.base import ContentFile
from django.db import transaction
from django.db.models import Max
from django.utils.text import slugify

from catalog.models import PERSONALIZATION_LIMIT, Category, Personalization, Product, ProductImage, Variation
from catalog.signals import products_changed
from catalog.stock import apply_listing_edits_to_offerings, lock_products, set_offerings_sold_out
from etsy import images
from etsy.exceptions import DomainError

PRODUCT_FIELDS = {"title", "description", "price", "quantity", "category", "tags", "is_vintage", "is_active"}
MAX_TAGS = 13
MAX_IMAGES = 10


class InvalidListing(DomainError):
    code = "invalid_listing"
    status_code = 400
    default_message = "The listing is not valid."


class TooManyImages(DomainError):
    code = "too_many_images"
    status_code = 400
    default_message = f"A listing can have at most {MAX_IMAGES} pictures."


def _send_products_changed(product_ids: list[int], reason: str) -> None:
    products_changed.send(sender=Product, product_ids=product_ids, reason=reason)


def send_products_changed_on_commit(*, product_ids: Iterable[int], reason: str) -> None:
    """Tell search and cache listeners about rows written without save(), once committed."""
    ids = sorted(set(product_ids))
    if ids:
        transaction.on_commit(partial(_send_products_changed, ids, reason))


def normalize_tags(tags: Iterable[str] | str) -> list[str]:
    """Lower-case, trimmed, de-duplicated tags in their given order. Raises InvalidListing."""
    if isinstance(tags, str):
        tags = tags.split(",")
    seen: list[str] = []
    for tag in tags:
        tag = " ".join(str(tag).split()).lower()
        if tag and tag not in seen:
            if len(tag) > 50:
                raise InvalidListing(f"The tag {tag[:20]!r}… is longer than 50 characters.")
            seen.append(tag)
    if len(seen) > MAX_TAGS:
        raise InvalidListing(f"A listing can have at most {MAX_TAGS} tags.")
    return seen


def _validate(fields: dict) -> None:
    if "title" in fields and not str(fields["title"]).strip():
        raise InvalidListing("A listing needs a title.")
    if "price" in fields and (fields["price"] is None or Decimal(fields["price"]) < 0):
        raise InvalidListing("The price cannot be negative.")
    if "quantity" in fields and (fields["quantity"] is None or int(fields["quantity"]) < 0):
        raise InvalidListing("The quantity cannot be negative.")
    if "category" in fields and not isinstance(fields["category"], Category):
        raise InvalidListing("Choose a category.")


def clean_personalization(*, mode: str, prompt: str, max_length) -> tuple[str, str, int]:
    """Check what a listing asks the buyer to write: the mode, a prompt (required text needs one), a limit
    of 1 to 1024 characters. Returns them cleaned. Raises InvalidListing (``extra["fields"]`` names the field)."""

    def refuse(message: str, field: str):
        return InvalidListing(message, extra={"fields": {field: message}})

    if mode not in Personalization.values:
        raise refuse(f"Choose one of {', '.join(Personalization.values)}.", "personalization")
    prompt = " ".join(str(prompt or "").split())
    if len(prompt) > 200:
        raise refuse("The prompt has at most 200 characters.", "personalization_prompt")
    if mode == Personalization.REQUIRED and not prompt:
        raise refuse("Tell the buyer what to write when the text is required.", "personalization_prompt")
    try:
        max_length = int(max_length)
    except (TypeError, ValueError):
        max_length = 0
    if not 1 <= max_length <= PERSONALIZATION_LIMIT:
        raise refuse(f"The character limit must be 1 to {PERSONALIZATION_LIMIT}.", "personalization_max_length")
    return mode, prompt, max_length


@transaction.atomic
def set_personalization(*, product: Product, mode: str, prompt: str = "", max_length: int | None = None) -> Product:
    """Ask the buyer for text or not (none, optional, required), with a prompt and a limit. Locks the listing.

    Raises InvalidListing.
    """
    locked = lock_products(product_ids=[product.pk])[product.pk]
    mode, prompt, max_length = clean_personalization(
        mode=mode, prompt=prompt, max_length=locked.personalization_max_length if max_length is None else max_length
    )
    locked.personalization, locked.personalization_prompt, locked.personalization_max_length = mode, prompt, max_length
    locked.save(update_fields=["personalization", "personalization_prompt", "personalization_max_length", "updated_at"])
    return locked


def slug_for(title: str) -> str:
    return slugify(title)[:220] or "listing"


@transaction.atomic
def create_product(
    *,
    shop,
    title: str,
    price: Decimal,
    category: Category,
    description: str = "",
    quantity: int = 1,
    tags: Iterable[str] = (),
    is_vintage: bool = False,
    is_active: bool = True,
    reserved_for=None,
) -> Product:
    """Create a listing in ``shop`` (``reserved_for``: a custom piece only that buyer sees). Raises InvalidListing."""
    product = Product(
        shop=shop,
        title=title,
        price=price,
        category=category,
        quantity=quantity,
        description=description,
        tags=list(tags),
        is_vintage=is_vintage,
        is_active=is_active,
        reserved_for=reserved_for,
    )
    return save_product(product=product)


@transaction.atomic
def save_product(*, product: Product) -> Product:
    """Validate and save a new or edited listing built by a form (admin, seller pages). Raises InvalidListing."""
    if product.shop_id is None:
        raise InvalidListing("A listing belongs to a shop.")
    product.title = (product.title or "").strip()
    _validate(
        {
            "title": product.title,
            "price": product.price,
            "quantity": product.quantity,
            "category": product.category if product.category_id else None,
        }
    )
    product.tags = normalize_tags(product.tags or [])
    product.slug = slug_for(product.title)
    product.personalization, product.personalization_prompt, product.personalization_max_length = clean_personalization(
        mode=product.personalization,
        prompt=product.personalization_prompt,
        max_length=product.personalization_max_length,
    )
    if product.pk is not None:
        lock_products(product_ids=[product.pk])
    product.save()
    _carry_stock_to_offerings(product)
    return product


def _carry_stock_to_offerings(product: Product) -> None:
    """The offering is the stock truth: a price or quantity written on the listing goes to its implicit
    offering (a listing with variations keeps its offerings' totals)."""
    apply_listing_edits_to_offerings(product_ids=[product.pk])
    product.price, product.quantity = Product.objects.values_list("price", "quantity").get(pk=product.pk)


def has_variations(*, product: Product) -> bool:
    """Whether the listing's price and quantity come from a grid of offerings rather than the listing form."""
    return Variation.objects.filter(product=product).exists()


@transaction.atomic
def update_product(*, product: Product, **fields) -> Product:
    """Change the editable fields of a listing (a plain listing's price and quantity are its implicit offering's).

    Locks the listing. Raises InvalidListing.
    """
    unknown = set(fields) - PRODUCT_FIELDS
    if unknown:
        raise TypeError(f"update_product() got unexpected fields: {sorted(unknown)}")
    _validate(fields)
    if "tags" in fields:
        fields["tags"] = normalize_tags(fields["tags"])
    if "title" in fields:
        fields["title"] = fields["title"].strip()
        product.slug = slug_for(fields["title"])
    lock_products(product_ids=[product.pk])  # a grid written meanwhile is seen below
    if ({"price", "quantity"} & set(fields)) and has_variations(product=product):
        raise InvalidListing("This listing has variations: set price and quantity per offering.")
    for key, value in fields.items():
        setattr(product, key, value)
    product.save()
    if {"price", "quantity"} & set(fields):
        _carry_stock_to_offerings(product)
    return product


@transaction.atomic
def deactivate_product(*, product: Product) -> Product:
    """Hide a listing from the site; orders that reference it keep their frozen lines."""
    product.is_active = False
    product.save(update_fields=["is_active", "updated_at"])
    return product


@transaction.atomic
def delete_product(*, product: Product) -> None:
    """Delete a listing and its pictures (order lines keep title and price at purchase)."""
    stored = [(img.image, img.thumbnail) for img in product.images.all()]
    product_id = product.pk
    product.delete()
    send_products_changed_on_commit(product_ids=[product_id], reason="deleted")
    for files in stored:
        _delete_files_on_commit(files)


def _delete_files_on_commit(files) -> None:
    # Files go only once the row deletion is committed: a rollback must leave the pictures in place.
    for field_file in files:
        transaction.on_commit(partial(images.delete_stored, field_file))


@transaction.atomic
def delete_product_image(*, image: ProductImage) -> None:
    """Delete one picture of a listing; its files (and WebP twins) are removed after commit."""
    files = (image.image, image.thumbnail)
    image.delete()
    _delete_files_on_commit(files)


def store_image_files(*, image: ProductImage, processed: images.ProcessedImage) -> ProductImage:
    """Write ``processed`` (picture, thumbnail and WebP twins) into ``image``'s fields; saves the row."""
    image.image.save(processed.name, ContentFile(processed.content), save=False)
    image.thumbnail.save(processed.name, ContentFile(processed.thumbnail), save=False)
    images.save_webp_twin(image.image.name, processed.webp)
    images.save_webp_twin(image.thumbnail.name, processed.thumbnail_webp)
    image.save()
    return image


@transaction.atomic
def add_product_image(*, product: Product, upload, alt_text: str = "", position: int | None = None) -> ProductImage:
    """Validate and attach a picture to a listing. Raises InvalidImage, TooManyImages."""
    processed = images.process_upload(upload)
    lock_products(product_ids=[product.pk])  # serialize position numbering
    existing = product.images.count()
    if existing >= MAX_IMAGES:
        raise TooManyImages()
    if position is None:
        position = (product.images.aggregate(top=Max("position"))["top"] + 1) if existing else 0
    image = ProductImage(product=product, alt_text=alt_text[:200], position=position)
    return store_image_files(image=image, processed=processed)


@transaction.atomic
def reorder_images(*, product: Product, image_ids: list[int]) -> None:
    """Set the gallery order of a listing's pictures (the first is the cover). Raises InvalidListing."""
    own = set(product.images.values_list("pk", flat=True))
    if set(image_ids) != own or len(image_ids) != len(own):
        raise InvalidListing("Give the order of exactly this listing's pictures.")
    for position, image_id in enumerate(image_ids):
        ProductImage.objects.filter(pk=image_id, product=product).update(position=position)
    send_products_changed_on_commit(product_ids=[product.pk], reason="listing")


def _scoped_ids(shop, product_ids: Iterable[int]) -> list[int]:
    qs = Product.objects.filter(pk__in=list(product_ids))
    if shop is not None:
        qs = qs.filter(shop=shop)
    return list(qs.values_list("pk", flat=True))


@transaction.atomic
def mark_sold_out(*, shop, product_ids: Iterable[int]) -> int:
    """Set quantity 0 on the given listings of ``shop`` (None: any shop, for marketplace admins)."""
    ids = _scoped_ids(shop, product_ids)
    lock_products(product_ids=ids)
    count = len(ids)
    set_offerings_sold_out(product_ids=ids)
    send_products_changed_on_commit(product_ids=ids, reason="stock")
    return count


@transaction.atomic
def set_category(*, shop, product_ids: Iterable[int], category: Category) -> int:
    """Move the given listings of ``shop`` to ``category``."""
    ids = _scoped_ids(shop, product_ids)
    count = Product.objects.filter(pk__in=ids).update(category=category)
    send_products_changed_on_commit(product_ids=ids, reason="bulk")
    return count


@transaction.atomic
def set_active(*, shop, product_ids: Iterable[int], is_active: bool) -> int:
    """Activate or deactivate the given listings of ``shop``."""
    ids = _scoped_ids(shop, product_ids)
    count = Product.objects.filter(pk__in=ids).update(is_active=is_active)
    send_products_changed_on_commit(product_ids=ids, reason="listing")
    return count
