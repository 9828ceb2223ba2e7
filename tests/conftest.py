"""Shared test helpers: run the CLI in process or as a real process, and the shared fixtures."""

from __future__ import annotations

import io
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

# as smot.cli does for the command line: test modules import torch before any CLI call, and its
# spinning OpenMP threads crawl on a machine shared with other busy processes
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

ROOT = Path(__file__).resolve().parents[1]
# the shared folder beside the checkout (as in CI); SMOT_SHARED points elsewhere
SHARED = Path(os.environ.get("SMOT_SHARED", ROOT.parent / "shared"))
FIXTURES = SHARED / "fixtures"
BENSMOT_MINI = FIXTURES / "bensmot-mini" / "test"
ASSOCIATION_D10 = FIXTURES / "association-d10"


@dataclass
class Result:
    code: int
    stdout: bytes
    stderr: str

    @property
    def text(self) -> str:
        return self.stdout.decode()


class _Stdin(io.BufferedReader):
    def isatty(self) -> bool:
        return False


def run(args: list[str], input: bytes | None = None, env: dict | None = None) -> Result:
    """Run `smot ARGS` in this process with bytes on stdin; capture its exit code and outputs."""
    from smot.cli import main

    saved = sys.stdin, sys.stdout, sys.stderr
    saved_env = dict(os.environ)
    out, err = io.BytesIO(), io.StringIO()
    stdin = io.TextIOWrapper(_Stdin(io.BytesIO(input or b"")))
    stdout = io.TextIOWrapper(out, write_through=True)
    sys.stdin, sys.stdout, sys.stderr = stdin, stdout, err
    os.environ.update(env or {})
    try:
        code = main([str(a) for a in args])
        stdout.flush()
    finally:
        sys.stdin, sys.stdout, sys.stderr = saved
        os.environ.clear()
        os.environ.update(saved_env)
        stdout.detach()  # keep `out` open when the wrapper goes
    return Result(code, out.getvalue(), err.getvalue())


def run_process(args: list[str], input: bytes | None = None, **kwargs) -> subprocess.CompletedProcess:
    """Run `python -m smot ARGS` as its own process (real pipes, signals)."""
    return subprocess.run([sys.executable, "-m", "smot", *map(str, args)], input=input, capture_output=True,
                          cwd=ROOT, **kwargs)


@pytest.fixture
def bensmot_mini() -> Path:
    return BENSMOT_MINI


@pytest.fixture
def association_d10() -> Path:
    return ASSOCIATION_D10
