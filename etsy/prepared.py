"""Prepared statements for the few constant hand-written statements of the write path (issue 23).

Django opens psycopg connections with prepared statements off (``prepare_threshold`` None: a pooler in
transaction mode could not keep them) and binds parameters on the client, so PostgreSQL parses and plans
every statement on every request. This deployment talks to PostgreSQL directly (no pooler): a statement
run through ``prepared_cursor`` is prepared once per connection (psycopg keeps its name) and planned once: the
connections run with ``plan_cache_mode=force_generic_plan`` (settings, ``DB_PREPARED_STATEMENTS``). Left to
choose, PostgreSQL compares the generic plan with the custom plans of the first five runs and kept planning anew
on every run a statement whose parameter is an array of ids: a custom plan counts its three ids, the generic one
guesses ten, so the custom plan always looked cheaper (the paid checkout's order read, 6 tables, about 0.35 ms of
planning a run). Planning the add-to-cart's locking read (offering, listing, shop, options) took about six times
longer than running it. Write a statement here so that one plan serves every parameter (ids, keys; not a
``LIKE`` pattern or a range whose best plan depends on the value).

The cursor is Django's (queries are logged and counted in tests) over a psycopg cursor that binds on the
server, with the Prometheus instrumentation every other cursor has. Only for statements whose text is a
constant with ``%s`` placeholders (a statement text per shape; psycopg keeps the last 100 per connection).
"""

from __future__ import annotations

import functools

from django.db import DEFAULT_DB_ALIAS, connections
from django.db.backends.postgresql.base import TIMESTAMPTZ_OID, ServerBindingCursor
from django.db.backends.postgresql.psycopg_any import register_tzloader
from django.db.models import Model
from django.db.models.base import ModelState
from django.db.models.fields.related_descriptors import ForeignKeyDeferredAttribute
from django.db.models.query_utils import DeferredAttribute
from django.db.models.signals import post_init, pre_init
from psycopg.pq import Format

from etsy.postgresql.base import exporting_cursor_class


class _PreparingCursor(ServerBindingCursor):
    def execute(self, query, params=None, *, prepare=True, **kwargs):
        return super().execute(query, params, prepare=prepare, **kwargs)

    def _send_query_prepared(self, name, pgq, **kwargs):
        # psycopg records the statement only when it sends its text; Django's query log reads that record.
        self._query = pgq
        return super()._send_query_prepared(name, pgq, **kwargs)


_cursor_classes: dict[str, type] = {}


def prepared_cursor():
    """A cursor of the default connection whose statements are prepared (use it as ``connection.cursor()``)."""
    db = connections[DEFAULT_DB_ALIAS]  # once: each use of the ``connection`` proxy looks it up again
    db.close_if_health_check_failed()
    db.ensure_connection()
    with db.wrap_database_errors:
        cursor_class = _cursor_classes.get(db.alias)
        if cursor_class is None:
            cursor_class = _cursor_classes[db.alias] = exporting_cursor_class(_PreparingCursor, db.alias, db.vendor)
        raw = cursor_class(db.connection)
        tzloader = db.connection.adapters.get_loader(TIMESTAMPTZ_OID, Format.TEXT)
        if db.timezone != tzloader.timezone:
            register_tzloader(db.timezone, raw)
        return db._prepare_cursor(raw)


@functools.cache
def _fields(entry) -> list:
    """The concrete fields an entry of ``models`` reads: ``(model, alias)`` every one, ``(model, alias, attnames)``
    the primary key and those, a tuple (the others are deferred: Django reads one on first use, in a query of its
    own)."""
    model = entry[0]
    if len(entry) == 2:
        return model._meta.concrete_fields
    wanted = {model._meta.pk.attname, *entry[2]}
    return [field for field in model._meta.concrete_fields if field.attname in wanted]


def select_list(models) -> str:
    """The columns of each entry of ``models`` (``_fields``) in field order: a hand-written join read as
    select_related reads it (``only()`` when an entry names its fields)."""
    return ", ".join(f'{entry[1]}."{field.column}"' for entry in models for field in _fields(entry))


@functools.cache
def _plain_attnames(entry) -> tuple[str, ...] | None:
    """The attribute names an entry's instance is built with directly (``instances_from_row``), or None when its
    model needs Django's ``from_db``: a model of its own ``__init__`` or ``from_db``, one with ``pre_init`` or
    ``post_init`` receivers (an ImageField's), or a field whose attribute is set through a descriptor of its own.
    Receivers are connected as models are prepared, before any read; one connected later is not seen here."""
    model = entry[0]
    if (
        model.__init__ is not Model.__init__
        or model.from_db.__func__ is not Model.from_db.__func__
        or pre_init.has_listeners(model)
        or post_init.has_listeners(model)
    ):
        return None
    fields = _fields(entry)
    if any(type(model.__dict__.get(field.attname)) not in _PLAIN_DESCRIPTORS for field in fields):
        return None
    return tuple(field.attname for field in fields)


