"""Forms of the seller side: shape only; the rules live in shops.services and etsy.images."""

from __future__ import annotations

from django import forms
from django.core.files.base import ContentFile

from etsy import images
from shops.models import Shop

LOGO_SIDE = 600
BANNER_SIDE = 1600


def clean_uploaded_picture(value, *, max_side: int):
    """Validate and re-encode a newly uploaded picture; keep an already stored one as it is.

    Raises forms.ValidationError with the reason. The returned file has a server-chosen name.
    """
    if not value or not hasattr(value, "content_type"):  # empty, cleared, or the stored file
        return value
    try:
        processed = images.process_upload(value, max_side=max_side)
    except images.InvalidImage as exc:
        raise forms.ValidationError(exc.message, code=exc.code) from None
    return ContentFile(processed.content, name=processed.name)


class PictureFieldsMixin:
    """Re-encode ``logo`` and ``banner`` uploads on any ModelForm of Shop."""

    def clean_logo(self):
        return clean_uploaded_picture(self.cleaned_data.get("logo"), max_side=LOGO_SIDE)

    def clean_banner(self):
        return clean_uploaded_picture(self.cleaned_data.get("banner"), max_side=BANNER_SIDE)


class OpenShopForm(PictureFieldsMixin, forms.ModelForm):
    class Meta:
        model = Shop
        fields = [
            "name",
            "description",
            "location",
            "logo",
            "banner",
            "shipping_base",
            "shipping_additional",
            "free_shipping_threshold",
            "processing_days",
            "policy_text",
        ]
        labels = {"policy_text": "Shipping and returns policy", "shipping_base": "Shipping, first item"}
        help_texts = {
            "shipping_additional": "Added for each further item in the same order.",
            "free_shipping_threshold": "Orders at or above this subtotal ship free (leave empty for never).",
        }
        widgets = {"description": forms.Textarea(attrs={"rows": 4}), "policy_text": forms.Textarea(attrs={"rows": 4})}

    def validate_unique(self):
        # The name's uniqueness is decided (case-insensitively, race-safe) by shops.services.open_shop.
        pass


class ShopAdminForm(PictureFieldsMixin, forms.ModelForm):
    class Meta:
        model = Shop
        fields = "__all__"

    def clean_name(self):
        name = (self.cleaned_data.get("name") or "").strip()
        if Shop.objects.filter(name__iexact=name).exclude(pk=self.instance.pk).exists():
            raise forms.ValidationError("A shop with that name already exists.")
        return name
