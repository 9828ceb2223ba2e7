"""One checkpoint file holds the whole model (docs/detector.md, "Checkpoints").

A checkpoint is a torch.save'd dict of plain Python containers and tensors only, so it loads with
`torch.load(..., weights_only=True)` and never runs code from the file:

    format      "smot.model"
    version     1
    config      {"detector": DetectorConfig as a dict, ...}   the arguments that rebuild the model
    weights     {"detector": state dict, ...}                  one state dict per part
    training    {"stage", "step", "config", "optimizer", "rng", "world_size"}  what --resume needs
    provenance  {"smot_version", "torch_version", "created", "command", "dataset", "seed", "history", ...}

Parts a later stage adds (the semantic heads, the tokenizer, the interaction vocabulary) are more
keys of `config` and `weights` (and plain data beside them). A checkpoint is written atomically;
its identity is the sha256 of the file, which every stage that uses it writes in its stream header.
"""

from __future__ import annotations

import hashlib
import io
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
    """Write `data` (format and version are added) atomically to `path`; return its sha256."""
    data = plain({"format": FORMAT, "version": VERSION, **data})
    buffer = io.BytesIO()
    torch.save(data, buffer)
    raw = buffer.getvalue()
    with AtomicFile(path) as f:
        f.write(raw)
    return hashlib.sha256(raw).hexdigest()


def plain(value: Any, where: str = "checkpoint") -> Any:
    """`value` with only what weights_only loading accepts: dicts, lists, tuples, str, int, float,
    bool, None and tensors (str and number subclasses such as torch.__version__ become plain)."""
    if value is None or type(value) in (bool, int, float, str):
        return value
    if isinstance(value, torch.Tensor):
        return value
    for base in (bool, int, float, str):
        if isinstance(value, base):
            return base(value)
    if isinstance(value, dict):
        return {plain(k, where): plain(v, f"{where}.{k}") for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(plain(v, f"{where}[{i}]") for i, v in enumerate(value))
    raise TypeError(f"{where}: a {type(value).__name__} cannot go into a checkpoint (weights_only loading)")


def config_from_dict(cls, d: dict, what: str, convert=None):
    """A config dataclass from its checkpoint dict: unknown fields are an error (a checkpoint of a
    newer smot, or a typo in --set), lists become tuples unless `convert(key, value)` says otherwise."""
    from dataclasses import fields

    unknown = set(d) - {f.name for f in fields(cls)}
    if unknown:
        raise ValueError(f"unknown {what} config fields: {', '.join(sorted(unknown))}")
    convert = convert or (lambda _, v: tuple(v) if isinstance(v, list) else v)
    return cls(**{k: convert(k, v) for k, v in d.items()})


def load_checkpoint(path: str | Path, part: str | None = None) -> Checkpoint:
    """Read and check a checkpoint; `part` (e.g. "detector") must be in it."""
    name = str(path)
    try:
        raw = Path(path).read_bytes()
    except FileNotFoundError:
        raise InputError(f"cannot read model {name}: no such file",
                         hint="train one: smot train --stage detect DATA -o model.pt") from None
    except IsADirectoryError:
        raise InputError(f"cannot read model {name}: it is a folder, expected a checkpoint file") from None
    except OSError as e:
        raise InputError(f"cannot read model {name}: {e.strerror}") from None
    try:
        data = torch.load(io.BytesIO(raw), map_location="cpu", weights_only=True)
    except Exception as e:  # a foreign or damaged file fails in many ways inside torch.load
        text = str(e).split("WeightsUnpickler error: ")[-1].strip()
        first = text.splitlines()[0] if text else type(e).__name__
        raise InputError(f"{name} is not a smot model checkpoint ({first[:120]})",
                         hint="models come from `smot train`") from None
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise InputError(f"{name} is not a smot model checkpoint (no format {FORMAT!r})",
                         hint="models come from `smot train`")
    if not isinstance(data.get("version"), int) or data["version"] > VERSION:
        raise InputError(f"{name} is a {FORMAT} version {data.get('version')!r} checkpoint; this smot reads "
                         f"version {VERSION}", hint="upgrade smot")
    checkpoint = Checkpoint(name, hashlib.sha256(raw).hexdigest(), data)
    if part is not None and not checkpoint.has(part):
        raise InputError(f"{name} holds no {part} (it has {', '.join(data.get('weights', {})) or 'no weights'})")
    return checkpoint


def load_detector(path: str | Path, device: str | torch.device = "cpu"):
    """(Detector in eval mode on `device`, checkpoint) from a checkpoint file."""
    from smot.models.detector import Detector, DetectorConfig

    checkpoint = load_checkpoint(path, "detector")
    try:
        config = DetectorConfig.from_dict(checkpoint.config["detector"])
        model = Detector(config)
        model.load_state_dict(checkpoint.data["weights"]["detector"])
    except (KeyError, TypeError, ValueError, RuntimeError) as e:
        raise InputError(f"the detector in {checkpoint.path} does not load: {str(e).splitlines()[0][:200]}") from None
    return model.to(device).eval(), checkpoint
