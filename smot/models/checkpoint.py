"""Model checkpoints: one file, plain containers and tensors, loaded with weights_only=True.

Interim version for the semantic stages until the detector branch's checkpoint module lands; it
keeps the same layout and functions (`save_checkpoint`, `load_checkpoint`, `Checkpoint`):

    format "smot.model", version 1, config {part: dict}, weights {part: state dict}, plus plain data
"""

from __future__ import annotations

import hashlib
import io
import pickle
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from smot.atomic import AtomicFile
from smot.errors import InputError

FORMAT = "smot.model"
VERSION = 1


@dataclass
class Checkpoint:
    path: str
    sha256: str
    data: dict[str, Any]

    @property
    def config(self) -> dict:
        return self.data["config"]

    def has(self, part: str) -> bool:
        return part in self.data.get("weights", {})


def save_checkpoint(path: str | Path, data: dict[str, Any]) -> str:
    """Write `data` atomically to `path`; return the file's sha256."""
    buffer = io.BytesIO()
    torch.save({"format": FORMAT, "version": VERSION, **data}, buffer)
    raw = buffer.getvalue()
    with AtomicFile(str(path)) as f:
        f.write(raw)
    return hashlib.sha256(raw).hexdigest()


def load_checkpoint(path: str | Path, part: str | None = None) -> Checkpoint:
    name = str(path)
    try:
        raw = Path(path).read_bytes()
    except FileNotFoundError:
        raise InputError(f"cannot read model {name}: no such file", hint="models come from `smot train`") from None
    except OSError as e:
        raise InputError(f"cannot read model {name}: {e.strerror or e}") from None
    try:
        data = torch.load(io.BytesIO(raw), map_location="cpu", weights_only=True)
    except (pickle.UnpicklingError, RuntimeError, EOFError, ValueError, AttributeError):
        raise InputError(f"{name} is not a smot model checkpoint", hint="models come from `smot train`") from None
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise InputError(f"{name} is not a smot model checkpoint (no format {FORMAT!r})")
    if not isinstance(data.get("version"), int) or data["version"] > VERSION:
        raise InputError(f"{name} is a {FORMAT} version {data.get('version')!r} checkpoint; this smot reads "
                         f"version {VERSION}", hint="upgrade smot")
    checkpoint = Checkpoint(name, hashlib.sha256(raw).hexdigest(), data)
    if part is not None and not checkpoint.has(part):
        raise InputError(f"{name} holds no {part} (it has {', '.join(data.get('weights', {})) or 'no weights'})")
    return checkpoint
