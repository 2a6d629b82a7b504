"""Page shells and the visitor's blocks that fill them.

Hot pages are cached as shells rendered once for everybody (``etsy.cache.render_shell``);
the per-visitor blocks (account links with the cart badge, flash messages, the buy box, the
CSRF token) are rendered per request into the shell's holes, so a signed-in buyer costs a
few small renders on top of one Redis read, not a whole page.
"""

from __future__ import annotations

import copy
import logging
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from functools import lru_cache, partial
from types import SimpleNamespace

from django.conf import settings
from django.contrib.auth.models import AnonymousUser
from django.contrib.messages import get_messages
from django.contrib.sessions.backends.base import SessionBase
from django.http import HttpRequest, HttpResponse
from django.template.loader import render_to_string

from catalog import extensions, selectors
from etsy import cache, metrics

logger = logging.getLogger(__name__)


def has_session(request: HttpRequest) -> bool:
    return settings.SESSION_COOKIE_NAME in request.COOKIES


def signed_in_user_id(request: HttpRequest) -> int | None:
    """The signed-in buyer's id, or None.

    A visitor without a session cookie is anonymous: answered without loading a session
    and a user (a first visit, a crawler), which is most of the traffic on a product page.
    """
    if not has_session(request):
        return None
    return request.user.pk if request.user.is_authenticated else None


def cart_count(request: HttpRequest) -> int:
    if request.user.is_authenticated:
        return extensions.count_cart_items(user=request.user)
    if not has_session(request) and not request.session.modified:  # no guest cart, and none started now
        return 0
    return extensions.count_cart_items(session=request.session)


def unread_count(request: HttpRequest) -> int:
    """The header's unread-messages badge (0 for visitors; hot pages read it with the page, see ``base_holes``)."""
    if not has_session(request) or not request.user.is_authenticated:
        return 0
    return int(extensions.count_unread_conversations(user_id=request.user.pk))


def personal_keys(user_id: int | None) -> list[str]:
    """The cache keys of a signed-in visitor's header (cart badge, unread messages), read with the page."""
    return [cache.cart_count_key(user_id), cache.unread_messages_key(user_id)] if user_id else []


def render_personal(request: HttpRequest, name: str, context: dict | None = None) -> str:
    return render_to_string(f"personal/{name}.html", context or {}, request=request)


def base_holes(
    request: HttpRequest, *, known_cart_count: int | None = None, known_unread: int | None = None
) -> dict[str, str]:
    """Fill the layout's holes: account links with the cart count and unread messages, and flash messages.

    ``known_*``: values the caller already read from the cache with its page (None: not cached).
    """
    # Without a session cookie nobody is signed in (pages authenticate by session only), and
    # asking request.user would load an empty session and build an anonymous user for nothing.
    fresh_visitor = not has_session(request)
    if fresh_visitor:
        nav = _account_nav(is_authenticated=False, is_staff=False, count=0, unread=0)
    else:
        count = known_cart_count if known_cart_count is not None else cart_count(request)
        nav = _account_nav(
            is_authenticated=request.user.is_authenticated,
            is_staff=bool(request.user.is_staff),
            count=int(count),
            unread=int(known_unread) if known_unread is not None else unread_count(request),
        )
    has_messages = (not fresh_visitor or "messages" in request.COOKIES) and len(get_messages(request)) > 0
    return {"account_nav": nav, "messages": render_personal(request, "messages") if has_messages else ""}


def known_personal(found: dict, user_id: int | None) -> dict:
    """``base_holes`` arguments from a page's cache read (``personal_keys``)."""
    if not user_id:
        return {}
    return {
        "known_cart_count": found.get(cache.cart_count_key(user_id)),
        "known_unread": found.get(cache.unread_messages_key(user_id)),
    }


@lru_cache(maxsize=512)
def _account_nav(*, is_authenticated: bool, is_staff: bool, count: int, unread: int = 0) -> str:
    """The header's account links for one kind of visitor, cart count and unread-messages count.

    (The CSRF token is filled per request.)

    Nothing in them names the visitor, so one rendering serves everybody alike.
    """
    who = SimpleNamespace(is_authenticated=is_authenticated, is_staff=is_staff)
    return render_to_string(
        "personal/account_nav.html",
        {"user": who, "cart_count": count, "unread_count": unread, "csrf_token": cache.CSRF_MARKER},
    )


