"""Pictures people upload: decoded, checked and re-encoded before anything is stored.

A file is judged by what Pillow can decode, never by its name or content type: JPEG, PNG and
WebP only. Its pixel count is read from the header and refused above UPLOAD_MAX_PIXELS before a
pixel is decoded (a 100 KB PNG can claim 100 000 x 100 000 pixels: a decompression bomb). What
we store is our own re-encode of the decoded pixels, so nothing of the original file survives:
no EXIF (a phone's GPS position), no comment chunk, no HTML or script appended after the image
data, no second file hidden in it (a polyglot). The EXIF orientation is applied first, so the
picture stays upright once its metadata is gone.

Pure: bytes in, bytes out; no database, no storage. ``lottery_site.errors`` names the refusals.
"""

import io
import warnings
from dataclasses import dataclass

from django.conf import settings
from PIL import Image, ImageOps, UnidentifiedImageError

from lottery_site.errors import ApplicationError

ACCEPTED_FORMATS = ("JPEG", "PNG", "WEBP")


@dataclass(frozen=True)
class Variant:
    """How a purpose is stored: ``crop`` fills exactly ``size``; otherwise fit inside it.
    ``lossless``: always PNG (a mini-program code must stay sharp to be scanned)."""

    size: tuple[int, int]
    crop: bool = False
    lossless: bool = False


# Sized for a phone screen at 2-3x: an avatar is shown at most ~80 pt, a cover full width.
VARIANTS = {
    "avatar": Variant((256, 256), crop=True),
    "cover": Variant((1280, 2560)),
    "prize": Variant((800, 800)),
    "share_code": Variant((1280, 1280), lossless=True),
}

JPEG_QUALITY = 85


@dataclass(frozen=True)
class ProcessedImage:
    content: bytes
    width: int
    height: int
    format: str  # "JPEG" or "PNG"

    @property
    def extension(self) -> str:
        return "jpg" if self.format == "JPEG" else "png"

    @property
    def content_type(self) -> str:
        return "image/jpeg" if self.format == "JPEG" else "image/png"


def process_image(data: bytes, *, purpose: str) -> ProcessedImage:
    """Decode ``data``, refuse what is not a sane picture, and re-encode it for ``purpose``.

    Raises ApplicationError: ``image_too_large`` (bytes), ``image_too_many_pixels``,
    ``image_invalid`` (not JPEG/PNG/WebP, damaged or truncated).
    """
    if len(data) > settings.UPLOAD_MAX_BYTES:
        raise ApplicationError("image_too_large", data={"max_bytes": settings.UPLOAD_MAX_BYTES})
    variant = VARIANTS[purpose]
    image = _decode(data, at_least=min(variant.size))
    image = ImageOps.exif_transpose(image)
    return _encode(_resized(image, variant), lossless=variant.lossless)


def _decode(data: bytes, *, at_least: int) -> Image.Image:
    """The decoded picture; a JPEG decoded at the smallest of 1/1, 1/2, 1/4, 1/8 scale that
    keeps both sides >= ``at_least`` (libjpeg's draft mode: a 12-megapixel photo becomes a 256
    pixel avatar about three times faster, see the commit). Both sides at least the smaller
    bound of a variant is always enough for it, whichever way the photo is turned."""
    try:
        with warnings.catch_warnings():
            # Pillow warns above its own MAX_IMAGE_PIXELS; ours is checked just below.
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(data), formats=ACCEPTED_FORMATS)
            # Header only so far: the size is known, no pixel has been decoded.
            if image.width * image.height > settings.UPLOAD_MAX_PIXELS:
                raise ApplicationError(
                    "image_too_many_pixels", data={"max_pixels": settings.UPLOAD_MAX_PIXELS}
                )
            if image.format == "JPEG":
                image.draft("RGB", (at_least, at_least))
            image.load()  # a truncated or corrupt file fails here
    except Image.DecompressionBombError:
        raise ApplicationError(
            "image_too_many_pixels", data={"max_pixels": settings.UPLOAD_MAX_PIXELS}
        ) from None
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, EOFError):
        # OSError: "image file is truncated", broken chunks; SyntaxError: Pillow's own for a
        # malformed PNG; ValueError/EOFError: unreadable frames.
        raise ApplicationError("image_invalid") from None
    return image


def _resized(image: Image.Image, variant: Variant) -> Image.Image:
    if variant.crop:
        return ImageOps.fit(image, variant.size, method=Image.Resampling.LANCZOS)
    if image.width > variant.size[0] or image.height > variant.size[1]:
        image = image.copy()
        image.thumbnail(variant.size, Image.Resampling.LANCZOS)
    return image


def _encode(image: Image.Image, *, lossless: bool) -> ProcessedImage:
    """A fresh file from the pixels alone: PNG when the picture has transparency, else JPEG."""
    has_alpha = image.mode in ("RGBA", "LA", "PA") or (
        image.mode == "P" and "transparency" in image.info
    )
    out = io.BytesIO()
    if has_alpha or lossless:
        image.convert("RGBA" if has_alpha else "RGB").save(out, format="PNG", optimize=True)
        fmt = "PNG"
    else:
        image.convert("RGB").save(out, format="JPEG", quality=JPEG_QUALITY, optimize=True)
        fmt = "JPEG"
    return ProcessedImage(out.getvalue(), image.width, image.height, fmt)
