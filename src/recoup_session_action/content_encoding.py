"""Decoding an answer's `Content-Encoding` under a cap, so that no answer, however it is encoded (stacked
encodings, nested gzip bombs), can take more than a few times the cap in memory."""

from __future__ import annotations

import zlib

ACCEPTED = "gzip, deflate"
"""The encodings asked for (`Accept-Encoding`), and the only ones decoded."""
MAX_LAYERS = 3


class Undecodable(ValueError):
    """The body is not what its Content-Encoding says, or uses an encoding this client does not decode."""


class TooLarge(ValueError):
    """Decoded, the body would be larger than the cap."""


def decode(body: bytes, content_encoding: str, limit: int) -> bytes:
    """`body` with every encoding in `content_encoding` undone (the last applied first), at most `limit` bytes."""
    codings = [coding.strip().lower() for coding in content_encoding.split(",") if coding.strip()]
    codings = [coding for coding in codings if coding != "identity"]
    if len(codings) > MAX_LAYERS:
        raise Undecodable(f"{len(codings)} stacked encodings (at most {MAX_LAYERS} are decoded)")
    for coding in reversed(codings):
        if coding in {"gzip", "x-gzip"}:
            body = _inflate(body, 16 + zlib.MAX_WBITS, limit, coding)
        elif coding == "deflate":
            wbits = zlib.MAX_WBITS if body[:1] == b"\x78" else -zlib.MAX_WBITS  # zlib-wrapped or raw, as sent
            body = _inflate(body, wbits, limit, coding)
        else:
            raise Undecodable(f"Content-Encoding {coding} is not one of {ACCEPTED}")
    return body


def _inflate(data: bytes, wbits: int, limit: int, coding: str) -> bytes:
    """Every member of `data` inflated, never producing more than `limit` + 1 bytes."""
    out = bytearray()
    while data:
        inflater = zlib.decompressobj(wbits)
        pending = data
        try:
            while pending and not inflater.eof:
                # max_length is at least 1 here: 0 would mean "no limit".
                out += inflater.decompress(pending, limit + 1 - len(out))
                if len(out) > limit:
                    raise TooLarge(f"over {limit} bytes once decoded")
                pending = inflater.unconsumed_tail
        except zlib.error as error:
            raise Undecodable(f"the body is not valid {coding} ({error})") from None
        if not inflater.eof:
            raise Undecodable(f"the {coding} body is cut short")
        data = inflater.unused_data if wbits > 0 else b""
    return bytes(out)
