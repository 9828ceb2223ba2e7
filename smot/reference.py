"""The command reference (docs/cli.md), generated from the commands themselves.

    python -m smot.reference docs/cli.md      # what `make docs` runs

Every command, its arguments and options with their help and defaults, and the examples of its
help text. A test fails when the committed page differs from what this writes, so the reference
cannot drift from the code.
"""

from __future__ import annotations

import sys
import textwrap
from pathlib import Path

import typer

HEADER = """# Command reference

Generated from the commands by `python -m smot.reference docs/cli.md` (`make docs`); a test keeps
it current. The formats the commands read and write are in [../formats/](../formats/README.md).

Global options, before the command: `--version`, `--verbose`/`-v` (progress notes on stderr),
`--debug` (tracebacks; accepted anywhere on the line, or `SMOT_DEBUG=1`).
"""


def commands() -> dict:
    from smot.cli import app

    return dict(sorted(typer.main.get_command(app).commands.items()))  # type: ignore[attr-defined]


def _default(param) -> str:
    if getattr(param, "is_flag", False) or param.default is None or param.required:
        return ""
    value = param.default
    if isinstance(value, (list, tuple)):
        value = ", ".join(map(str, value)) if value else ""
    return f" (default: `{value}`)" if value != "" else ""


def _names(param) -> str:
    if param.param_type_name == "argument":
        return f"`{(param.metavar or param.name).upper()}`"
    names = [*param.opts, *param.secondary_opts]
    return ", ".join(f"`{n}`" for n in names)


def render_command(name: str, command) -> str:
    help_text = (command.help or "").strip()
    summary, _, rest = help_text.partition("\n")
    lines = [f"## smot {name}", "", summary.strip(), ""]
    body = "\n".join(line for line in rest.splitlines() if line.strip() != "\b").strip("\n")
    if body.strip():  # the rest of the help as `--help` shows it: prose, parameter lists, examples
        lines += ["```", textwrap.dedent(body), "```", ""]
    lines += ["| argument or option | meaning |", "|---|---|"]
    for param in command.params:
        if param.name == "help":
            continue
        meaning = " ".join((getattr(param, "help", None) or "").split()).replace("|", "\\|")
        lines.append(f"| {_names(param)} | {meaning}{_default(param)} |")
    return "\n".join(lines) + "\n"


def render() -> str:
    parts = [HEADER]
    listed = commands()
    parts.append("| command | what it does |\n|---|---|\n" + "".join(
        f"| [smot {name}](#smot-{name}) | {(c.help or '').strip().splitlines()[0]} |\n" for name, c in listed.items()))
    parts += [render_command(name, command) for name, command in listed.items()]
    return "\n".join(parts)


if __name__ == "__main__":
    target = Path(sys.argv[1] if len(sys.argv) > 1 else "docs/cli.md")
    target.write_text(render())
