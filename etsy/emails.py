"""Every email the marketplace sends: a plain-text part and an HTML part from one template name.

``emails/<name>.txt`` (plain text) and ``emails/<name>.html`` (HTML, extending ``emails/base.html``,
the shared layout), and a subject: ``emails/<name>_subject.txt`` or the ``subject`` string given.
They are Jinja2 templates in ``templates_jinja2/emails/``, rendered by the ``emails`` engine (etsy/email_templates.py).
The plain-text part and the subject are rendered with autoescaping off (they are not HTML: a shop
named ``Tom & Jerry's`` stays as it is), the HTML part with autoescaping on. The subject is folded
onto one line (it is a header). Every template also gets ``site_url`` and ``site_name``.
"""

from __future__ import annotations

from django.conf import settings
from django.core.mail import EmailMultiAlternatives, get_connection
from django.template import engines

SITE_NAME = "Makers' Market"


def render_template(template_name: str, context: dict) -> str:
    """Render one email template (autoescaping on for ``.html``, off for ``.txt``)."""
    return engines["emails"].env.get_template(template_name).render(context)


def render_email(*, template: str, context: dict, subject: str | None = None) -> tuple[str, str, str]:
    """Return ``(subject, text, html)`` of ``template`` rendered with ``context``."""
    context = {"site_url": settings.SITE_URL, "site_name": SITE_NAME, **context}
    if subject is None:
        subject = render_template(f"emails/{template}_subject.txt", context)
    subject = " ".join(subject.split())
    text = render_template(f"emails/{template}.txt", context).strip() + "\n"
    html = render_template(f"emails/{template}.html", {"subject": subject, **context})
    return subject, text, html


def build_templated_email(
    *, template: str, to: list[str], context: dict, subject: str | None = None, reply_to: list[str] | None = None
) -> EmailMultiAlternatives:
    """Return ``template``'s plain-text and HTML parts to ``to`` as one message, not sent yet (``send_emails``)."""
    subject, text, html = render_email(template=template, context=context, subject=subject)
    mail = EmailMultiAlternatives(subject, text, settings.DEFAULT_FROM_EMAIL, to, reply_to=reply_to)
    mail.attach_alternative(html, "text/html")
    return mail


def send_templated_email(
    *, template: str, to: list[str], context: dict, subject: str | None = None, reply_to: list[str] | None = None
) -> None:
    """Send ``template``'s plain-text and HTML parts to ``to`` (raises what the mail backend raises)."""
    build_templated_email(template=template, to=to, context=context, subject=subject, reply_to=reply_to).send()


def send_emails(messages: list[EmailMultiAlternatives]) -> None:
    """Send several messages through one connection of the mail backend (one look-up of undeliverable
    addresses for all of them: accounts.mail); raises what the backend raises."""
    if messages:
        get_connection().send_messages(messages)
