"""The bytes both strict mocks serve as a recording's audio or a message's media, and the
content type a media URL's extension implies.

Shared so that the Plivo-style and the Twilio-style mock hand a client the same real files (a
player or an SDK reading them sees valid audio), and guess a media's type the same way.
"""

from __future__ import annotations

import struct

# An ID3 header and one silent MPEG-1 Layer III frame (32 kbit/s, 8 kHz is not MPEG-1: 32 kHz).
SILENT_MP3 = b"ID3\x03\x00\x00\x00\x00\x00\x00" + b"\xff\xfb\x18\xc4" + b"\x00" * 140
# What a message's media holds here, whatever its type: the start and end markers of a JPEG.
MEDIA_BYTES = b"\xff\xd8\xff\xe0demo\xff\xd9"

_CONTENT_TYPES = {
    "png": "image/png",
    "gif": "image/gif",
    "mp4": "video/mp4",
    "pdf": "application/pdf",
}


def silent_wav(seconds: float = 0.25, rate: int = 8000) -> bytes:
    """A real (silent) 8 kHz, 16-bit mono WAV file: what a recording's media is made of here."""
    data = b"\x00\x00" * int(seconds * rate)
    header = struct.pack(
        "<4sI4s4sIHHIIHH4sI",
        *(b"RIFF", 36 + len(data), b"WAVE", b"fmt ", 16, 1, 1, rate, rate * 2, 2, 16),
        *(b"data", len(data)),
    )
    return header + data


def media_type(url: str) -> str:
    """The content type of the media at ``url``, from its last segment's extension; a JPEG
    when it has none the mocks know."""
    tail = url.rsplit("/", 1)[-1]
    ext = tail.rsplit(".", 1)[-1].lower() if "." in tail else ""
    return _CONTENT_TYPES.get(ext, "image/jpeg")
