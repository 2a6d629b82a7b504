"""The seller admin's offerings editor: variation properties, then the grid of price, quantity, SKU and on/off.

A page of its own ("Variations & offerings", linked from the listing's change page), plain forms POSTed to the
offerings services: it works without JavaScript. Mixed into ``ProductAdmin`` with the bulk price/quantity action.
"""

from __future__ import annotations

from decimal import Decimal

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html

from catalog.models import Offering, Product, Variation
from catalog.selectors_seller import list_offerings_grid, list_variations
from catalog.services import listings, offerings
from etsy.exceptions import DomainError
from shops.admin_scoping import is_marketplace_admin

PROPERTY_SLOTS = Variation.MAX_PER_LISTING


def _split_options(text: str) -> list[str]:
    """One option per line (commas also separate), blanks ignored: "S, M\\nL" → ["S", "M", "L"]."""
    return [part for line in text.splitlines() for part in line.split(",") if part.strip()]


class VariationsForm(forms.Form):
    """Up to two properties, each a name and its options; an empty name removes the property."""

    def __init__(self, *args, variations: list[Variation] = (), **kwargs):
        initial = {}
        for variation in variations:
            initial[f"name_{variation.position}"] = variation.name
            initial[f"options_{variation.position}"] = "\n".join(o.value for o in variation.options.all())
        super().__init__(*args, initial=initial, **kwargs)
        for slot in range(PROPERTY_SLOTS):
            number = slot + 1
            self.fields[f"name_{slot}"] = forms.CharField(
                label=f"Property {number} name", required=False, max_length=40, help_text="e.g. Size, Colour, Metal"
            )
            self.fields[f"options_{slot}"] = forms.CharField(
                label=f"Property {number} options",
                required=False,
                widget=forms.Textarea(attrs={"rows": 4, "cols": 30}),
                help_text="One option per line (or separated by commas), in the order buyers see them.",
            )

    def clean(self):
        data = super().clean()
        specs, seen_empty = [], False
        for slot in range(PROPERTY_SLOTS):
            name = (data.get(f"name_{slot}") or "").strip()
            options = _split_options(data.get(f"options_{slot}") or "")
            if not name and options:
                self.add_error(f"name_{slot}", "Name this property, or clear its options.")
            elif name and seen_empty:
                self.add_error(f"name_{slot}", "Fill in property 1 first.")
            elif name:
                specs.append(offerings.VariationSpec(name=name, options=options))
            else:
                seen_empty = True
        data["specs"] = specs
        return data


def _row_label(offering: Offering) -> str:
    return offering.options_label or "the listing"


class OfferingsGridForm(forms.Form):
    """One row per offering: price, quantity, SKU and "on". Shape only; the rules are the service's."""

    def __init__(self, *args, grid: list[Offering], **kwargs):
        super().__init__(*args, **kwargs)
        self.grid = grid
        self.rows = []
        for offering in grid:
            label = _row_label(offering)
            prefix = f"o{offering.pk}"
            self.fields[f"{prefix}_price"] = forms.DecimalField(
                label=f"Price, {label}", min_value=Decimal("0"), max_digits=10, decimal_places=2,
                initial=offering.price, widget=forms.NumberInput(attrs={"step": "0.01", "size": 8}),
            )  # fmt: skip
            self.fields[f"{prefix}_quantity"] = forms.IntegerField(
                label=f"Quantity, {label}", min_value=0, max_value=offerings.MAX_QUANTITY, initial=offering.quantity,
                widget=forms.NumberInput(attrs={"size": 6}),
            )  # fmt: skip
            self.fields[f"{prefix}_sku"] = forms.CharField(
                label=f"SKU, {label}", required=False, max_length=64, initial=offering.sku
            )
            self.fields[f"{prefix}_enabled"] = forms.BooleanField(
                label=f"On sale, {label}", required=False, initial=offering.is_enabled
            )
            self.rows.append((offering, [self[f"{prefix}_{name}"] for name in ("price", "quantity", "sku", "enabled")]))

    def specs(self) -> list[offerings.OfferingSpec]:
        data = self.cleaned_data
        return [
            offerings.OfferingSpec(
                options=[o.value for o in (offering.option1, offering.option2) if o is not None],
                price=data[f"o{offering.pk}_price"],
                quantity=data[f"o{offering.pk}_quantity"],
                sku=data[f"o{offering.pk}_sku"],
                is_enabled=data[f"o{offering.pk}_enabled"],
            )
            for offering in self.grid
        ]


class BulkOfferingsForm(forms.Form):
    """The bulk edit of the selected listings' offerings: a new price, a new quantity, or a price change in %."""

    CHANGES = [
        ("price", "Set the price to"),
        ("quantity", "Set the quantity to"),
        ("price_percent", "Change prices by this percentage (e.g. 10 or -15)"),
    ]
    change = forms.ChoiceField(label="Change", choices=CHANGES, widget=forms.RadioSelect)
    value = forms.DecimalField(label="Value", max_digits=12, decimal_places=2)


