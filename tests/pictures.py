"""Pictures for tests, made with Pillow: honest ones and hostile ones."""

import io

from PIL import Image


def picture(
    fmt: str = "JPEG", size: tuple[int, int] = (640, 480), *, color="red", mode="RGB", **save
) -> bytes:
    out = io.BytesIO()
    Image.new(mode, size, color).save(out, format=fmt, **save)
    return out.getvalue()


def jpeg_with_gps(size=(400, 300), orientation: int | None = None) -> bytes:
    """A JPEG carrying a phone's GPS position (and an orientation) in its EXIF."""
    image = Image.new("RGB", size, "blue")
    exif = Image.Exif()
    exif[0x010F] = "PhoneMaker"  # Make
    gps = {1: "N", 2: (39.0, 54.0, 27.0), 3: "E", 4: (116.0, 23.0, 31.0)}
    exif[0x8825] = gps  # GPSInfo IFD
    if orientation is not None:
        exif[0x0112] = orientation
    out = io.BytesIO()
    image.save(out, format="JPEG", exif=exif.tobytes())
    return out.getvalue()


def phone_photo(orientation: int = 6) -> bytes:
    """What a phone sends: a 4032 x 3024 JPEG of about 2.4 MB, shot sideways (EXIF orientation
    6: turn it a quarter to stand it upright), with the maker, model and GPS position in EXIF.

    The pixels are blurred noise, which compresses about as badly as a photo does.
    """
    width, height = 4032, 3024
    channels = [Image.effect_noise((width // 4, height // 4), 30).convert("L") for _ in range(3)]
    image = Image.merge("RGB", channels).resize((width, height), Image.Resampling.BILINEAR)
    exif = Image.Exif()
    exif[0x010F] = "PhoneMaker"  # Make
    exif[0x0110] = "Phone 15"  # Model
    exif[0x0112] = orientation
    exif[0x8825] = {1: "N", 2: (31.0, 14.0, 2.0), 3: "E", 4: (121.0, 28.0, 9.0)}  # GPSInfo
    out = io.BytesIO()
    image.save(out, format="JPEG", quality=80, exif=exif.tobytes())
    return out.getvalue()


def png_header_claiming(width: int, height: int) -> bytes:
    """A small, valid-looking PNG whose header claims ``width`` x ``height`` pixels.

    Made by saving a 1-pixel PNG and rewriting IHDR's size (and CRC): decoding its pixels would
    need gigabytes, reading its header needs nothing.
    """
    import struct
    import zlib

    data = bytearray(picture("PNG", (1, 1)))
    ihdr = 8  # after the signature: length (4), "IHDR" (4), data (13), crc (4)
    data[ihdr + 8 : ihdr + 16] = struct.pack(">II", width, height)
    crc = zlib.crc32(bytes(data[ihdr + 4 : ihdr + 21]))
    data[ihdr + 21 : ihdr + 25] = struct.pack(">I", crc)
    return bytes(data)


def decoded(data: bytes) -> Image.Image:
    image = Image.open(io.BytesIO(data))
    image.load()
    return image
