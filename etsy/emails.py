"""Every email the marketplace sends: a plain-text part and an HTML part from one template name.

``emails/<name>.txt`` (plain text) and ``emails/<name>.html`` (HTML, extending ``emails/base.html``,
the shared layout), and a subject: ``emails/<name>_subject.txt`` or the ``subject`` string given.
They are Jinja2 templates in ``templates_jinja2/emails/``, rendered by the ``emails`` engine (etsy/email_templates.py).
The plain-text part and the subject are rendered with autoescaping off (they are not HTML: a shop
named ``Tom & Jerry's`` stays as it is), the HTML part with autoescaping on. The subject is folded
onto one line (it is a header). Every template also gets ``site_url`` and ``site_name``.

The messages are ``TemplatedEmail``: Django's ``EmailMultiAlternatives`` whose UTF-8 text parts are built straight
into the MIME objects Django's ``SafeMIMEText`` builds (the same headers, payload and bytes), without the standard
library re-reading its own Content-Type and payload; a delivery backend builds every message's MIME (SMTP, Amazon
SES), and that took a checkout's worker as long as rendering its emails' parts.
"""

from __future__ import annotations

from email.message import Message
from email.utils import formatdate, make_msgid

from django.conf import settings
from django.core.mail import EmailMultiAlternatives, get_connection
from django.core.mail.message import RFC5322_EMAIL_LINE_LENGTH_LIMIT, SafeMIMEText, utf8_charset
from django.core.mail.utils import DNS_NAME
from django.template import engines

SITE_NAME = "Makers' Market"


def _has_long_lines(text: str) -> bool:
    """Django's test for quoted-printable (``SafeMIMEText.set_payload``): a line longer than RFC 5322 allows, in
    bytes; only lines that could be (four bytes a character at most) are encoded to count them."""
    lines = text.splitlines()
    if max(map(len, lines), default=0) * 4 <= RFC5322_EMAIL_LINE_LENGTH_LIMIT:
        return False
    return any(len(line.encode(errors="surrogateescape")) > RFC5322_EMAIL_LINE_LENGTH_LIMIT for line in lines)


def _text_part(text: str, subtype: str, encoding: str) -> SafeMIMEText:
    """``SafeMIMEText(text, subtype, encoding)``, built directly when it holds UTF-8 text without long lines (the
    emails' parts): what Django's ``set_payload`` and the standard library's ``set_charset`` leave, computed once
    rather than written, parsed back and checked (``tests/test_emails.py`` compares the bytes with Django's)."""
    if encoding.lower() != "utf-8" or type(text) is not str or _has_long_lines(text):
        return SafeMIMEText(text, subtype, encoding)  # the general case (long lines: quoted-printable)
    part = SafeMIMEText.__new__(SafeMIMEText)
    Message.__init__(part)  # the compat32 policy, as MIMEBase's
    part.encoding = encoding
    part._headers = [
        ("Content-Type", f'text/{subtype}; charset="utf-8"'),
        ("MIME-Version", "1.0"),
        ("Content-Transfer-Encoding", "7bit" if text.isascii() else "8bit"),
    ]
    part._payload = text.encode("utf-8").decode("ascii", "surrogateescape")
    part._charset = utf8_charset
    return part


class TemplatedEmail(EmailMultiAlternatives):
    """``EmailMultiAlternatives`` whose text parts are ``_text_part``'s; ``message()`` is Django's otherwise."""

    def message(self):
        encoding = self.encoding or settings.DEFAULT_CHARSET
        msg = self._create_message(_text_part(self.body, self.content_subtype, encoding))
        msg["Subject"] = self.subject
        msg["From"] = self.extra_headers.get("From", self.from_email)
        self._set_list_header_if_not_empty(msg, "To", self.to)
        self._set_list_header_if_not_empty(msg, "Cc", self.cc)
        self._set_list_header_if_not_empty(msg, "Reply-To", self.reply_to)
        header_names = [key.lower() for key in self.extra_headers]
        if "date" not in header_names:
            msg["Date"] = formatdate(localtime=settings.EMAIL_USE_LOCALTIME)
        if "message-id" not in header_names:
            msg["Message-ID"] = make_msgid(domain=DNS_NAME)
        for name, value in self.extra_headers.items():
            if name.lower() not in {"from", "to", "cc", "reply-to"}:
                msg[name] = value
        return msg

    def _create_mime_attachment(self, content, mimetype):
        basetype, subtype = mimetype.split("/", 1)
        if basetype == "text":
            return _text_part(content, subtype, self.encoding or settings.DEFAULT_CHARSET)
        return super()._create_mime_attachment(content, mimetype)


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
) -> TemplatedEmail:
    """Return ``template``'s plain-text and HTML parts to ``to`` as one message, not sent yet (``send_emails``)."""
    subject, text, html = render_email(template=template, context=context, subject=subject)
    mail = TemplatedEmail(subject, text, settings.DEFAULT_FROM_EMAIL, to, reply_to=reply_to)
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
