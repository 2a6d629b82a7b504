"""A signed-in buyer's account is kept in the web process, and every change to it ends that at once."""

from __future__ import annotations

import pytest
from django.conf import settings
from django.contrib.auth import get_user_model
from django.urls import reverse

from accounts.backends import NearCachedModelBackend
from etsy import cache, near_cache
from tests.worker import run_in_another_process

HISTORY = "/orders/"  # a page only a signed-in buyer sees


def kept(user_id: int) -> bool:
    near = near_cache.get()
    raw = cache.raw_key(cache.account_key(user_id))
    return bool(near.lookup([raw]))


@pytest.fixture
def tracked():
    near = near_cache.get()
    assert near is not None and near.sync(), "the invalidation listener did not start"
    return near


@pytest.fixture
def signed_in(client, buyer, tracked, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):  # login saves last_login: its marker goes
        client.force_login(buyer)
    client.get(HISTORY)  # loads the account and creates its marker
    assert tracked.sync()
    client.get(HISTORY)  # loads it again and keeps it
    assert kept(buyer.pk)
    return client


def test_a_signed_in_buyers_cached_product_page_costs_no_query(signed_in, product, django_assert_num_queries):
    url = product.get_absolute_url()
    signed_in.get(url)
    signed_in.get(url)
    with django_assert_num_queries(0):  # not even the account's
        assert signed_in.get(url).status_code == 200


def test_each_request_gets_its_own_copy(buyer, tracked):
    backend = NearCachedModelBackend()
    backend.get_user(buyer.pk)
    assert tracked.sync()
    first = backend.get_user(buyer.pk)
    first.display_name = "changed in one request"
    second = backend.get_user(buyer.pk)
    assert second is not first and second.display_name == "Bea Buyer"
    # Nor its model state (what related objects a request loaded onto it).
    assert second._state is not first._state and second._state.fields_cache is not first._state.fields_cache
    assert not second._state.adding and second == first


def test_a_password_change_ends_the_other_sessions(signed_in, buyer, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        buyer.set_password("a-new-Secret-2026")
        buyer.save()
    assert not kept(buyer.pk)
    response = signed_in.get(HISTORY)
    assert response.status_code == 302 and reverse("accounts:login") in response["Location"]


def test_a_deactivated_account_is_signed_out(signed_in, buyer, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        buyer.is_active = False
        buyer.save(update_fields=["is_active"])
    response = signed_in.get(HISTORY)
    assert response.status_code == 302


def test_no_password_hash_is_written_to_redis(signed_in, buyer):
    from django.core.cache import caches

    assert caches["default"].get(cache.account_key(buyer.pk)) == 1  # the marker, nothing else
    client = caches["default"].client.get_client()
    for raw in client.scan_iter(f"{settings.CACHE_KEY_PREFIX}:*"):
        assert buyer.password.encode() not in (client.dump(raw) or b"")


@pytest.mark.django_db(transaction=True)
def test_an_account_deactivated_by_another_process_is_signed_out_here(client, tracked):
    user = get_user_model().objects.create_user(email="other@example.com", password="x-Pass-2026!")
    client.force_login(user)
    client.get(HISTORY)
    assert tracked.sync()
    assert client.get(HISTORY).status_code == 200
    assert kept(user.pk)
    run_in_another_process(
        f"from accounts.models import User; u = User.objects.get(pk={user.pk}); u.is_active = False; u.save()"
    )
    assert tracked.sync()
    assert not kept(user.pk)
    assert client.get(HISTORY).status_code == 302
