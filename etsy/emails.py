"""Emails rendered from one template name: ``emails/<name>_subject.txt``, ``<name>.txt`` and ``<name>.html``."""

from __future__ import annotations

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.template.loader import render_to_string


def send_templated_email(*, template: str, to: list[str], context: dict) -> None:
    """Send the plain-text and HTML parts of ``template``; the subject is folded onto one line (a header)."""
    subject = " ".join(render_to_string(f"emails/{template}_subject.txt", context).split())
    mail = EmailMultiAlternatives(
        subject, render_to_string(f"emails/{template}.txt", context), settings.DEFAULT_FROM_EMAIL, to
    )
    mail.attach_alternative(render_to_string(f"emails/{template}.html", context), "text/html")
    mail.send()
