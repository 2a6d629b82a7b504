from django import forms

from etsy.names import is_country_code
from orders import payments


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
    ship_region = forms.CharField(
        label="State, province or region (optional)",
        max_length=100,
        required=False,
        widget=forms.TextInput(attrs={"autocomplete": "address-level1"}),
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
    # The provider's payment-method id (pm_...): Stripe.js's Payment Element fills it in the browser,
    # or, with the test provider, a plain choice of its test ids. Card data never reaches this form.
    payment_method = forms.CharField(max_length=255, widget=forms.HiddenInput)
    token = forms.CharField(widget=forms.HiddenInput, max_length=200)

    save_address = forms.BooleanField(label="Save this address to my address book", required=False)

    NEW_ADDRESS = "new"
    TYPED_REQUIRED = ("ship_name", "ship_line1", "ship_city", "ship_postcode", "ship_country")

    def __init__(self, *args, addresses=(), **kwargs):
        """``addresses``: the buyer's saved addresses, offered as a choice (the default one picked)."""
        super().__init__(*args, **kwargs)
        addresses = list(addresses)
        if addresses:
            choices = [(str(a.pk), ", ".join(a.lines)) for a in addresses]
            default = next((a for a in addresses if a.is_default), addresses[0])
            self.fields["address_choice"] = forms.ChoiceField(
                label="Ship to",
                choices=[*choices, (self.NEW_ADDRESS, "A new address (type it below)")],
                initial=str(default.pk),
                widget=forms.RadioSelect,
            )
            self.order_fields(["address_choice"])
            for name in self.TYPED_REQUIRED:  # required only when a new address is typed (clean)
                self.fields[name].required = False
        choices = payments.test_payment_method_choices()
        if choices:
            self.fields["payment_method"] = forms.ChoiceField(
                label="Payment method (test mode)",
                choices=choices,
                initial=payments.PM_SUCCEEDS,
                widget=forms.RadioSelect,
                help_text="Test mode: no real card is charged. Pick how the test payment should go.",
            )

    def clean_payment_method(self) -> str:
        value = self.cleaned_data["payment_method"]
        if not payments.PAYMENT_METHOD_ID.match(value):
            raise forms.ValidationError("Enter your card in the payment form above, then place the order.")
        return value

    @property
    def saved_address_id(self) -> int | None:
        """The saved address picked (after is_valid), or None when the buyer typed one."""
        choice = self.cleaned_data.get("address_choice")
        return int(choice) if choice and choice != self.NEW_ADDRESS else None

    def clean(self):
        data = super().clean()
        if "address_choice" in self.fields and data.get("address_choice") == self.NEW_ADDRESS:
            for name in self.TYPED_REQUIRED:
                if not data.get(name) and name not in self.errors:
                    self.add_error(name, "This field is required.")
        return data

    def clean_ship_country(self) -> str:
        value = self.cleaned_data["ship_country"].strip().upper()
        if not value and not self.fields["ship_country"].required:
            return ""
        if not is_country_code(value):
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


class CancellationRequestForm(forms.Form):
    reason = forms.CharField(
        label="Why do you want to cancel?",
        max_length=1000,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="The shop reads this before accepting or declining.",
    )
