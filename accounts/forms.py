from django import forms
from django.contrib.auth import password_validation

from etsy.names import validate_visible_text


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
