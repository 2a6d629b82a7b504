"""Shape only: cases.services applies the rules."""

from django import forms
from django.conf import settings

from cases.models import Case
from cases.services import MAX_TEXT


class OpenCaseForm(forms.Form):
    kind = forms.ChoiceField(label="What went wrong?", choices=Case.Kind.choices, widget=forms.RadioSelect)
    description = forms.CharField(
        label="Tell the seller what happened",
        max_length=MAX_TEXT,
        widget=forms.Textarea(attrs={"rows": 5}),
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        hours = settings.CASE_SELLER_RESPONSE_HOURS
        self.fields["description"].help_text = f"The seller sees this and has {hours} hours to answer or refund you."


class CaseMessageForm(forms.Form):
    body = forms.CharField(label="Add a message", max_length=MAX_TEXT, widget=forms.Textarea(attrs={"rows": 3}))


class SellerCaseForm(forms.ModelForm):
    """The seller's answer in the admin: a message and/or a refund."""

    message = forms.CharField(
        label="Message to the buyer", required=False, max_length=MAX_TEXT, widget=forms.Textarea(attrs={"rows": 4})
    )
    refund = forms.ChoiceField(
        label="Refund",
        required=False,
        choices=[("", "No refund"), ("full", "Refund everything that remains"), ("part", "Refund this amount:")],
    )
    amount = forms.DecimalField(label="Amount", required=False, min_value=0.01, max_digits=12, decimal_places=2)

    class Meta:
        model = Case
        fields: list[str] = []

    def clean(self):
        data = super().clean()
        if data.get("refund") == "part" and data.get("amount") is None:
            self.add_error("amount", "Enter the amount to refund.")
        return data


class StaffDecisionForm(forms.ModelForm):
    """Marketplace staff's decision on an escalated case."""

    decision = forms.ChoiceField(
        label="Decision",
        required=False,
        choices=[("", "Not yet (add a note only)"), ("refund", "Refund the buyer"), ("close", "Close without refund")],
    )
    amount = forms.DecimalField(
        label="Refund amount",
        required=False,
        min_value=0.01,
        max_digits=12,
        decimal_places=2,
        help_text="Leave empty to refund everything that remains of the order.",
    )
    note = forms.CharField(
        label="Note to both sides", required=False, max_length=MAX_TEXT, widget=forms.Textarea(attrs={"rows": 3})
    )

    class Meta:
        model = Case
        fields: list[str] = []