def shell_request(request: HttpRequest) -> HttpRequest:
    """A copy of ``request`` without its visitor, to render a shell after the response (the refresher's thread).

    A shell holds nobody's data, so the copy is anonymous: its user is never loaded, its session never read.
    """
    detached = copy.copy(request)
    detached.user = AnonymousUser()
    detached.session = SessionBase()
    return detached


@dataclass(frozen=True)
class Revalidation:
    """How the refresher checks a page's copy against the database instead of rebuilding it.

    ``signature_of(context)``: a digest of what a page built from ``context`` shows; ``read_signatures(pages)``:
    the same digest of each of ``pages`` as the database has it now (a few narrow queries, no rendering), ``page``
    being this one, and pages of one ``group`` due together read together; ``build_fresh_context()``: the
    context read from the database, not from cached records, for a page that changed (a copy stamped fresh now
    must show data read now, not a record as old as the copy it replaces).
    """

    signature_of: Callable[[dict], str]
    read_signatures: Callable[[list], list[str]]
    page: Hashable
    group: Hashable
    build_fresh_context: Callable[[], dict]


class SignedCopyCheck:
    """The refresher's check of a due copy that carries its ``signature`` (``cache.BatchedRebuild``).

    The copy is stamped fresh another TTL (``stamped``) when the database still reads its signature
    (``read_signatures([page])[0]``), else rebuilt from the database (``rebuild_changed``). The checks of one
    ``group`` pending together read their signatures together; when that read fails, each reads its own, and one
    check's failure leaves the others done.
    """

    def __init__(self, *, key: str, signature, ttl: int, read_signatures: Callable[[list], list], page, group):
        self.key, self.signature, self.ttl = key, signature, ttl
        self.read_signatures, self.page = read_signatures, page
        self.batch_group = (read_signatures, group)

    def stamped(self):
        """The copy stamped fresh for another ``ttl``, to store."""
        raise NotImplementedError

    def rebuild_changed(self, signature_now) -> None:
        """Rebuild (and store) the copy whose signature the database no longer reads (``signature_now``)."""
        raise NotImplementedError

    def on_kept(self, checks: list[SignedCopyCheck]) -> None:
        """After ``checks`` (this one among them, of one group) are stored stamped fresh: nothing, or what a kept
        copy needs renewed with it."""

    def __call__(self) -> None:
        read = self.read_signatures([self.page]) if self.signature is not None else [None]
        kept = self.keep_or_rebuild(read[0])
        if kept is not None:
            cache.set_with_grace(self.key, kept, ttl=self.ttl)
            self.on_kept([self])

    def keep_or_rebuild(self, signature_now):
        """The copy stamped fresh, to store, when ``signature_now`` (the database's) is the one it carries; else
        rebuild it (stored) and None."""
        kind = cache.build_kind(self.key)
        if self.signature is not None and signature_now == self.signature:
            metrics.page_revalidations.labels(kind=kind, outcome="kept").inc()
            return self.stamped()
        metrics.page_revalidations.labels(kind=kind, outcome="rebuilt").inc()
        self.rebuild_changed(signature_now)
        return None

    def run_batch(self, checks: list[SignedCopyCheck]) -> None:
        reading = [check for check in checks if check.signature is not None]
        try:
            signatures = self.read_signatures([check.page for check in reading])
            read = dict(zip(reading, signatures, strict=True))
        except Exception:
            logger.warning("reading the signatures of %s and %d more failed", self.key, len(reading) - 1, exc_info=True)
            read = None
        kept: dict[int, dict[str, object]] = {}  # by TTL, stored together
        kept_checks = []
        for check in checks:
            try:
                if read is None:
                    check()
                elif (entry := check.keep_or_rebuild(read.get(check))) is not None:
                    kept.setdefault(check.ttl, {})[check.key] = entry
                    kept_checks.append(check)
            except Exception:  # the copy stays until its grace ends; the next reader queues it again
                logger.warning("background refresh of %s failed", check.key, exc_info=True)
        for ttl, entries in kept.items():
            cache.set_many_with_grace(entries, ttl=ttl)
        if kept_checks:
            self.on_kept(kept_checks)


