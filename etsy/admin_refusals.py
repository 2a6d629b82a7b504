"""Admin change forms that show a refused rule as an error message instead of a 403 page.

A service called from ``save_model`` raises a ``DomainError`` when a rule refuses the change
(a name taken since the form was shown, a listing that breaks a rule). Django runs the save in
one transaction, so letting the error leave it rolls every row back; the mixin then says why
on the same form's page, the way HTML views turn a ``DomainError`` into a message.
"""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpResponseRedirect

from etsy.exceptions import DomainError


class DomainRefusalAsMessage:
    """Mix into a ModelAdmin whose ``save_model`` lets the service's DomainError propagate."""

    def changeform_view(self, request, object_id=None, form_url="", extra_context=None):
        try:
            return super().changeform_view(request, object_id, form_url, extra_context)
        except DomainError as exc:  # raised inside the admin's transaction: nothing was kept
            self.message_user(request, f"Not saved: {exc.message}", messages.ERROR)
            return HttpResponseRedirect(request.get_full_path())
