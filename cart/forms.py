"""Shapes of the cart's HTML forms (rules live in cart.services).

The add form is what the product page posts to ``/cart/add/<product id>/`` (JavaScript or not):
``options`` (repeated: one VariationOption id per variation property, from the page's selects),
``offering`` (optional: an offering id instead of the options), ``quantity``, ``personalization``.
The listing is the URL's; ``product`` in the body, when sent, must be the same listing.
"""

from django import forms

from catalog.models import PERSONALIZATION_LIMIT


class QuantityForm(forms.Form):
    quantity = forms.IntegerField(min_value=0, max_value=999, initial=1)


class OptionIdsField(forms.Field):
    """Several ids under one name (``options=12&options=31``); shape only."""

    widget = forms.MultipleHiddenInput

    def to_python(self, value):
        if not value:
            return []
        if isinstance(value, str):
            value = [value]
        ids = []
        for item in value:
            try:
                ids.append(int(item))
            except (TypeError, ValueError):
                raise forms.ValidationError("Choose from the options shown.", code="invalid") from None
        if len(ids) > 2:
            raise forms.ValidationError("Choose one option for each choice.", code="invalid")
        return ids


class AddToCartForm(forms.Form):
    product = forms.IntegerField(required=False, min_value=1)
    options = OptionIdsField(required=False)
    offering = forms.IntegerField(required=False, min_value=1)
    quantity = forms.IntegerField(min_value=1, max_value=999, initial=1)
    # Longer than any listing allows, so the service's limit (with its message) is what a buyer meets.
    personalization = forms.CharField(required=False, max_length=PERSONALIZATION_LIMIT + 1, strip=False)