class ShellCheck(SignedCopyCheck):
    """The check of a due page shell (``shell_response``): its entry carries the signature ``revalidation`` reads,
    and a changed one is rebuilt by ``rebuild``."""

    def __init__(self, *, key: str, entry: tuple, current: tuple, ttl: int, revalidation: Revalidation, rebuild):
        super().__init__(
            key=key,
            signature=entry[3] if len(entry) > 3 else None,
            ttl=ttl,
            read_signatures=revalidation.read_signatures,
            page=revalidation.page,
            group=revalidation.group,
        )
        self.entry, self.current, self.revalidation, self.rebuild = entry, current, revalidation, rebuild

    def stamped(self) -> tuple:
        return (self.current, self.entry[1], cache.fresh_until(self.ttl), self.signature)

    def rebuild_changed(self, signature_now) -> None:
        self.rebuild()


def shell_response(
    request: HttpRequest,
    *,
    key: str,
    ttl: int,
    cache_type: str,
    template: str,
    build_context,
    holes: dict[str, str] | None = None,
    status: int = 200,
    found: dict | None = None,
    gen_keys: tuple[str, ...] = (),
    cacheable=lambda context: True,
    revalidation: Revalidation | None = None,
) -> HttpResponse:
    """Serve ``template`` from a cached shell, filling the visitor's holes.

    One round trip on a warm cache: the shell, the generations it depends on (a listing's
    category or shop, the search version) and, for a signed-in buyer, the cart badge.
    The shell is stored with the generations it was built from; when one has moved on
    since, the shell is rebuilt. Past its TTL it is kept a minute longer, for the requests
    that arrive while one of them rebuilds it (``etsy.cache.STALE_GRACE_SECONDS``).
    ``found`` is passed when the caller already read these. With ``revalidation``, the copy carries the
    signature of what it shows, and a due copy whose signature the database still reads is stamped fresh
    again without being rebuilt (a changed one is rebuilt from the database).
    """
    user_id = signed_in_user_id(request)
    if found is None:
        keys = [key, *gen_keys, *personal_keys(user_id)]
        found = cache.read_with(keys) or {}
    current = tuple(int(found.get(g) or 0) for g in gen_keys)

    def build_shell(on: HttpRequest, build=build_context) -> str:
        context = build()
        shell = cache.render_shell(on, template, context)
        if cacheable(context):
            signature = revalidation.signature_of(context) if revalidation else None
            cache.set_with_grace(key, (current, shell, cache.fresh_until(ttl), signature), ttl=ttl)
        return shell

    entry = found.get(key)
    if entry is not None and entry[0] == current:
        # Past its freshness, it is checked or rebuilt after the response (this process's refresher); answer
        # with the copy.
        stamp = entry[2] if len(entry) > 2 else None
        on = shell_request(request)
        if revalidation is None:
            refresh = partial(build_shell, on)
        else:
            rebuild = partial(build_shell, on, revalidation.build_fresh_context)
            refresh = ShellCheck(
                key=key, entry=entry, current=current, ttl=ttl, revalidation=revalidation, rebuild=rebuild
            )
        cache.refresh_when_stale(key, stamp, refresh, early=cache.EARLY_REFRESH_SECONDS)
        metrics.cache_hits.labels(cache_type="page").inc()
        shell = entry[1]
    else:
        metrics.cache_misses.labels(cache_type="page").inc()
        with cache.counting_build(key, by="request"):
            shell = build_shell(request)
    all_holes = base_holes(request, **known_personal(found, user_id))
    if holes:
        all_holes.update(holes)
    return HttpResponse(cache.fill_shell(shell, all_holes, partial(cache.csrf_token, request)), status=status)


def favorite_ids_of(request: HttpRequest):
    user_id = signed_in_user_id(request)
    if user_id is not None:
        return selectors.get_favorite_ids(user_id=user_id)
    return selectors.FavoriteIds(product_ids=frozenset(), shop_ids=frozenset())
