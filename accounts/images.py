"""Pictures people upload: decoded, checked and re-encoded before anything is stored.

A file is judged by what Pillow can decode, never by its name or content type: JPEG, PNG and
WebP only. Its pixel count is read from the header and refused above UPLOAD_MAX_PIXELS before a
pixel is decoded (a 100 KB PNG can claim 100 000 x 100 000 pixels: a decompression bomb), and
what is decoded is bounded again per purpose (``Variant.max_pixels``): a 154 KB transparent PNG
of 6300 x 6300 pixels passes the first limit but would cost a web worker 160 MB per copy, for a
256-pixel avatar. What we store is our own re-encode of the decoded pixels, so nothing of the
original file survives: no EXIF (a phone's GPS position), no XMP, no ICC profile (the colours
are converted to sRGB first), no JPEG comment or PNG text chunk, no HTML or script appended
after the image data, no second file hidden in it (a polyglot). The EXIF orientation is applied
first, so the picture stays upright once its metadata is gone.

Pure: bytes in, bytes out; no database, no storage. ``lottery_site.errors`` names the refusals.
"""

import io
import warnings
from dataclasses import dataclass

from django.conf import settings
from PIL import ExifTags, Image, ImageCms, UnidentifiedImageError

from lottery_site.errors import ApplicationError

ACCEPTED_FORMATS = ("JPEG", "PNG", "WEBP")


@dataclass(frozen=True)
class Variant:
    """How a purpose is stored: ``crop`` fills exactly ``size``; otherwise fit inside it.
    ``lossless``: always PNG (a mini-program code must stay sharp to be scanned).
    ``max_pixels``: the most pixels we decode for it (after a JPEG's reduced-scale decoding),
    which bounds a decode's memory and time (docs/api.md, "Uploading")."""

    size: tuple[int, int]
    max_pixels: int
    crop: bool = False
    lossless: bool = False


# Sized for a phone screen at 2-3x: an avatar is shown at most ~80 pt, a cover full width.
# The decode budgets bound a worker's memory: a PNG costs ~10 bytes a decoded pixel at its peak
# (the pixels, then their premultiplied copy while resizing), a progressive JPEG as much, a WebP
# twice that (it gets half the budget). Baseline JPEGs (every phone camera's) are decoded at
# reduced scale and fit any budget; larger PNG and WebP pictures only where the output can use
# them. Measured peaks in docs/api.md, "Uploading".
VARIANTS = {
    "avatar": Variant((256, 256), max_pixels=6_000_000, crop=True),
    "cover": Variant((1280, 2560), max_pixels=12_000_000),
    "prize": Variant((800, 800), max_pixels=8_000_000),
    "share_code": Variant((1280, 1280), max_pixels=4_000_000, lossless=True),
}

JPEG_QUALITY = 85

# EXIF orientation -> the transposition that turns the stored pixels upright.
_UPRIGHT = {
    2: Image.Transpose.FLIP_LEFT_RIGHT,
    3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_270,
    7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_90,
}
_QUARTER_TURNS = {5, 6, 7, 8}  # width and height swap

