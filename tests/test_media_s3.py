"""Pictures in an S3-compatible bucket (Tencent COS, Aliyun OSS, MinIO, AWS) through
django-storages, against moto's standalone S3 server on loopback: outside our walls, like
WeChat, so faked at the HTTP level and nothing else."""

import io
from datetime import timedelta

import boto3
import pytest
import requests
from django.utils import timezone
from moto.server import ThreadedMotoServer
from PIL import Image

from accounts.models import Upload
from accounts.services import upload_create, uploads_sweep
from lottery_site.settings import media_storage_config
from tests.pictures import jpeg_with_gps, picture

pytestmark = pytest.mark.django_db
BUCKET = "lottery-media"
CREDENTIALS = {"MEDIA_S3_ACCESS_KEY_ID": "test-key", "MEDIA_S3_SECRET_ACCESS_KEY": "test-secret"}


@pytest.fixture(scope="module")
def s3_endpoint():
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


@pytest.fixture
def bucket(s3_endpoint, settings):
    """A fresh bucket, and the "media" storage configured for it the way the environment does."""
    client = boto3.client(
        "s3",
        endpoint_url=s3_endpoint,
        aws_access_key_id="test-key",
        aws_secret_access_key="test-secret",
        region_name="us-east-1",
    )
    client.create_bucket(Bucket=BUCKET)
    env = {
        "MEDIA_S3_BUCKET": BUCKET,
        "MEDIA_S3_ENDPOINT_URL": s3_endpoint,
        "MEDIA_S3_REGION": "us-east-1",
        "MEDIA_S3_ADDRESSING_STYLE": "path",
        "MEDIA_S3_ACL": "public-read",  # anyone may read a picture, as the clients must
        **CREDENTIALS,
    }
    settings.STORAGES = {**settings.STORAGES, "media": media_storage_config(env)}
    yield client
    for item in client.list_objects_v2(Bucket=BUCKET).get("Contents", []):
        client.delete_object(Bucket=BUCKET, Key=item["Key"])
    client.delete_bucket(Bucket=BUCKET)


def keys(client) -> list[str]:
    return [item["Key"] for item in client.list_objects_v2(Bucket=BUCKET).get("Contents", [])]


def test_upload_goes_to_the_bucket_and_its_url_serves_the_clean_picture(bucket, user_client):
    response = user_client.post(
        "/api/v1/uploads",
        {"file": _named(jpeg_with_gps((1600, 900)), "photo.jpg"), "purpose": "cover"},
        format="multipart",
    )

    assert response.status_code == 201, response.content
    data = response.json()["data"]
    upload = Upload.objects.get(public_id=data["id"])
    assert keys(bucket) == [upload.file]
    assert data["url"].endswith(f"/{BUCKET}/{upload.file}") and "Signature" not in data["url"]
    served = requests.get(data["url"], timeout=5)
    image = Image.open(io.BytesIO(served.content))
    assert image.size == (data["width"], data["height"]) == (1280, 720)
    assert not image.getexif()  # no GPS in the bucket either
    head = bucket.head_object(Bucket=BUCKET, Key=upload.file)
    assert head["ContentType"] == "image/jpeg"
    assert "immutable" in head["CacheControl"]


def test_public_base_url_points_clients_at_the_cdn_in_front_of_the_bucket(
    bucket, user_client, settings
):
    settings.MEDIA_PUBLIC_BASE_URL = "https://img.example.com"
    response = user_client.post(
        "/api/v1/uploads", {"file": _named(picture(), "a.jpg"), "purpose": "avatar"}
    )
    upload = Upload.objects.get()
    assert response.json()["data"]["url"] == f"https://img.example.com/{upload.file}"


def test_sweeper_deletes_unused_pictures_from_the_bucket_twice_harmlessly(bucket, user):
    upload_create(owner=user, purpose="cover", data=picture(), now=timezone.now())
    assert len(keys(bucket)) == 1
    later = timezone.now() + timedelta(days=2)

    assert uploads_sweep(now=later) == 1
    assert uploads_sweep(now=later) == 0
    assert keys(bucket) == [] and not Upload.objects.exists()


def test_refused_file_leaves_nothing_in_the_bucket(bucket, user_client):
    response = user_client.post(
        "/api/v1/uploads", {"file": _named(b"<html></html>", "x.png"), "purpose": "cover"}
    )
    assert response.json()["code"] == 40030
    assert keys(bucket) == []


def test_without_a_bucket_the_media_storage_is_the_var_media_folder(settings):
    config = media_storage_config({})
    assert config["BACKEND"] == "django.core.files.storage.FileSystemStorage"
    assert config["OPTIONS"]["location"] == str(settings.MEDIA_ROOT)


def _named(data: bytes, name: str) -> io.BytesIO:
    handle = io.BytesIO(data)
    handle.name = name
    return handle
