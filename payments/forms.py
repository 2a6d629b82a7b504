from django import forms


class RefundForm(forms.Form):
    """Shape only: payments.services.refunds.refund_order applies the rules."""

    amount = forms.DecimalField(
        label="Amount to refund",
        required=False,
        min_value=0,
        max_digits=12,
        decimal_places=2,
        help_text="Leave empty to refund everything that has not been refunded yet.",
    )
    restock = forms.BooleanField(
        label="The piece is back with me: put the items back on sale",
        required=False,
        help_text="Only with the refund that completes the order's refund.",
    )