_SRGB = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB"))


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

    Raises ApplicationError: ``image_too_large`` (bytes), ``image_too_many_pixels`` (above
    UPLOAD_MAX_PIXELS, or above what ``purpose`` decodes), ``image_invalid`` (not
    JPEG/PNG/WebP, damaged, truncated, or an EXIF block that cannot be read).
    """
    if len(data) > settings.UPLOAD_MAX_BYTES:
        raise ApplicationError("image_too_large", data={"max_bytes": settings.UPLOAD_MAX_BYTES})
    variant = VARIANTS[purpose]
    image = _decode(data, variant)
    orientation = _orientation(image)
    # Shrunk first, turned after: the full-size picture is never copied.
    image = _resized(_resamplable(image), variant, turned=orientation in _QUARTER_TURNS)
    if orientation in _UPRIGHT:
        image = image.transpose(_UPRIGHT[orientation])
    return _encode(_srgb(image), lossless=variant.lossless)


def _decode(data: bytes, variant: Variant) -> Image.Image:
    """The decoded picture, bounded in pixels twice: UPLOAD_MAX_PIXELS on the header, then
    ``variant.max_pixels`` on what will really be decoded.

    A JPEG is decoded at the smallest of 1/1, 1/2, 1/4, 1/8 scale that keeps both sides >= the
    variant's smaller bound (libjpeg's draft mode: a 12-megapixel photo becomes a 256 pixel
    avatar about three times faster, see the commit); that is always enough, whichever way the
    photo is turned. A JPEG of several scans (progressive ones) counts at full size: libjpeg
    keeps every coefficient of the whole picture for it, whatever the scale (~3-6 bytes a
    pixel). PNG and WebP have no reduced decoding, and a WebP gets half the budget: Pillow
    decodes it through libwebp's animation decoder, which keeps a copy of its own.
    """
    try:
        with warnings.catch_warnings():
            # Pillow warns above its own MAX_IMAGE_PIXELS; ours is checked just below.
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(data), formats=ACCEPTED_FORMATS)
            # Header only so far: the size is known, no pixel has been decoded.
            full_pixels = image.width * image.height
            if full_pixels > settings.UPLOAD_MAX_PIXELS:
                raise _too_many_pixels(settings.UPLOAD_MAX_PIXELS)
            decoded_pixels = full_pixels
            if image.format in ("JPEG", "MPO") and _jpeg_scans(data) == 1:  # MPO: a JPEG + more
                at_least = min(variant.size)
                image.draft(None, (at_least, at_least))
                decoded_pixels = image.width * image.height
            budget = variant.max_pixels // 2 if image.format == "WEBP" else variant.max_pixels
            if decoded_pixels > budget:
                raise _too_many_pixels(budget)
            image.load()  # a truncated or corrupt file fails here
    except Image.DecompressionBombError:
        raise _too_many_pixels(settings.UPLOAD_MAX_PIXELS) from None
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, EOFError):
        # OSError: "image file is truncated", broken chunks; SyntaxError: Pillow's own for a
        # malformed PNG; ValueError/EOFError: unreadable frames.
        raise ApplicationError("image_invalid") from None
    return image


def _jpeg_scans(data: bytes, *, enough: int = 2) -> int:
    """How many scans (SOS segments) the JPEG has, counted up to ``enough``.

    Walks the markers: a segment is skipped by its length (an EXIF thumbnail is a whole JPEG
    inside one), a scan's entropy-coded data up to the next marker (in it, 0xFF is always
    followed by 0x00 or a restart marker). Anything odd stops the count; the decoder judges it.
    """
    scans, pos = 0, 2  # after SOI
    while pos + 4 <= len(data) and scans < enough and data[pos] == 0xFF:
        marker = data[pos + 1]
        if marker == 0xFF:  # fill byte
            pos += 1
            continue
        if marker == 0xD9:  # EOI
            break
        if 0xD0 <= marker <= 0xD7 or marker == 0x01:  # markers without a length
            pos += 2
            continue
        pos += 2 + int.from_bytes(data[pos + 2 : pos + 4], "big")
        if marker == 0xDA:  # SOS
            scans += 1
            pos = _after_entropy_coded_data(data, pos)
    return scans


def _after_entropy_coded_data(data: bytes, pos: int) -> int:
    while (pos := data.find(b"\xff", pos)) != -1 and pos + 1 < len(data):
        if data[pos + 1] != 0x00 and not 0xD0 <= data[pos + 1] <= 0xD7:
            return pos
        pos += 2
    return len(data)


def _too_many_pixels(limit: int) -> ApplicationError:
    return ApplicationError("image_too_many_pixels", data={"max_pixels": limit})


def _orientation(image: Image.Image) -> int:
    """The EXIF orientation, 1 (as stored) unless it is one of the eight the spec defines.

    A value of another type (6.0, "6", a list) is ignored as viewers ignore it. An EXIF block
    Pillow cannot parse at all is a damaged file: refused. Pillow's own ``exif_transpose``
    re-serialises the whole block after turning the picture, and a crafted tag makes that raise
    a TypeError; we drop the block anyway, so we read the one tag and never write it back.
    """
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # one per odd tag of a block we drop anyway
            orientation = image.getexif().get(ExifTags.Base.Orientation, 1)
    except Exception:  # noqa: BLE001 - Pillow's EXIF parser raises whatever a crafted block makes
        raise ApplicationError("image_invalid") from None
    return orientation if type(orientation) is int and orientation in _UPRIGHT else 1


def _resamplable(image: Image.Image) -> Image.Image:
    """A mode Pillow resizes with a real filter (it resizes palette and 1-bit pictures by
    nearest neighbour), with a transparency key turned into an alpha channel."""
    if image.mode in ("I", "I;16", "I;16B", "I;16L"):  # 16-bit grey PNG: keep the top 8 bits
        return image.point(lambda value: value / 256).convert("L")
    if "transparency" in image.info and image.mode in ("1", "L", "P", "RGB"):
        return image.convert("RGBA")
    if image.mode in ("1", "P", "PA"):
        return image.convert("RGBA" if image.mode == "PA" else "RGB" if image.mode == "P" else "L")
    return image


def _resized(image: Image.Image, variant: Variant, *, turned: bool) -> Image.Image:
    """Resized to the variant's bounds as the picture will stand once turned upright.

    ``reducing_gap``: Pillow first shrinks by a whole factor (a cheap box filter), then
    resamples with Lanczos from at most twice the output size.
    """
    width, height = variant.size[::-1] if turned else variant.size
    if variant.crop:
        return image.resize(
            (width, height),
            Image.Resampling.LANCZOS,
            box=_centred_box(image.size, (width, height)),
            reducing_gap=2.0,
        )
    image.thumbnail((width, height), Image.Resampling.LANCZOS)  # in place: no full-size copy
    return image


def _centred_box(size: tuple[int, int], target: tuple[int, int]) -> tuple[float, ...]:
    """The largest box of ``target``'s shape in the middle of ``size`` (what gets cropped to)."""
    (width, height), (target_w, target_h) = size, target
    if width * target_h > height * target_w:  # wider than the target: cut the sides
        kept = height * target_w / target_h
        return ((width - kept) / 2, 0, (width + kept) / 2, height)
    kept = width * target_h / target_w
    return (0, (height - kept) / 2, width, (height + kept) / 2)


