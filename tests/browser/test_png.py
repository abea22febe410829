"""The screenshot check itself: a blank image fails it, a varied one passes."""

from __future__ import annotations

import struct
import zlib

import pytest

from tests.support.png import colour_census


def png(width: int, height: int, pixel: object, filter_type: int = 0) -> bytes:
    """An 8-bit RGB PNG; ``pixel(x, y)`` gives each pixel's three bytes."""
    rows = b"".join(
        bytes([filter_type]) + b"".join(pixel(x, y) for x in range(width))  # type: ignore[operator]
        for y in range(height)
    )

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
        )

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(rows))
        + chunk(b"IEND", b"")
    )


def test_a_blank_screenshot_has_one_colour() -> None:
    assert colour_census(png(40, 30, lambda x, y: b"\xff\xff\xff")) == (1, 1.0)


def test_a_varied_image_is_counted_pixel_by_pixel() -> None:
    image = png(16, 16, lambda x, y: bytes([x * 16, y * 16, 0]))
    assert colour_census(image) == (256, 1 / 256)


def test_filtered_rows_are_undone() -> None:
    # Every raw byte 1: "Sub" adds the pixel to the left (pixel x becomes x + 1),
    # "Up" the pixel above (row y becomes y + 1); either way 8 colours, not 1.
    for filter_type in (1, 2):
        assert colour_census(png(8, 8, lambda x, y: b"\x01\x01\x01", filter_type)) == (8, 1 / 8)
    for filter_type in (3, 4):  # Average and Paeth: the predictor changes the bytes too
        assert colour_census(png(8, 8, lambda x, y: b"\x01\x01\x01", filter_type))[0] > 1


def test_not_a_png_is_refused() -> None:
    with pytest.raises(ValueError, match="PNG"):
        colour_census(b"GIF89a")