class ListingBulkForm(BulkOfferingsForm):
    """The editor's bulk edit of one listing: every offering, or only the ticked ones."""

    def __init__(self, *args, grid: list[Offering], **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["only"] = forms.TypedMultipleChoiceField(
            label="Only these offerings (none ticked: all of them)",
            choices=[(o.pk, _row_label(o)) for o in grid],
            coerce=int,
            required=False,
            widget=forms.CheckboxSelectMultiple,
        )


def _bulk_value(change: str, value: Decimal):
    # A quantity is whole: "2.5" goes to the service as text, which refuses it with the field's message.
    if change == "quantity":
        return int(value) if value == value.to_integral_value() else str(value)
    return value


class OfferingsAdminMixin:
    """Adds the offerings editor page and the bulk price/quantity action to ``ProductAdmin``."""

    @admin.display(description="Variations & offerings")
    def offerings_link(self, obj):
        if obj is None or obj.pk is None:
            return "Save the listing first; then set its sizes, colours and prices per combination."
        count = obj.offerings.count()
        url = reverse("admin:catalog_product_offerings", args=[obj.pk])
        summary = f"{count} offering(s)" if listings.has_variations(product=obj) else "No variations"
        return format_html('{} — <a href="{}">Edit variations &amp; offerings</a>', summary, url)

    def offerings_urls(self):
        return [
            path(
                "<path:object_id>/offerings/",
                self.admin_site.admin_view(self.offerings_view),
                name="catalog_product_offerings",
            )
        ]

    def offerings_view(self, request, object_id):
        product = self.get_object(request, object_id)  # scoped to the seller's shop: another's is missing
        if product is None:
            raise Http404("No such listing in your shop.")
        if not self.has_change_permission(request, product):
            raise PermissionDenied
        variations_form = VariationsForm(variations=list_variations(product=product))
        grid = list_offerings_grid(product=product)
        grid_form = OfferingsGridForm(grid=grid)
        bulk_form = ListingBulkForm(grid=grid, prefix="bulk")
        status = 200
        if request.method == "POST":
            try:
                if "save_variations" in request.POST:
                    variations_form = VariationsForm(request.POST, variations=list_variations(product=product))
                    if variations_form.is_valid():
                        offerings.set_variations(product=product, variations=variations_form.cleaned_data["specs"])
                        self.message_user(
                            request,
                            "Variations saved. New combinations start at 0 in stock: fill in the grid.",
                            messages.SUCCESS,
                        )
                        return HttpResponseRedirect(request.path)
                elif "save_grid" in request.POST:
                    grid_form = OfferingsGridForm(request.POST, grid=list_offerings_grid(product=product))
                    if grid_form.is_valid():
                        offerings.set_offerings(product=product, offerings=grid_form.specs())
                        self.message_user(request, "Offerings saved.", messages.SUCCESS)
                        return HttpResponseRedirect(request.path)
                elif "save_bulk" in request.POST:
                    bulk_form = ListingBulkForm(request.POST, grid=grid, prefix="bulk")
                    if bulk_form.is_valid():
                        data = bulk_form.cleaned_data
                        count = offerings.bulk_edit_offerings(
                            shop=product.shop,
                            product_ids=[product.pk],
                            offering_ids=data["only"] or None,
                            **{data["change"]: _bulk_value(data["change"], data["value"])},
                        )
                        self.message_user(request, f"{count} offering(s) changed.", messages.SUCCESS)
                        return HttpResponseRedirect(request.path)
            except DomainError as exc:
                self.message_user(request, f"Not saved: {exc.message}", messages.ERROR)
            status = 400
        context = {
            **self.admin_site.each_context(request),
            "title": f"Variations & offerings: {product.title}",
            "opts": self.model._meta,
            "original": product,
            "variations_form": variations_form,
            "grid_form": grid_form,
            "bulk_form": bulk_form,
            "has_variations": bool(variations_form.initial),
        }
        return TemplateResponse(request, "admin/catalog/product/offerings.html", context, status=status)

    @admin.action(description="Edit price or quantity of the selected listings' offerings", permissions=["change"])
    def bulk_edit_offerings(self, request, queryset):
        form = BulkOfferingsForm(request.POST if "apply" in request.POST else None)
        if form.is_bound and form.is_valid():
            change, value = (
                form.cleaned_data["change"],
                _bulk_value(form.cleaned_data["change"], form.cleaned_data["value"]),
            )
            shop = None if is_marketplace_admin(request) else self.require_seller_shop(request)
            try:
                count = offerings.bulk_edit_offerings(
                    shop=shop, product_ids=queryset.values_list("pk", flat=True), **{change: value}
                )
            except DomainError as exc:
                form.add_error("value", exc.message)
            else:
                self.message_user(request, f"{count} offering(s) changed.", messages.SUCCESS)
                return None
        context = {
            **self.admin_site.each_context(request),
            "title": "Edit price or quantity of offerings",
            "opts": Product._meta,
            "form": form,
            "products": queryset,
            "action_checkbox_name": ACTION_CHECKBOX_NAME,
        }
        return TemplateResponse(
            request, "admin/catalog/product/bulk_offerings.html", context, status=400 if form.errors else 200
        )
