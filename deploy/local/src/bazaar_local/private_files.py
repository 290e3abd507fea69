"""Files only their owner may read: passwords, keys, secrets."""

from __future__ import annotations

import os
from pathlib import Path


def write_private_file(path: Path, content: str | bytes) -> None:
    """Write `content` to `path` with mode 0600, replacing it atomically."""
    path.parent.mkdir(parents=True, exist_ok=True)
    data = content.encode("utf-8") if isinstance(content, str) else content
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.unlink(missing_ok=True)
    # Created 0600 from the start, so the secret is never readable by others, even briefly.
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)
    os.replace(tmp, path)
