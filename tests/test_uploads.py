"""Uploaded pictures (issue #14, "Uploads and images"): POST /api/v1/uploads and its checks."""

import io
import uuid
from datetime import UTC, datetime, timedelta

import jsonschema
import pytest
import time_machine
from django.core.files.storage import storages
from django.test import Client
from PIL import Image

from accounts.models import Upload
from accounts.services import upload_create, uploads_sweep
from accounts.tasks import sweep_uploads
from lottery_site.throttling import UploadRateThrottle
from tests.conftest import client_for
from tests.factories import UserFactory
from tests.pictures import decoded, jpeg_with_gps, picture, png_header_claiming

pytestmark = pytest.mark.django_db
URL = "/api/v1/uploads"


def wx_upload_file(client, data: bytes, purpose="cover", *, filename="tmp_0a1b2c.jpg", **extra):
    """POST the body ``wx.uploadFile`` sends: ``file`` with a temporary name, formData fields."""
    boundary = f"----WeChatFormBoundary{uuid.uuid4().hex}"
    parts = [
        f'--{boundary}\r\nContent-Disposition: form-data; name="purpose"\r\n\r\n{purpose}\r\n'.encode(),
        *(
            f'--{boundary}\r\nContent-Disposition: form-data; name="{k}"\r\n\r\n{v}\r\n'.encode()
            for k, v in extra.items()
        ),
        (
            f"--{boundary}\r\n"
            f'Content-Disposition: form-data; name="file"; filename="{filename}"\r\n'
            "Content-Type: image/jpeg\r\n\r\n"
        ).encode()
        + data
        + b"\r\n",
        f"--{boundary}--\r\n".encode(),
    ]
    return client.generic(
        "POST", URL, b"".join(parts), content_type=f"multipart/form-data; boundary={boundary}"
    )


def stored_bytes(upload: Upload) -> bytes:
    with storages["media"].open(upload.file) as handle:
        return handle.read()


def refused(response, code: int) -> None:
    assert response.status_code == code // 100, response.content
    assert response.json()["code"] == code
    assert Upload.objects.count() == 0


# --- the happy path ---------------------------------------------------------------------------


def test_upload_as_wx_upload_file_sends_it_answers_201_with_id_url_and_size(user_client, user):
    response = wx_upload_file(user_client, picture("JPEG", (2000, 1000)), "cover")

    assert response.status_code == 201, response.content
    data = response.json()["data"]
    upload = Upload.objects.get(public_id=data["id"])
    assert upload.owner_id == user.pk and upload.purpose == "cover"
    assert (data["width"], data["height"]) == (1280, 640)  # covers: at most 1280 wide
    assert data["url"] == f"http://testserver/media/{upload.file}"
    assert decoded(stored_bytes(upload)).size == (1280, 640)


@pytest.mark.parametrize(
    ("purpose", "size", "expected"),
    [
        ("avatar", (1000, 600), (256, 256)),  # cropped to fill the square
        ("avatar", (100, 100), (256, 256)),
        ("cover", (800, 600), (800, 600)),  # small enough: kept
        ("prize", (3000, 1500), (800, 400)),
        ("prize", (500, 2000), (200, 800)),
    ],
)
def test_each_purpose_is_resized_to_its_own_bounds(user_client, purpose, size, expected):
    response = wx_upload_file(user_client, picture("PNG", size), purpose)
    data = response.json()["data"]
    assert (data["width"], data["height"]) == expected
    assert decoded(stored_bytes(Upload.objects.get())).size == expected


@pytest.mark.parametrize("fmt", ["JPEG", "PNG", "WEBP"])
def test_jpeg_png_and_webp_are_accepted(user_client, fmt):
    assert wx_upload_file(user_client, picture(fmt), "prize").status_code == 201


