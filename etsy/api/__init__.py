"""Wiring shared by every JSON endpoint under /api/v1/.

Kept in small modules because settings name some of them (throttles, pagination) and
DRF resolves those while ``rest_framework.views`` is still being imported: they must
not import views themselves.

- ``errors``: one error body for every error the API answers itself,
  ``{"error": {"code", "message", "fields", "extra"}}``; a ``DomainError`` keeps its
  code and the status its class declares.
- ``pagination``: page-number pagination over lists with a total order.
- ``throttling``: anonymous, authenticated, and a stricter ``auth`` scope.
- ``schema``: documents the errors every operation can answer with.
- ``views``: base classes (private, never-stored responses) and permissions.
"""
