"""Outputs that appear only when complete: a temporary name beside the target, renamed at the end."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from smot.errors import OutputError


class AtomicFile:
    """A file written under a temporary name beside `path` and renamed onto it by `commit()`."""

    def __init__(self, path: str | Path, mode: str = "wb"):
        self.path = Path(path)
        self.tmp = self.path.with_name(f".{self.path.name}.tmp-{os.getpid()}")
        try:
            self.file = open(self.tmp, mode)
        except OSError as e:
            raise OutputError(f"cannot write {self.path}: {e.strerror}") from None

    def commit(self) -> None:
        self.file.close()
        os.replace(self.tmp, self.path)

    def discard(self) -> None:
        self.file.close()
        self.tmp.unlink(missing_ok=True)

    def __enter__(self):
        return self.file

    def __exit__(self, exc_type, *rest) -> None:
        self.discard() if exc_type else self.commit()


def write_atomic(path: str | Path, data: str | bytes) -> None:
    """Write a whole file so that it appears complete or not at all."""
    with AtomicFile(path, "wb") as f:
        f.write(data.encode() if isinstance(data, str) else data)


class AtomicDir:
    """A folder built under a temporary name beside `path` and renamed onto it by `commit()`.

    `path` must not exist or be an empty folder, so nothing already there is mixed with or lost
    to the new output.
    """

    def __init__(self, path: str | Path):
        self.path = Path(path)
        if self.path.exists() and (not self.path.is_dir() or any(self.path.iterdir())):
            raise OutputError(f"{self.path} already exists and is not an empty folder",
                              hint="write to a new folder, or remove the old one first")
        self.tmp = self.path.with_name(f".{self.path.name}.tmp-{os.getpid()}")
        try:
            self.tmp.mkdir(parents=True, exist_ok=False)
        except OSError as e:
            raise OutputError(f"cannot create {self.path}: {e.strerror}") from None

    def commit(self) -> None:
        if self.path.is_dir():
            self.path.rmdir()
        os.replace(self.tmp, self.path)

    def discard(self) -> None:
        shutil.rmtree(self.tmp, ignore_errors=True)

    def __enter__(self) -> Path:
        return self.tmp

    def __exit__(self, exc_type, *rest) -> None:
        self.discard() if exc_type else self.commit()
