"""Bulk writes of the loader: the batch size, and letting a bulk load set ``created_at`` itself."""

from __future__ import annotations

BATCH = 2000


def _without_auto_now(model, field_name: str):
    """Let a bulk load set ``created_at`` itself (listings of different ages)."""
    field_obj = model._meta.get_field(field_name)

    class _Ctx:
        def __enter__(self):
            self.saved = field_obj.auto_now_add
            field_obj.auto_now_add = False

        def __exit__(self, *exc):
            field_obj.auto_now_add = self.saved

    return _Ctx()
