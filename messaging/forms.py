"""Forms of the buyer's message pages: shape only (lengths, types); the services hold the rules."""

from __future__ import annotations

from django import forms

from messaging.models import MAX_BODY_LENGTH, MAX_IMAGES_PER_MESSAGE
from messaging.services import MAX_DETAIL_LENGTH, MAX_WHAT_LENGTH


class MultipleImageInput(forms.ClearableFileInput):
    allow_multiple_selected = True


class ImagesField(forms.FileField):
    """Up to three pictures in one input (checked again, with their content, by the service)."""

    widget = MultipleImageInput(attrs={"accept": "image/jpeg,image/png,image/gif,image/webp"})

    def clean(self, data, initial=None):
        files = data if isinstance(data, (list, tuple)) else ([data] if data else [])
        if len(files) > MAX_IMAGES_PER_MESSAGE:
            raise forms.ValidationError(f"Attach at most {MAX_IMAGES_PER_MESSAGE} pictures.")
        return [super(ImagesField, self).clean(f, initial) for f in files]


class MessageForm(forms.Form):
    body = forms.CharField(
        label="Message", max_length=MAX_BODY_LENGTH, widget=forms.Textarea(attrs={"rows": 4}), strip=True
    )
    images = ImagesField(label=f"Pictures (up to {MAX_IMAGES_PER_MESSAGE})", required=False)


class CustomRequestForm(forms.Form):
    what = forms.CharField(
        label="What would you like made?",
        max_length=MAX_WHAT_LENGTH,
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text="Size, colours, materials, personalisation…",
    )
    budget = forms.CharField(label="Your budget", max_length=MAX_DETAIL_LENGTH, required=False)
    by_when = forms.CharField(label="Needed by", max_length=MAX_DETAIL_LENGTH, required=False)
    images = ImagesField(label=f"Pictures for reference (up to {MAX_IMAGES_PER_MESSAGE})", required=False)


class ReportForm(forms.Form):
    reason = forms.CharField(label="What is wrong with it?", max_length=500, required=False)
