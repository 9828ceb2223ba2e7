"""The `smot` command: one typer app whose subcommands are the stages.

Exit codes (smot/errors.py): 0 done, 1 internal error, 2 usage, 3 bad input, 4 output not
writable, 5 missing runtime requirement, 130 interrupted. Errors are one line on stderr,
`smot <command>: error: <what> (<where>)`, with a hint line when one helps; `--debug` (anywhere on
the command line) shows the traceback instead.
"""

from __future__ import annotations

import os
import signal
import sys
import traceback

import typer

from smot import __version__
from smot.clikit import current, setup_logging
from smot.errors import SmotError
from smot.stages import associate, caption, convert, detect, fuse, interact, render, run, score, synth, train

# How torch's OpenMP threads wait between parallel regions (docs/training.md, "Threads"). The stages
# of a pipe share the machine with each other, and spinning threads beside busy processes slowed
# them 3-10x: they sleep (PASSIVE). `smot train` and `smot run` work alone, and the many small
# operations of a training step wait on each other so often that sleeping made them 1.7-2x slower
# than a short spin. Stage modules import torch only inside their commands, so this comes first; a
# value in the environment wins.
SPINNING_COMMANDS = ("train", "run")
if not {"OMP_WAIT_POLICY", "GOMP_SPINCOUNT"} & os.environ.keys():
    _command = next((a for a in sys.argv[1:] if not a.startswith("-")), None)
    if _command in SPINNING_COMMANDS:
        os.environ["GOMP_SPINCOUNT"] = "20000"  # libgomp's spin before sleeping (its default: 300000)
    else:
        os.environ["OMP_WAIT_POLICY"] = "PASSIVE"

# typer may vendor click; its exception classes are reached through the public ones
ClickException = next(c for c in typer.BadParameter.__mro__ if c.__name__ == "ClickException")

app = typer.Typer(
    name="smot",
    help="Semantic Multi-Object Tracking: track every person in a video and say what they do.\n\n"
         "Stages read and write smot streams (formats/README.md) and compose with pipes:\n\n"
         "smot convert MOT17-02/det/det.txt | smot associate > tracks.smot",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
    context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100},
)

# Only commands that work are registered; each lives in its stage module.
app.command("convert", no_args_is_help=True)(convert.command)
app.command("associate")(associate.command)
app.command("render", no_args_is_help=True)(render.command)
app.command("detect", no_args_is_help=True)(detect.command)
app.command("train", no_args_is_help=True)(train.command)
app.command("synth", no_args_is_help=True)(synth.command)
app.command("score", no_args_is_help=True)(score.command)
app.command("fuse", no_args_is_help=True)(fuse.command)
app.command("caption", no_args_is_help=True)(caption.command)
app.command("interact", no_args_is_help=True)(interact.command)
app.command("run", no_args_is_help=True)(run.command)


def _version(value: bool) -> None:
    if value:
        print(f"smot {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: bool = typer.Option(False, "--version", callback=_version, is_eager=True, help="Print the version."),
    debug: bool = typer.Option(False, "--debug", help="Show tracebacks for errors (accepted anywhere)."),
    verbose: bool = typer.Option(False, "--verbose", "-v", help="Print progress notes on stderr."),
) -> None:
    setup_logging(verbose)


def _command_name(args: list[str]) -> str:
    names = set(typer.main.get_command(app).commands)  # type: ignore[attr-defined]
    for arg in args:
        if arg in names:
            return f"smot {arg}"
        if not arg.startswith("-"):
            break
    return "smot"


def _quiet_stdout() -> None:
    """After a closed pipe, point stdout at /dev/null so the interpreter's last flush is silent."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):
        pass


def main(argv: list[str] | None = None) -> int:
    """Run smot with `argv` (default: sys.argv[1:]); return the exit code."""
    args = list(sys.argv[1:] if argv is None else argv)
    debug = "--debug" in args or os.environ.get("SMOT_DEBUG") == "1"
    args = [a for a in args if a != "--debug"]
    current["command"] = _command_name(args)
    setup_logging(False)
    previous = signal.signal(signal.SIGTERM, _terminate) if _on_main_thread() else None
    command = typer.main.get_command(app)
    try:
        # make_context + invoke rather than main(): errors, closed pipes and Ctrl-C are ours to report
        with command.make_context("smot", args) as ctx:
            command.invoke(ctx)
        return 0
    except SmotError as e:
        if debug:
            traceback.print_exc()
        where = f" ({e.where})" if e.where else ""
        print(f"{current['command']}: error: {e.message}{where}", file=sys.stderr)
        if e.hint:
            print(f"  hint: {e.hint}", file=sys.stderr)
        return e.exit_code
    except typer.Exit as e:
        return e.exit_code
    except ClickException as e:
        e.show()
        return e.exit_code
    except BrokenPipeError:
        _quiet_stdout()
        return 0
    except (KeyboardInterrupt, typer.Abort):
        print(f"{current['command']}: interrupted", file=sys.stderr)
        return 130
    except Exception as e:  # a bug: say so in one line unless asked for the traceback
        if debug:
            traceback.print_exc()
        else:
            print(f"{current['command']}: internal error: {type(e).__name__}: {e}", file=sys.stderr)
            print("  hint: run again with --debug for the traceback, and report it", file=sys.stderr)
        return 1
    finally:
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)


def _on_main_thread() -> bool:
    import threading

    return threading.current_thread() is threading.main_thread()


def _terminate(signum: int, frame: object) -> None:
    # turn SIGTERM into an exception so writers discard their temporary files on the way out
    raise KeyboardInterrupt
