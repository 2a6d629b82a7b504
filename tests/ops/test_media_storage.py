"""Media in an S3-compatible bucket (django-storages), tested against a local S3 server (moto's, from PyPI).

Listing pictures are uploaded through the catalog service into the bucket and rendered with URLs
from the storage (the CDN domain), with no existence request per render.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import boto3
import pytest
from django.core.files.storage import FileSystemStorage, default_storage
from django.core.files.uploadedfile import SimpleUploadedFile

from catalog.models import ProductImage
from catalog.services import listings
from catalog.templatetags.shop_tags import product_image
from etsy import images
from tests.admin.images import jpeg_bytes
from tests.local_services import free_port

ROOT = Path(__file__).resolve().parents[2]
BUCKET = "etsy-media-test"
CDN = "media.cdn.example.test"


@pytest.fixture(scope="module")
def s3_endpoint():
    server_module = pytest.importorskip("moto.server", reason="moto[server] is not installed (requirements-test)")
    server = server_module.ThreadedMotoServer(ip_address="127.0.0.1", port=free_port(), verbose=False)
    server.start()
    endpoint = f"http://127.0.0.1:{server._port}"
    boto3.client(
        "s3", endpoint_url=endpoint, region_name="us-east-1", aws_access_key_id="test", aws_secret_access_key="test"
    ).create_bucket(Bucket=BUCKET)
    yield endpoint
    server.stop()


def _s3_client(endpoint):
    return boto3.client(
        "s3", endpoint_url=endpoint, region_name="us-east-1", aws_access_key_id="test", aws_secret_access_key="test"
    )


def _settings_storages(env: dict) -> dict:
    """STORAGES as etsy.settings builds it from these environment variables (a fresh process)."""
    code = "import json; from django.conf import settings; print(json.dumps(settings.STORAGES['default']))"
    out = subprocess.run(
        [sys.executable, "-c", f"import django; django.setup(); {code}"],
        cwd=ROOT,
        env={**os.environ, "DJANGO_SETTINGS_MODULE": "etsy.settings", **env},
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return json.loads(out)


@pytest.fixture
def s3_media(settings, s3_endpoint):
    storages = _settings_storages(
        {
            "MEDIA_S3_BUCKET": BUCKET,
            "MEDIA_S3_ENDPOINT_URL": s3_endpoint,
            "MEDIA_S3_REGION": "us-east-1",
            "MEDIA_S3_ACCESS_KEY_ID": "test",
            "MEDIA_S3_SECRET_ACCESS_KEY": "test",
            "MEDIA_S3_ADDRESSING_STYLE": "path",
            "MEDIA_CDN_DOMAIN": CDN,
        }
    )
    settings.STORAGES = {**settings.STORAGES, "default": storages}
    return storages


def test_development_keeps_media_on_local_disk():
    assert _settings_storages({"MEDIA_S3_BUCKET": ""})["BACKEND"] == "django.core.files.storage.FileSystemStorage"


def test_bucket_settings_come_from_the_environment(s3_media, s3_endpoint):
    assert s3_media["BACKEND"] == "storages.backends.s3.S3Storage"
    options = s3_media["OPTIONS"]
    assert options["bucket_name"] == BUCKET and options["endpoint_url"] == s3_endpoint
    assert options["custom_domain"] == CDN and options["querystring_auth"] is False
    assert options["file_overwrite"] is True  # server-chosen names: no existence request before a write


@pytest.mark.django_db
def test_uploaded_picture_lands_in_the_bucket_and_renders_from_the_cdn(s3_media, s3_endpoint, product, monkeypatch):
    upload = SimpleUploadedFile("walnut board.jpg", jpeg_bytes(), content_type="image/jpeg")
    picture = listings.add_product_image(product=product, upload=upload, alt_text="Walnut board")

    client = _s3_client(s3_endpoint)
    keys = {item["Key"] for item in client.list_objects_v2(Bucket=BUCKET)["Contents"]}
    expected = {
        f"media/{picture.image.name}",
        f"media/{picture.thumbnail.name}",
        f"media/{images.webp_name(picture.image.name)}",
        f"media/{images.webp_name(picture.thumbnail.name)}",
    }
    assert expected <= keys
    head = client.head_object(Bucket=BUCKET, Key=f"media/{picture.image.name}")
    assert head["CacheControl"] == "public, max-age=31536000, immutable"
    assert head["ContentType"] == "image/jpeg"

    def no_storage_requests(*args, **kwargs):
        raise AssertionError("a page render must not ask the storage whether a file exists")

    monkeypatch.setattr(type(default_storage._wrapped), "exists", no_storage_requests)
    product.refresh_from_db()
    html = product_image(product, "hero", image=ProductImage.objects.get(pk=picture.pk))
    assert f'src="https://{CDN}/media/{picture.image.name}"' in html
    assert f'srcset="https://{CDN}/media/{images.webp_name(picture.image.name)}"' in html


def test_pictures_without_a_twin_render_without_webp_source_and_without_asking_storage(monkeypatch):
    monkeypatch.setattr(FileSystemStorage, "exists", lambda *a, **k: pytest.fail("exists() called during a render"))

    class Stored:
        def __init__(self, name):
            self.name = name
            self.url = "/media/" + name

        def __bool__(self):
            return True

    demo = images.picture_sources(Stored("products/demo/mug-blue.jpg"))
    assert demo == {"src": "/media/products/demo/mug-blue.jpg", "webp": ""}
    uploaded = images.picture_sources(Stored("products/2026/12/" + "ab" * 16 + ".jpg"))
    assert uploaded["webp"].endswith("/products/2026/12/" + "ab" * 16 + ".webp")