def test_transparent_png_stays_png_and_a_photo_becomes_jpeg(user_client):
    wx_upload_file(user_client, picture("PNG", mode="RGBA", color=(0, 0, 0, 0)), "prize")
    wx_upload_file(user_client, picture("WEBP"), "prize")
    transparent, photo = Upload.objects.order_by("pk")
    assert decoded(stored_bytes(transparent)).format == "PNG"
    assert decoded(stored_bytes(photo)).format == "JPEG"
    assert transparent.file.endswith(".png") and photo.file.endswith(".jpg")


def test_api_client_multipart_works_too(user_client):
    upload = io.BytesIO(picture())
    upload.name = "a.jpg"
    response = user_client.post(URL, {"file": upload, "purpose": "avatar"}, format="multipart")
    assert response.status_code == 201


# --- metadata ---------------------------------------------------------------------------------


def test_exif_gps_of_the_phone_is_gone_after_upload(user_client):
    original = jpeg_with_gps()
    assert Image.open(io.BytesIO(original)).getexif().get_ifd(0x8825)  # the test's premise

    wx_upload_file(user_client, original, "cover")

    stored = decoded(stored_bytes(Upload.objects.get()))
    assert not stored.getexif()
    assert stored.getexif().get_ifd(0x8825) == {}
    assert "exif" not in stored.info


def test_exif_orientation_is_applied_before_the_metadata_is_dropped(user_client):
    # Orientation 6: the camera stored it sideways; viewers rotate it 90 degrees.
    wx_upload_file(user_client, jpeg_with_gps((400, 300), orientation=6), "cover")
    assert decoded(stored_bytes(Upload.objects.get())).size == (300, 400)


# --- hostile and broken files -----------------------------------------------------------------


def test_html_named_png_is_refused_and_nothing_is_stored(user_client):
    html = b"<!DOCTYPE html><html><script>alert(document.cookie)</script></html>"
    files_before = _stored_files()
    refused(wx_upload_file(user_client, html, "cover", filename="cat.png"), 40030)
    assert _stored_files() == files_before


def test_polyglot_is_stored_as_a_clean_re_encode_without_the_payload(user_client):
    payload = b"<script>alert(1)</script><?php system($_GET['c']); ?>"
    # Valid JPEG bytes with HTML/PHP after the end-of-image marker, and a ZIP (a GIFAR-like
    # archive) after that: a browser or an archive reader would find them; Pillow ignores them.
    zip_tail = _zip_with("evil.html", payload)
    polyglot = picture("JPEG", (300, 200)) + payload + zip_tail

    response = wx_upload_file(user_client, polyglot, "prize")

    assert response.status_code == 201
    stored = stored_bytes(Upload.objects.get())
    assert payload not in stored and b"PK\x03\x04" not in stored and b"script" not in stored
    assert decoded(stored).size == (300, 200)
    assert stored.endswith(b"\xff\xd9")  # nothing after the re-encoded image's end marker
    assert len(stored) < len(polyglot)


def test_image_of_10000_by_10000_pixels_is_refused_without_decoding_its_pixels(
    user_client, monkeypatch
):
    bomb = png_header_claiming(10_000, 10_000)
    assert len(bomb) < 100  # a tiny file claiming 100 million pixels
    decoded_pixels = []
    monkeypatch.setattr(Image.Image, "load", lambda self: decoded_pixels.append(self))

    refused(wx_upload_file(user_client, bomb, "cover"), 40032)
    assert decoded_pixels == []


def test_pixel_limit_comes_from_settings(user_client, settings):
    settings.UPLOAD_MAX_PIXELS = 100 * 100
    refused(wx_upload_file(user_client, picture("PNG", (101, 100)), "cover"), 40032)
    assert wx_upload_file(user_client, picture("PNG", (100, 100)), "cover").status_code == 201


