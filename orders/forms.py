from django import forms


class CheckoutForm(forms.Form):
    """Shape only: orders.services.checkout.place_order applies the rules."""

    ship_name = forms.CharField(
        label="Full name", max_length=120, widget=forms.TextInput(attrs={"autocomplete": "name"})
    )
    ship_line1 = forms.CharField(
        label="Street address", max_length=200, widget=forms.TextInput(attrs={"autocomplete": "address-line1"})
    )
    ship_line2 = forms.CharField(
        label="Apartment, suite (optional)",
        max_length=200,
        required=False,
        widget=forms.TextInput(attrs={"autocomplete": "address-line2"}),
    )
    ship_city = forms.CharField(
        label="City", max_length=100, widget=forms.TextInput(attrs={"autocomplete": "address-level2"})
    )
    ship_postcode = forms.CharField(
        label="ZIP / postcode", max_length=20, widget=forms.TextInput(attrs={"autocomplete": "postal-code"})
    )
    ship_country = forms.CharField(
        label="Country code",
        max_length=2,
        initial="US",
        widget=forms.TextInput(attrs={"autocomplete": "country", "size": 2}),
    )
    card_number = forms.CharField(
        label="Card number",
        max_length=23,
        help_text="Test cards: 4242 4242 4242 4242 succeeds, 4000 0000 0000 0002 is declined.",
        widget=forms.TextInput(attrs={"autocomplete": "cc-number", "inputmode": "numeric"}),
    )
    token = forms.CharField(widget=forms.HiddenInput, max_length=200)

    def clean_card_number(self) -> str:
        digits = "".join(ch for ch in self.cleaned_data["card_number"] if ch.isdigit())
        if not 12 <= len(digits) <= 19:
            raise forms.ValidationError("Enter the card number (12 to 19 digits).")
        return digits

    def clean_ship_country(self) -> str:
        value = self.cleaned_data["ship_country"].strip().upper()
        if len(value) != 2 or not value.isalpha():
            raise forms.ValidationError("Use a two-letter country code, like US.")
        return value


class ReviewForm(forms.Form):
    rating = forms.TypedChoiceField(
        label="Rating",
        coerce=int,
        choices=[(5, "5 — excellent"), (4, "4 — good"), (3, "3 — fine"), (2, "2 — poor"), (1, "1 — bad")],
    )
    comment = forms.CharField(
        label="Your review (optional)", required=False, max_length=5000, widget=forms.Textarea(attrs={"rows": 4})
    )
