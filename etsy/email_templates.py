"""The Jinja2 environment of the email templates (``templates_jinja2/emails/``, settings.TEMPLATES "emails").

Emails are rendered by Jinja2 rather than Django's template language because a checkout's worker renders four
of them (twelve templates with their includes): compiled Jinja2 takes 40 % of the CPU (0.95 ms, not 2.4).

Autoescaping follows the file name: on for ``.html``, off for ``.txt`` (subjects and plain-text parts are not
HTML: a shop named ``Tom & Jerry's`` stays as it is). Every value is printed as Django's templates print it
(``django.template.base.render_value_in_context``): datetimes in the current time zone, numbers and dates
localized, and in HTML escaped with Django's ``escape`` (``&#x27;`` and ``&quot;``, where markupsafe writes
``&#39;`` and ``&#34;``) unless already safe. The filters are Django's own (``date``, ``linebreaks``,
``linebreaksbr``, ``pluralize``) and those settings name by dotted path (``OPTIONS["filters"]``: the catalog's
``money``, which etsy may not import), so the emails read exactly as before the port.

A partial included by name (``{% include "emails/_order_table.html" %}``) is compiled into the template that
includes it (``InlineIncludes``): Jinja2 renders an include as a template of its own, with a context of its own
built on every render, which cost a checkout's emails a third of their rendering (nine includes each time).
"""

from __future__ import annotations

import functools
import re
from datetime import date
from html import escape

from django.conf import settings
from django.template import defaultfilters
from django.utils.formats import localize
from django.utils.module_loading import import_string
from django.utils.timezone import template_localtime
from django.utils.translation import get_language
from jinja2 import Environment, TemplateNotFound, Undefined, pass_eval_context
from jinja2.ext import Extension
from markupsafe import Markup


def _autoescape(template_name: str | None) -> bool:
    return template_name is not None and template_name.endswith(".html")


@pass_eval_context
def _finalize(eval_ctx, value) -> str:
    if type(value) is int and not settings.USE_THOUSAND_SEPARATOR:
        value = str(value)  # what localize gives (numberformat's own shortcut), without its format look-ups
    elif type(value) is not str:
        value = localize(template_localtime(value))
        if not isinstance(value, str):
            value = str(value)
    # Jinja2 escapes what is returned unless it is safe; markupsafe and Django escape &, < and > alike but
    # quotes differently, so only text with a quote is escaped here, Django's way.
    if eval_ctx.autoescape and ("'" in value or '"' in value) and not hasattr(value, "__html__"):
        return Markup(escape(value))
    return value


def _date(value, arg: str | None = None) -> str:
    if type(value) is date and arg:  # a calendar day: its text depends on nothing else but the language
        return _format_day(value, arg, get_language())
    return defaultfilters.date(template_localtime(value), arg)


@functools.lru_cache(maxsize=512)
def _format_day(value: date, arg: str, language: str | None) -> str:
    # Django's date filter spends most of its time on the translated day and month names; a checkout's
    # confirmation shows each order's estimated delivery day twice (text and HTML), most of them the same day.
    return defaultfilters.date(value, arg)


@pass_eval_context
def _linebreaks(eval_ctx, value) -> str:
    return defaultfilters.linebreaks_filter(value, autoescape=eval_ctx.autoescape)


@pass_eval_context
def _linebreaksbr(eval_ctx, value) -> str:
    return defaultfilters.linebreaksbr(value, autoescape=eval_ctx.autoescape)


_INCLUDE = re.compile(r'{%\s*include\s+"([^"]+)"\s*%}')
# What a partial may not hold to be inlined: a name it sets or a block would reach the including template.
_SCOPED = re.compile(r"{%-?\s*(set|block|extends|macro|import|from|call|filter)\b")


class InlineIncludes(Extension):
    """Compile ``{% include "name" %}`` as the partial's own text, when that renders the same: a literal name
    (no ``ignore missing``, ``without context``, expressions), a partial that defines no name or block
    (``_SCOPED``) and is escaped as its includer is (both ``.html`` or neither). Partials it includes are inlined
    too. Not when templates reload on change (``auto_reload``, under DEBUG): an includer would not see its
    partial change."""

    def preprocess(self, source: str, name: str | None, filename: str | None = None) -> str:
        if self.environment.auto_reload or "include" not in source:
            return source
        return self._inline(source, name, depth=0)

    def _inline(self, source: str, name: str | None, *, depth: int) -> str:
        def replace(match: re.Match) -> str:
            partial = match.group(1)
            if depth > 8 or _autoescape(partial) != _autoescape(name):
                return match.group(0)
            try:
                text = self.environment.loader.get_source(self.environment, partial)[0]
            except TemplateNotFound:
                return match.group(0)  # raised where it is rendered, as before
            if _SCOPED.search(text):
                return match.group(0)
            return self._inline(text, partial, depth=depth + 1)

        return _INCLUDE.sub(replace, source)


def environment(*, filters: dict[str, str] | None = None, **options) -> Environment:
    """The environment Django's Jinja2 backend builds (``OPTIONS["environment"]``); ``filters``: more filters,
    each a name and the dotted path of its function."""
    options.pop("autoescape", None)
    options["undefined"] = Undefined  # a missing value prints nothing, as in Django's templates (the backend's
    # default under DEBUG, DebugUndefined, would print its name)
    env = Environment(autoescape=_autoescape, finalize=_finalize, keep_trailing_newline=True, **options)
    env.add_extension(InlineIncludes)
    env.filters.update(
        date=_date, linebreaks=_linebreaks, linebreaksbr=_linebreaksbr, pluralize=defaultfilters.pluralize
    )
    env.filters.update({name: import_string(path) for name, path in (filters or {}).items()})
    return env
