"""Content-addressed media store: a file's name is its sha256, so copies are stored once."""

from __future__ import annotations

import hashlib
import os
import re
import tempfile
from dataclasses import replace
from pathlib import Path

from handlers.messages import Attachment

_SHA256 = re.compile(r"[0-9a-f]{64}")


class MediaStore:
    """Files under root/<first two hex digits>/<sha256><suffix>."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def put(self, data: bytes, *, suffix: str = "") -> tuple[str, Path]:
        """Store bytes (once); returns their sha256 and path."""
        digest = hashlib.sha256(data).hexdigest()
        path = self.root / digest[:2] / f"{digest}{suffix}"
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            with tempfile.NamedTemporaryFile(dir=path.parent, delete=False) as temporary:
                temporary.write(data)
            os.replace(temporary.name, path)  # atomic: readers never see half a file
        return digest, path

    def keep(self, attachment: Attachment, data: bytes, *, suffix: str = ".jpg") -> Attachment:
        """The attachment with its bytes stored: sha256, path and size filled in."""
        sha256, path = self.put(data, suffix=suffix)
        return replace(attachment, sha256=sha256, media_path=str(path), size_bytes=len(data))

    def read(self, sha256: str) -> bytes | None:
        """A stored file by its sha256 (whatever its suffix), or None."""
        if not _SHA256.fullmatch(sha256):
            return None
        found = sorted((self.root / sha256[:2]).glob(f"{sha256}*"))
        return found[0].read_bytes() if found else None
