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


# --- hostile pictures: hand-made EXIF, odd modes, metadata to strip -----------------------------


def tiff_block(*entries: tuple[int, int, int, bytes]) -> bytes:
    """A big-endian TIFF header and one IFD of ``(tag, type, count, value bytes)`` entries, as
    an EXIF block holds it. Nothing checks the types: that is the point (a crafted block)."""
    import struct

    values_at = 8 + 2 + 12 * len(entries) + 4
    ifd, values = b"", b""
    for tag, kind, count, value in entries:
        if len(value) <= 4:
            ifd += struct.pack(">HHI", tag, kind, count) + value.ljust(4, b"\0")
        else:
            ifd += struct.pack(">HHII", tag, kind, count, values_at + len(values))
            values += value
    return b"MM\0*" + struct.pack(">IH", 8, len(entries)) + ifd + b"\0\0\0\0" + values


def with_exif(block: bytes, fmt: str = "JPEG", size=(40, 30)) -> bytes:
    """A picture carrying ``block`` (a TIFF structure, see ``tiff_block``) as its EXIF."""
    out = io.BytesIO()
    exif = b"Exif\0\0" + block if fmt == "JPEG" else block
    Image.new("RGB", size, "blue").save(out, format=fmt, exif=exif)
    return out.getvalue()


def animated(fmt: str, frames: int = 3, size=(60, 40)) -> bytes:
    images = [Image.new("RGB", size, color) for color in ("red", "green", "blue")[:frames]]
    out = io.BytesIO()
    images[0].save(out, format=fmt, save_all=True, append_images=images[1:], duration=100)
    return out.getvalue()


def sixteen_bit_grey_png(size=(64, 48), grey: int = 40_000) -> bytes:
    return raw_png(*size, bit_depth=16, colour_type=0, pixel=grey.to_bytes(2, "big"))


def transparent_png(size: tuple[int, int]) -> bytes:
    """A fully transparent RGBA PNG: 6300 x 6300 of them compress to about 154 KB."""
    return picture("PNG", size, mode="RGBA", color=(0, 0, 0, 0), optimize=True)


def jpeg_segments(data: bytes) -> list[str]:
    """The marker segments of a JPEG up to its first scan: "APP0", "DQT", "COM", ..."""
    names = {0xC0: "SOF0", 0xC2: "SOF2", 0xC4: "DHT", 0xDB: "DQT", 0xDD: "DRI", 0xFE: "COM"}
    assert data[:2] == b"\xff\xd8"
    found, pos = [], 2
    while data[pos] == 0xFF and data[pos + 1] != 0xDA:
        marker = data[pos + 1]
        found.append(
            f"APP{marker - 0xE0}" if 0xE0 <= marker <= 0xEF else names.get(marker, hex(marker))
        )
        pos += 2 + int.from_bytes(data[pos + 2 : pos + 4], "big")
    return found


def png_chunks(data: bytes) -> list[str]:
    """The chunk types of a PNG, in order: "IHDR", "IDAT", ..., "IEND"."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    found, pos = [], 8
    while pos < len(data):
        length = int.from_bytes(data[pos : pos + 4], "big")
        found.append(data[pos + 4 : pos + 8].decode("latin-1"))
        pos += 12 + length
    return found


def raw_png(width: int, height: int, *, bit_depth: int, colour_type: int, pixel: bytes) -> bytes:
    """A PNG written by hand, every pixel ``pixel``: for what Pillow cannot save (16-bit RGB)."""
    import struct
    import zlib

    def chunk(kind: bytes, body: bytes) -> bytes:
        return (
            struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))
        )

    header = struct.pack(">IIBBBBB", width, height, bit_depth, colour_type, 0, 0, 0)
    rows = (b"\0" + pixel * width) * height  # filter type 0 on every row
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(rows))
        + chunk(b"IEND", b"")
    )
