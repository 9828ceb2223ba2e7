"""What every smot command shares: option types, progress bars, warnings and the error contract.

A command is a thin typer function over a core generator; it opens its inputs and outputs here so
that stdin, broken pipes, progress and errors behave the same in every stage (STYLE.md).
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Iterable, Iterator
from typing import Annotated, TypeVar

import typer

from smot.errors import UsageError

T = TypeVar("T")

# Options shared by the stages, declared once so their names and help read the same everywhere.
Source = Annotated[str, typer.Argument(help="Input stream file, or - for stdin.", show_default=True)]
Output = Annotated[str, typer.Option("--output", "-o", help="Output path, or - for stdout.")]
SemanticModel = Annotated[str, typer.Option("--model", "-m", help="Model checkpoint (from smot train).")]
Device = Annotated[str, typer.Option(help="auto, cpu or cuda[:N].")]
Encoding = Annotated[
    str | None,
    typer.Option(help="Output encoding: msgpack or jsonl. Default: by the output's suffix (.jsonl, .smot), "
                      "else $SMOT_ENCODING, else msgpack (jsonl on a terminal).", show_default=False),
]

# Set by the CLI entry point: the command being run, for messages.
current = {"command": "smot"}


def stderr_is_terminal() -> bool:
    return sys.stderr is not None and sys.stderr.isatty()


def progress(items: Iterable[T], total: int | None = None, description: str = "") -> Iterator[T]:
    """Iterate `items`, with a rich progress bar on stderr when stderr is a terminal."""
    if not stderr_is_terminal():
        yield from items
        return
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    columns = [TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn()]
    with Progress(*columns, transient=True, console=_stderr_console()) as bar:
        task = bar.add_task(description, total=total)
        for item in items:
            yield item
            bar.advance(task)


def _stderr_console():
    from rich.console import Console

    return Console(stderr=True)


class _StageFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        level = "warning" if record.levelno == logging.WARNING else record.levelname.lower()
        return f"{current['command']}: {level}: {record.getMessage()}"


def setup_logging(verbose: bool = False) -> None:
    """Warnings (and with `verbose`, progress notes) to stderr, one line each, named by command."""
    logger = logging.getLogger("smot")
    logger.handlers[:] = []
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(_StageFormatter())
    logger.addHandler(handler)
    logger.setLevel(logging.INFO if verbose else logging.WARNING)
    logger.propagate = False


def parse_size(text: str | None) -> tuple[int | None, int | None]:
    """`WIDTHxHEIGHT` in pixels."""
    if text is None:
        return None, None
    try:
        width, height = (int(v) for v in text.lower().split("x"))
        if width < 1 or height < 1:
            raise ValueError
    except ValueError:
        raise UsageError(f"--size must be WIDTHxHEIGHT in pixels, e.g. 1920x1080, got {text!r}") from None
    return width, height


Shard = Annotated[
    str | None,
    typer.Option("--shard", help="Process only shard I of N (I from 0): the videos whose position in the input, "
                      "counted from 0, is I modulo N. Run N processes with 0/N ... N-1/N.",
                 metavar="I/N", show_default=False),
]


def parse_shard(text: str | None) -> tuple[int, int]:
    """`I/N` with 0 <= I < N; None means the whole input (0/1)."""
    if text is None:
        return 0, 1
    try:
        index, count = (int(v) for v in text.split("/"))
        if not 0 <= index < count:
            raise ValueError
    except ValueError:
        raise UsageError(f"--shard must be I/N with 0 <= I < N, e.g. 0/4, got {text!r}") from None
    return index, count
