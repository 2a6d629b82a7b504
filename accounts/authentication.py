"""API token authentication: DRF's TokenAuthentication, with the token's account kept in the web process.

DRF reads the token and its account (one query, and most of the ORM work of a small API write) on every
request. Here that read is one hand-written, prepared statement (the ORM took longer to build it than PostgreSQL
to answer it), and only until the process keeps the token: each process keeps which account a token is in its
near cache (``etsy.near_cache``) under a marker in Redis (``account:token:<digest>``: the token itself never
reaches Redis), and the account as the session backend keeps it (``accounts.backends``: dropped when the account
is saved or deleted). Saving or deleting a token deletes its marker (``accounts.receivers``), and Redis's
invalidation message drops every process's copy. A deactivated or deleted account is never served from a copy:
the token is read again and refused with DRF's own message.
"""

from __future__ import annotations

from django.db import DEFAULT_DB_ALIAS, router
from django.utils.translation import gettext as _
from rest_framework.authentication import TokenAuthentication
from rest_framework.authtoken.models import Token
from rest_framework.exceptions import AuthenticationFailed

from accounts.backends import NearCachedModelBackend, keep_account
from accounts.models import User
from etsy import cache, near_cache
from etsy.prepared import fetch_instances, select_list

# The token and its account, every column, as DRF's ``select_related("user")`` reads them.
_ROW_MODELS = ((Token, "t"), (User, "u"))
_TOKEN_SQL = f"""
    SELECT {select_list(_ROW_MODELS)}
      FROM {Token._meta.db_table} AS t
      JOIN {User._meta.db_table} AS u ON u.id = t.user_id
     WHERE t.key = %s
"""


class NearCachedTokenAuthentication(TokenAuthentication):
    def read_credentials(self, key):
        """DRF's ``authenticate_credentials``: the token with its account, refused with DRF's own messages when
        unknown or inactive; one prepared statement where DRF would read the primary (replica reads go through
        DRF)."""
        if router.db_for_read(Token) != DEFAULT_DB_ALIAS:
            return super().authenticate_credentials(key)
        found = fetch_instances(_TOKEN_SQL, [key], _ROW_MODELS)
        if not found:
            raise AuthenticationFailed(_("Invalid token."))
        ((token, user),) = found
        if not user.is_active:
            raise AuthenticationFailed(_("User inactive or deleted."))
        Token.user.field.set_cached_value(token, user)
        return user, token

    def authenticate_credentials(self, key):
        near = near_cache.get()
        if near is None or not near.tracking:
            return self.read_credentials(key)
        raw = cache.raw_key(cache.account_token_key(key))
        kept = near.lookup([raw]).get(raw)
        if kept is not None:
            user_id, created = kept
            user = NearCachedModelBackend().get_user(user_id)  # None when deactivated or deleted
            if user is not None:
                token = Token.from_db(DEFAULT_DB_ALIAS, None, (key, user_id, created))  # as read: not adding
                Token.user.field.set_cached_value(token, user)
                return user, token
        since = near.snapshot()
        user, token = self.read_credentials(key)  # raises for an unknown token or an inactive account
        # The account too (read in the same query), both markers in one round trip.
        keep_account(near, user, since=since, also={cache.account_token_key(key): (token.user_id, token.created)})
        return user, token
