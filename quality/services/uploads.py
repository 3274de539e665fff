"""Uploaded files quality keeps (checklist photos, SOP images): what they really are."""

from __future__ import annotations

from PIL import Image, UnidentifiedImageError


def image_format(upload) -> str | None:
    """The format Pillow reads in an uploaded file ("JPEG", "PNG" ...), or None when it is not an
    image; the file is left at its start."""
    try:
        upload.seek(0)
        with Image.open(upload) as image:
            image.verify()
            return image.format
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError):
        return None
    finally:
        upload.seek(0)
