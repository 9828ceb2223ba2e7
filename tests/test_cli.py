"""The command line: help, version, only working commands listed, errors in one line with exit codes."""

from __future__ import annotations

import typer
from conftest import run

from smot.cli import app


def test_help_lists_only_registered_commands():
    result = run(["--help"])
    assert result.code == 0
    listed = {line.split()[0] for line in result.text.split("Commands:")[1].strip().splitlines()}
    assert listed == set(typer.main.get_command(app).commands)


def test_every_command_has_help_and_an_example():
    for name in typer.main.get_command(app).commands:
        result = run([name, "--help"])
        assert result.code == 0, name
        assert f"smot {name}" in result.text, f"`smot {name} --help` shows no example"


def test_version():
    from smot import __version__

    assert run(["--version"]).text == f"smot {__version__}\n"


def test_usage_error_exit_code_and_debug_traceback(tmp_path):
    result = run(["convert", "x", "--to", "yaml"])
    assert result.code == 2
    assert result.stderr == "smot convert: error: --to must be one of stream, mot, bensmot, got 'yaml'\n"
    missing = run(["convert", tmp_path / "none.txt", "--debug"])
    assert missing.code == 3
    assert "Traceback" in missing.stderr and "InputError" in missing.stderr