# Field attributes that store what is assigned in the instance's __dict__ (a foreign key's clears a cached related
# object first: a new instance has none).
_PLAIN_DESCRIPTORS = {DeferredAttribute, ForeignKeyDeferredAttribute}


def instances_from_row(row, models) -> tuple[list, int]:
    """The row's instances of ``models`` (``select_list``'s order; None where a LEFT JOIN found nothing) and the
    index of the row's first column after them.

    Built as ``Model.from_db`` builds them (the same ``__dict__``: state, then the columns read; deferred columns
    absent, read on first use) but without ``Model.__init__``'s walk over every field and its signals, when the
    model allows it (``_plain_attnames``): a checkout's worker builds some forty instances."""
    found, start = [], 0
    for entry in models:
        fields = _fields(entry)
        values = row[start : start + len(fields)]
        start += len(fields)
        if values[0] is None:
            found.append(None)
            continue
        model = entry[0]
        attnames = _plain_attnames(entry)
        if attnames is not None:
            instance = model.__new__(model)
            state = instance._state = ModelState()
            state.adding, state.db = False, DEFAULT_DB_ALIAS
            instance.__dict__.update(zip(attnames, values, strict=True))
            found.append(instance)
        elif len(entry) == 2:
            found.append(model.from_db(DEFAULT_DB_ALIAS, None, values))
        else:
            found.append(model.from_db(DEFAULT_DB_ALIAS, [field.attname for field in fields], values))
    return found, start


def fetch_instances(sql: str, params, models, *, cursor=prepared_cursor) -> list[list]:
    """Run a hand-written read (prepared, unless ``cursor`` opens another kind) and return each row's instances
    of ``models`` (``instances_from_row``), in the rows' order."""
    with cursor() as opened:
        opened.execute(sql, params)
        rows = opened.fetchall()
    return [instances_from_row(row, models)[0] for row in rows]


class UnnestRows:
    """The rows of a model written by a hand-written ``INSERT ... SELECT ... FROM`` (``source``): one array parameter
    per column that varies from row to row, one plain parameter per column every row shares, whatever the number of
    rows, so the statement's text is constant (prepared once).

    Every concrete field but the primary key and those in ``given`` (the statement writes those itself, e.g. a
    parent's id from a CTE) is a column: a field added to the model is written with its default, as ``bulk_create``
    would, and its ``auto_now``/``auto_now_add`` timestamps get the ``now`` of ``arrays``. ``varying``: the fields
    whose values differ between rows (None: all); every other one must be the same in all the rows of a statement.
    """

    def __init__(self, model, *, given: tuple[str, ...] = (), varying: tuple[str, ...] | None = None) -> None:
        self.fields = tuple(f for f in model._meta.concrete_fields if not f.primary_key and f.attname not in given)
        self.varying = tuple(f for f in self.fields if varying is None or f.attname in varying)
        self.shared = tuple(f for f in self.fields if f not in self.varying)
        self.names = ", ".join(f'"{f.column}"' for f in self.fields)

    def source(self, alias: str) -> str:
        """The rows as a FROM item: ``unnest(%s::type[], ...) WITH ORDINALITY AS alias(varying columns..., n)``
        (``n``: the rows' order), joined to the one row of shared columns (``alias_shared``)."""
        connection = connections[DEFAULT_DB_ALIAS]
        arrays = ", ".join(f"%s::{f.db_type(connection)}[]" for f in self.varying)
        names = ", ".join(f'"{f.column}"' for f in self.varying)
        rows = f"unnest({arrays}) WITH ORDINALITY AS {alias}({names}, n)"
        if not self.shared:
            return rows
        shared = ", ".join(f'%s::{f.db_type(connection)} AS "{f.column}"' for f in self.shared)
        return f"({rows} CROSS JOIN (SELECT {shared}) AS {alias}_shared)"

    def select(self, alias: str) -> str:
        """Every column, in ``names``'s order, read from ``source``."""
        return ", ".join(f'{alias if f in self.varying else alias + "_shared"}."{f.column}"' for f in self.fields)

    def arrays(self, rows: list[dict], *, now) -> list[list]:
        """Every column's values (one list per field, in ``fields``'s order) of ``rows`` (``{attname: value}``; a
        field not named takes its default, a timestamp its ``now``)."""
        columns = []
        for field in self.fields:
            name = field.attname
            if getattr(field, "auto_now", False) or getattr(field, "auto_now_add", False):
                columns.append([row.get(name, now) for row in rows])
            elif all(name in row for row in rows):
                columns.append([row[name] for row in rows])
            else:
                columns.append([row[name] if name in row else field.get_default() for row in rows])
        return columns

    def params(self, columns: list[list]) -> list:
        """``source``'s parameters from ``arrays``'s columns: each varying column's list, then each shared column's
        value (ValueError when the rows do not share it)."""
        by_field = dict(zip(self.fields, columns, strict=True))
        shared = []
        for field in self.shared:
            values = by_field[field]
            if any(value != values[0] for value in values):
                raise ValueError(f"the rows differ in {field.attname}, which they share in this statement")
            shared.append(values[0])
        return [by_field[field] for field in self.varying] + shared
