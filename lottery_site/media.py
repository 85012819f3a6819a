"""Where pictures are stored and the URL the public reads them from.

The "media" storage (settings.STORAGES) is a folder under var/media by default, or an
S3-compatible bucket (MEDIA_S3_*). Clients get absolute URLs: MEDIA_PUBLIC_BASE_URL when set (a
CDN or the bucket's public domain), else the storage's own URL, made absolute with the host the
request came to when the storage answers a path (the filesystem: /media/...).
"""

from django.conf import settings
from django.core.files.base import ContentFile
from django.core.files.storage import Storage, storages


def media_storage() -> Storage:
    return storages["media"]


def save(name: str, content: bytes) -> str:
    """Store ``content`` under ``name`` (never overwriting: names are unique); the stored name."""
    return media_storage().save(name, ContentFile(content))


def delete(name: str) -> None:
    """Remove ``name``; a name already gone is fine (the sweeper may run twice)."""
    media_storage().delete(name)


def public_url(name: str, request=None) -> str:
    base = settings.MEDIA_PUBLIC_BASE_URL
    if base:
        return f"{base.rstrip('/')}/{name}"
    url = media_storage().url(name)
    if url.startswith("/") and request is not None:
        return request.build_absolute_uri(url)
    return url
