from django import forms
from django.contrib.auth import forms as auth_forms
from django.contrib.auth import password_validation
from django.urls import reverse

from etsy.emails import send_templated_email
from etsy.names import is_country_code, validate_visible_text


class SignUpForm(forms.Form):
    """Shape only; accounts.services.sign_up applies the rules."""

    email = forms.EmailField(
        label="Email address", max_length=254, widget=forms.EmailInput(attrs={"autocomplete": "email"})
    )
    display_name = forms.CharField(
        label="Your name (shown on reviews)",
        max_length=80,
        required=False,
        validators=[validate_visible_text],
        widget=forms.TextInput(attrs={"autocomplete": "name"}),
    )
    password = forms.CharField(
        label="Password",
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
        help_text=password_validation.password_validators_help_text_html(),
    )


class ProfileForm(forms.Form):
    display_name = forms.CharField(
        label="Display name (shown on your reviews)",
        max_length=80,
        required=False,
        validators=[validate_visible_text],
        widget=forms.TextInput(attrs={"autocomplete": "name"}),
    )


class EmailChangeForm(forms.Form):
    new_email = forms.EmailField(
        label="New email address", max_length=254, widget=forms.EmailInput(attrs={"autocomplete": "email"})
    )
    current_password = forms.CharField(
        label="Current password",
        strip=False,
        max_length=128,
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
    )


class PasswordChangeForm(forms.Form):
    current_password = forms.CharField(
        label="Current password",
        strip=False,
        max_length=128,
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
    )
    new_password = forms.CharField(
        label="New password",
        strip=False,
        max_length=128,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
        help_text=password_validation.password_validators_help_text_html(),
    )
    new_password_again = forms.CharField(
        label="New password, again",
        strip=False,
        max_length=128,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
    )

    def clean(self):
        data = super().clean()
        if data.get("new_password") and data.get("new_password") != data.get("new_password_again"):
            self.add_error("new_password_again", "The two new passwords differ.")
        return data


def clean_country_code(value: str) -> str:
    value = (value or "").strip().upper()
    if not is_country_code(value):
        raise forms.ValidationError("Use a two-letter country code, like US.")
    return value


class AddressForm(forms.Form):
    """Shape only; accounts.services.addresses applies the rules."""

    name = forms.CharField(label="Full name", max_length=120, widget=forms.TextInput(attrs={"autocomplete": "name"}))
    line1 = forms.CharField(
        label="Street address", max_length=200, widget=forms.TextInput(attrs={"autocomplete": "address-line1"})
    )
    line2 = forms.CharField(
        label="Apartment, suite (optional)",
        max_length=200,
        required=False,
        widget=forms.TextInput(attrs={"autocomplete": "address-line2"}),
    )
    city = forms.CharField(
        label="City", max_length=100, widget=forms.TextInput(attrs={"autocomplete": "address-level2"})
    )
    region = forms.CharField(
        label="State, province or region (optional)",
        max_length=100,
        required=False,
        widget=forms.TextInput(attrs={"autocomplete": "address-level1"}),
    )
    postal_code = forms.CharField(
        label="ZIP / postal code", max_length=20, widget=forms.TextInput(attrs={"autocomplete": "postal-code"})
    )
    country = forms.CharField(
        label="Country code",
        max_length=2,
        initial="US",
        widget=forms.TextInput(attrs={"autocomplete": "country", "size": 2}),
    )
    phone = forms.CharField(
        label="Phone (optional, for the carrier)",
        max_length=30,
        required=False,
        widget=forms.TextInput(attrs={"autocomplete": "tel", "type": "tel"}),
    )
    make_default = forms.BooleanField(label="Use as my default shipping address", required=False)

    def clean_country(self) -> str:
        return clean_country_code(self.cleaned_data["country"])


class TemplatedPasswordResetForm(auth_forms.PasswordResetForm):
    """Django's password-reset form, mailed as our other emails are (plain text and HTML, etsy.emails)."""

    def send_mail(self, subject_template_name, email_template_name, context, *args, **kwargs):
        to_email = args[1] if len(args) > 1 else kwargs["to_email"]
        path = reverse("accounts:password_reset_confirm", kwargs={"uidb64": context["uid"], "token": context["token"]})
        link = f"{context['protocol']}://{context['domain']}{path}"
        send_templated_email(
            template="account_password_reset", to=[to_email], context={"email": context["email"], "link": link}
        )
