"""Join the pieces of a report posted as several messages: photo then text, albums, pins."""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import replace
from datetime import timedelta

from handlers.messages import Incoming

PIECE_WINDOW = timedelta(minutes=2)


Author = tuple[str, str]


def _author(message: Incoming) -> Author:
    return (message.chat_id, message.sender.user_id)


class _DescribedIndex:
    """Messages with words, by author and time, to find a piece's owner without a full scan."""

    def __init__(self, messages: Sequence[Incoming]) -> None:
        self._by_author: dict[Author, list[Incoming]] = defaultdict(list)
        self._by_album: dict[tuple[Author, str], Incoming] = {}
        for message in sorted(messages, key=lambda m: m.sent_at):
            self._by_author[_author(message)].append(message)
            if message.album_id:
                self._by_album.setdefault((_author(message), message.album_id), message)
        self._times = {a: [m.sent_at for m in ms] for a, ms in self._by_author.items()}

    def owner_of(self, piece: Incoming, window: timedelta) -> Incoming | None:
        """The same author's worded message nearest in time (within the window), or the album's."""
        author = _author(piece)
        if piece.album_id and (author, piece.album_id) in self._by_album:
            return self._by_album[(author, piece.album_id)]
        times = self._times.get(author, [])
        low = bisect_left(times, piece.sent_at - window)
        high = bisect_right(times, piece.sent_at + window)
        nearby = self._by_author[author][low:high]
        if not nearby:
            return None
        # On a tie the later message wins: people usually send the photo first, then say what it is.
        return min(
            nearby, key=lambda m: (abs(m.sent_at - piece.sent_at), m.sent_at < piece.sent_at)
        )


MessageKey = tuple[str, str]


def message_key(message: Incoming) -> MessageKey:
    """Message ids are unique per chat only."""
    return (message.chat_id, message.message_id)


def assign_pieces(
    messages: Sequence[Incoming], window: timedelta = PIECE_WINDOW
) -> dict[MessageKey, list[Incoming]]:
    """Map each described message's id to the wordless photos, videos and pins that belong to it."""
    index = _DescribedIndex([m for m in messages if not m.is_media_only])
    pieces: dict[MessageKey, list[Incoming]] = {}
    for message in messages:
        if message.is_media_only and message.sender.user_id:  # anonymous pieces stay apart
            owner = index.owner_of(message, window)
            if owner is not None:
                pieces.setdefault(message_key(owner), []).append(message)
    return pieces


def merge_pieces(described: Incoming, pieces: Sequence[Incoming]) -> Incoming:
    """One message holding the description plus every piece's media and the first pin."""
    attachments = described.attachments + tuple(a for p in pieces for a in p.attachments)
    location = described.location or next((p.location for p in pieces if p.location), None)
    return replace(described, attachments=attachments, location=location)