def test_truncated_jpeg_is_refused(user_client):
    whole = picture("JPEG", (800, 600), color="green", quality=95)
    refused(wx_upload_file(user_client, whole[: len(whole) // 2], "cover"), 40030)


@pytest.mark.parametrize(
    "data",
    [
        picture("GIF"),
        picture("BMP"),
        picture("TIFF"),
        b"",
        b"\x89PNG\r\n\x1a\n" + b"\x00" * 64,  # a PNG signature and nothing sane after it
    ],
    ids=["gif", "bmp", "tiff", "empty", "png-signature-only"],
)
def test_formats_other_than_jpeg_png_webp_and_garbage_are_refused(user_client, data):
    response = wx_upload_file(user_client, data, "cover")
    assert response.status_code == 400
    assert response.json()["code"] in (40030, 40000)  # empty: "file" is required
    assert Upload.objects.count() == 0


def test_file_above_the_byte_limit_is_refused(user_client, settings):
    settings.UPLOAD_MAX_BYTES = 10_000
    big = _noisy_png(80, 80)  # noise compresses badly: ~19 KB, within the multipart margin
    assert len(big) > 10_000
    refused(wx_upload_file(user_client, big, "cover"), 40031)


def test_body_far_above_the_limit_is_a_413_before_it_is_read(user_client, settings):
    settings.UPLOAD_MAX_BYTES = 10_000
    response = wx_upload_file(user_client, b"x" * 200_000, "cover")
    assert response.status_code == 413 and response.json()["code"] == 41300


def test_json_bodies_keep_their_64_kib_limit(user_client):
    response = user_client.patch("/api/v1/me", {"nickname": "x" * 70_000}, format="json")
    assert response.status_code == 413


def test_upload_must_be_multipart(user_client):
    response = user_client.post(URL, {"purpose": "cover"}, format="json")
    assert response.status_code == 415


# --- who and what -----------------------------------------------------------------------------


def test_wrong_purpose_is_a_400(user_client):
    response = wx_upload_file(user_client, picture(), "share_code")
    refused(response, 40000)
    assert "purpose" in response.json()["data"]


def test_unknown_form_field_is_a_400(user_client):
    refused(wx_upload_file(user_client, picture(), "cover", status="ok"), 40000)


def test_anonymous_caller_cannot_upload(api):
    refused(wx_upload_file(api, picture(), "cover"), 40100)


def test_uploads_are_rate_limited_per_user(user, monkeypatch):
    monkeypatch.setattr(UploadRateThrottle, "THROTTLE_RATES", {"upload": "2/hour"})
    client, other = client_for(user), client_for(UserFactory())
    assert wx_upload_file(client, picture(), "cover").status_code == 201
    assert wx_upload_file(client, picture(), "cover").status_code == 201
    third = wx_upload_file(client, picture(), "cover")
    assert third.status_code == 429 and third.json()["code"] == 42900
    assert wx_upload_file(other, picture(), "cover").status_code == 201


# --- the sweeper ------------------------------------------------------------------------------

NOW = datetime(2025, 3, 1, 8, 0, tzinfo=UTC)


def uploaded(user, purpose="cover", now=NOW) -> Upload:
    return upload_create(owner=user, purpose=purpose, data=picture(), now=now)


def test_uploads_nobody_used_are_deleted_after_a_day_file_and_row(user):
    upload = uploaded(user)
    media = storages["media"]
    assert media.exists(upload.file)

    assert uploads_sweep(now=NOW + timedelta(hours=23)) == 0
    assert uploads_sweep(now=NOW + timedelta(hours=25)) == 1

    assert not Upload.objects.exists() and not media.exists(upload.file)


def test_sweeping_twice_changes_nothing_the_second_time(user):
    uploaded(user, "cover")
    uploaded(user, "prize")
    later = NOW + timedelta(days=2)
    with time_machine.travel(later, tick=False):
        assert sweep_uploads() == 2
        assert sweep_uploads() == 0
    assert not Upload.objects.exists()


def test_sweeper_finishes_a_run_that_died_after_marking(user):
    upload = uploaded(user)
    # A previous run marked it and deleted its file, then died before deleting the row.
    Upload.objects.filter(pk=upload.pk).update(discarded_at=NOW + timedelta(days=1))
    storages["media"].delete(upload.file)

    assert uploads_sweep(now=NOW + timedelta(days=2)) == 1
    assert not Upload.objects.exists()


def test_sweep_is_a_beat_entry_declared_in_code(settings):
    entry = settings.CELERY_BEAT_SCHEDULE["accounts.sweep_uploads"]
    assert entry["task"] == "accounts.tasks.sweep_uploads"


# --- helpers ----------------------------------------------------------------------------------


def _stored_files() -> set[str]:
    media = storages["media"]
    found: set[str] = set()

    def walk(folder: str) -> None:
        dirs, files = media.listdir(folder)
        found.update(f"{folder}/{name}" for name in files)
        for sub in dirs:
            walk(f"{folder}/{sub}" if folder else sub)

    if media.exists(""):
        walk("")
    return found


def _zip_with(name: str, content: bytes) -> bytes:
    import zipfile

    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        archive.writestr(name, content)
    return out.getvalue()


def _noisy_png(width: int, height: int) -> bytes:
    import os

    image = Image.frombytes("RGB", (width, height), os.urandom(width * height * 3))
    out = io.BytesIO()
    image.save(out, format="PNG")
    return out.getvalue()


def test_openapi_describes_the_upload_as_multipart_with_a_binary_file(api):
    schema = api.get("/api/schema/", HTTP_ACCEPT="application/json").json()
    operation = schema["paths"]["/api/v1/uploads"]["post"]
    assert operation["operationId"] == "uploadCreate"
    body = operation["requestBody"]["content"]
    assert list(body) == ["multipart/form-data"]
    ref = body["multipart/form-data"]["schema"]["$ref"].rsplit("/", 1)[1]
    fields = schema["components"]["schemas"][ref]["properties"]
    assert fields["file"] == {"type": "string", "format": "binary"}
    assert set(schema["components"]["schemas"][ref]["required"]) == {"file", "purpose"}


@pytest.mark.parametrize(
    ("purpose", "orientation", "expected"),
    [
        ("cover", 1, (1280, 960)),
        ("cover", 6, (1280, 1707)),  # turned upright: portrait, still 1280 wide
        ("avatar", 6, (256, 256)),
        ("prize", 8, (600, 800)),
    ],
)
def test_large_photos_decoded_at_reduced_scale_still_fill_their_bounds(
    user_client, purpose, orientation, expected
):
    # libjpeg's draft mode decodes a 12-megapixel JPEG at 1/2..1/8 scale; never below the output.
    wx_upload_file(user_client, jpeg_with_gps((4000, 3000), orientation=orientation), purpose)
    assert decoded(stored_bytes(Upload.objects.get())).size == expected


def test_upload_refusals_carry_the_data_the_api_document_promises(user_client, settings):
    """The SDK types `data` per code from the document: 40031 and 40032 must say the limit."""
    schema = Client().get("/api/schema/", HTTP_ACCEPT="application/json").json()
    refusals = schema["paths"][URL]["post"]["responses"]["400"]["content"]["application/json"]
    by_code = {
        code: option
        for option in refusals["schema"]["oneOf"]
        for code in option["properties"]["code"]["enum"]
    }
    settings.UPLOAD_MAX_PIXELS = 100 * 100
    too_many_pixels = wx_upload_file(user_client, picture("PNG", (101, 100)), "cover").json()
    settings.UPLOAD_MAX_BYTES = 100
    too_large = wx_upload_file(user_client, picture("PNG", (50, 50)), "cover").json()
    for body in (too_many_pixels, too_large):
        jsonschema.validate(body, {**by_code[body["code"]], "components": schema["components"]})
    assert too_many_pixels["data"] == {"max_pixels": 100 * 100}
    assert by_code[40032]["properties"]["data"]["required"] == ["max_pixels"]
