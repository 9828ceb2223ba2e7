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


def test_openmp_threads_spin_briefly_for_train_and_run_and_sleep_in_the_stages_of_a_pipe():
    """The wait policy is chosen before torch loads, from the command; a value in the environment wins."""
    import os
    import subprocess
    import sys

    def policy(*argv: str, **env: str) -> list[str]:
        clean = {k: v for k, v in os.environ.items() if k not in ("OMP_WAIT_POLICY", "GOMP_SPINCOUNT")}
        code = ("import os, sys; sys.argv = ['smot', *sys.argv[1:]]; import smot.cli; "
                "print(os.environ.get('OMP_WAIT_POLICY'), os.environ.get('GOMP_SPINCOUNT'))")
        out = subprocess.run([sys.executable, "-c", code, *argv], env={**clean, **env}, capture_output=True,
                             text=True, check=True)
        return out.stdout.split()

    assert policy("train", "data") == ["None", "20000"]
    assert policy("--debug", "run", "data") == ["None", "20000"]
    assert policy("detect", "data") == ["PASSIVE", "None"]
    assert policy("associate") == ["PASSIVE", "None"]
    assert policy("train", "data", OMP_WAIT_POLICY="ACTIVE") == ["ACTIVE", "None"]
    assert policy("detect", GOMP_SPINCOUNT="5") == ["None", "5"]