def _srgb(image: Image.Image) -> Image.Image:
    """The pixels in sRGB, as RGB or RGBA, with nothing of the original file attached.

    A picture with an ICC profile (an iPhone's Display P3, a printer's CMYK) is converted
    through it, so its colours survive the profile being dropped; a profile LittleCMS cannot
    use is ignored (the pixels are kept as they are, as a browser would).
    """
    has_alpha = image.mode in ("RGBA", "LA", "PA")
    mode = "RGBA" if has_alpha else "RGB"
    icc = image.info.get("icc_profile")
    converted = None
    if icc and image.mode in ("RGB", "RGBA", "CMYK", "L"):
        try:
            source = ImageCms.ImageCmsProfile(io.BytesIO(icc))
            converted = ImageCms.profileToProfile(image, source, _SRGB, outputMode=mode)
        except (ImageCms.PyCMSError, OSError, ValueError, TypeError):
            converted = None
    if converted is None:
        converted = image.convert(mode)  # a new image even when the mode is already right
    converted.info = {}  # Pillow writes an ICC profile, XMP or comment it finds here
    return converted


def _encode(image: Image.Image, *, lossless: bool) -> ProcessedImage:
    """A fresh file from the pixels alone: PNG when the picture has transparency, else JPEG."""
    out = io.BytesIO()
    if image.mode == "RGBA" or lossless:
        image.save(out, format="PNG", optimize=True)
        fmt = "PNG"
    else:
        image.save(out, format="JPEG", quality=JPEG_QUALITY, optimize=True)
        fmt = "JPEG"
    return ProcessedImage(out.getvalue(), image.width, image.height, fmt)
