"""How evidence attachments lie under the instance (DESIGN.md §13): one file per content,
`<instance>/attachments/<first two hex digits of the sha256>/<sha256>`, written through a
temporary file in `attachments/tmp/` and renamed into place (services/attachments.py
says when). No database here."""

from __future__ import annotations

import contextlib
import os
import secrets
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from surveyapp.formats.attachments import CheckedFile

FOLDER = "attachments"
STALE_SECONDS = 24 * 3600


@dataclass(frozen=True)
class Blobs:
    """The attachment files of one instance."""

    root: Path

    @classmethod
    def of_instance(cls, instance: str | Path) -> Blobs:
        return cls(Path(instance) / FOLDER)

    def path(self, sha256: str) -> Path:
        if len(sha256) != 64 or not all(c in "0123456789abcdef" for c in sha256):
            raise ValueError(f"not a sha256: {sha256!r}")
        return self.root / sha256[:2] / sha256

    @property
    def tmp(self) -> Path:
        return self.root / "tmp"

    def stage(self, checked: CheckedFile) -> Staged:
        """Write the content to a new temporary file (flushed to disk)."""
        self.tmp.mkdir(parents=True, exist_ok=True, mode=0o700)
        self.remove_stale()
        target = self.tmp / f"{secrets.token_hex(16)}.part"
        descriptor = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "wb") as handle:
            handle.write(checked.data)
            handle.flush()
            os.fsync(handle.fileno())
        return Staged(checked, target)

    def remove_stale(self) -> None:
        """Temporary files a crash left behind (older than a day)."""
        limit = time.time() - STALE_SECONDS
        for leftover in self.tmp.glob("*.part"):
            with contextlib.suppress(OSError):
                if leftover.stat().st_mtime < limit:
                    leftover.unlink()

    def promote(self, staged: Staged) -> bool:
        """Move a staged file to its final name; False when that content is there
        already (the staged copy is dropped)."""
        final = self.path(staged.sha256)
        if final.exists():
            staged.tmp.unlink(missing_ok=True)
            return False
        final.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        os.replace(staged.tmp, final)
        staged.promoted = True
        return True

    def files_on_disk(self) -> Iterator[Path]:
        if self.root.is_dir():
            yield from (path for path in self.root.glob("??/*") if path.is_file())

    def temporary_files(self) -> list[Path]:
        return sorted(self.tmp.glob("*.part")) if self.tmp.is_dir() else []


@dataclass(eq=False)
class Staged:
    """A checked upload waiting in a temporary file."""

    file: CheckedFile
    tmp: Path
    sha256: str = ""
    promoted: bool = False

    def __post_init__(self) -> None:
        self.sha256 = self.file.sha256

