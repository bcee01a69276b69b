"""Join the pieces of a report posted as several messages: photo then text, albums, pins."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import timedelta

from handlers.messages import Incoming

PIECE_WINDOW = timedelta(minutes=2)


def _same_author(a: Incoming, b: Incoming) -> bool:
    return a.chat_id == b.chat_id and a.sender.user_id == b.sender.user_id


def _described_message_for(piece: Incoming, described: Sequence[Incoming],
                           window: timedelta) -> Incoming | None:
    """The same author's message with words that is nearest in time to a wordless piece."""
    if piece.album_id:
        for candidate in described:
            if candidate.album_id == piece.album_id and _same_author(candidate, piece):
                return candidate
    nearby = [
        m for m in described
        if _same_author(m, piece) and abs(m.sent_at - piece.sent_at) <= window
    ]
    if not nearby:
        return None
    # On a tie the later message wins: people usually send the photo first, then say what it is.
    return min(nearby, key=lambda m: (abs(m.sent_at - piece.sent_at), m.sent_at < piece.sent_at))


def assign_pieces(messages: Sequence[Incoming],
                  window: timedelta = PIECE_WINDOW) -> dict[str, list[Incoming]]:
    """Map each described message's id to the wordless photos, videos and pins that belong to it."""
    described = [m for m in messages if not m.is_media_only]
    pieces: dict[str, list[Incoming]] = {}
    for message in messages:
        if not message.is_media_only:
            continue
        owner = _described_message_for(message, described, window)
        if owner is not None:
            pieces.setdefault(owner.message_id, []).append(message)
    return pieces


def merge_pieces(described: Incoming, pieces: Sequence[Incoming]) -> Incoming:
    """One message holding the description plus every piece's media and the first pin."""
    attachments = described.attachments + tuple(a for p in pieces for a in p.attachments)
    location = described.location or next((p.location for p in pieces if p.location), None)
    return replace(described, attachments=attachments, location=location)
