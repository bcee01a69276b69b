"""Content-addressed media store: a file's name is its sha256, so copies are stored once."""

from __future__ import annotations

import hashlib
import os
import tempfile
from pathlib import Path


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
