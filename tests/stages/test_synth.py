"""smot synth on the command line: makes a dataset, counts one, refuses bad options in one line,
and never leaves a partial folder behind."""

from __future__ import annotations

import orjson
import pytest
from conftest import BENSMOT_MINI, run, run_process

import smot.synth.dataset


def test_makes_a_dataset_and_says_so_on_stderr_only(tmp_path):
    out = tmp_path / "demo"
    result = run(["synth", out, "--train", "2", "--test", "1", "--frames", "10-12", "--workers", "1"])
    assert result.code == 0, result.stderr
    assert result.stdout == b""
    assert result.stderr.startswith("smot synth: wrote 3 videos, ") and result.stderr.endswith(f"to {out}\n")
    assert len(list(out.glob("train/*/*/gt/gt.txt"))) == 2 and len(list(out.glob("test/*/*/imgs"))) == 1
    assert [p.name for p in tmp_path.iterdir()] == ["demo"]  # no temporary folder left beside it


def test_stats_table_and_json(tmp_path):
    table = run(["synth", "--stats", BENSMOT_MINI])
    assert table.code == 0, table.stderr
    lines = table.text.splitlines()
    assert lines[0].split() == ["test"]
    assert lines[1].split() == ["videos", "1"]
    assert "  approach.v.01        1  " + "#" * 15 in table.text  # half the count of embrace.v.02 (30 #)
    as_json = run(["synth", "--stats", BENSMOT_MINI, "--json"])
    assert orjson.loads(as_json.stdout)["test"]["boxes"] == 6


@pytest.mark.parametrize("args, message", [
    (["--people", "4-2"], "--people must be N or MIN-MAX within 1..9, got 4-2"),
    (["--people", "two"], "--people must be N or MIN-MAX, e.g. 2-4, got 'two'"),
    (["--frames", "0"], "--frames must be N or MIN-MAX with 1 <= MIN <= MAX, got 0-0"),
    (["--occlusion", "1.5"], "--occlusion must be within 0..1, got 1.5"),
    (["--size", "640"], "--size must be WIDTHxHEIGHT in pixels, e.g. 1920x1080, got '640'"),
    (["--scenarios", "park,moon"], "unknown scenario moon; choose from park, street, court, hall, beach, plaza"),
    (["--train", "0", "--test", "0"], "nothing to make: --train and --test are both 0"),
    (["--json"], "--json goes with --stats"),
])
def test_bad_options_fail_in_one_line(tmp_path, args, message):
    result = run(["synth", tmp_path / "out", *args])
    assert result.code == 2
    assert result.stderr == f"smot synth: error: {message}\n"
    assert not (tmp_path / "out").exists()


def test_output_that_exists_is_left_alone(tmp_path):
    out = tmp_path / "taken"
    out.mkdir()
    (out / "keep.txt").write_text("mine")
    result = run(["synth", out, "--train", "1", "--test", "0"])
    assert result.code == 4
    assert result.stderr.startswith(f"smot synth: error: {out} already exists and is not an empty folder")
    assert [p.name for p in out.iterdir()] == ["keep.txt"]


def test_missing_stats_folder_and_both_modes(tmp_path):
    missing = run(["synth", "--stats", tmp_path / "none"])
    assert missing.code == 3 and missing.stderr.startswith(f"smot synth: error: {tmp_path / 'none'} is not a folder")
    (tmp_path / "empty").mkdir()
    empty = run(["synth", "--stats", tmp_path / "empty"])
    assert empty.code == 3 and empty.stderr.count("\n") == 1 and "no BenSMOT sequences" in empty.stderr
    both = run(["synth", tmp_path / "out", "--stats", BENSMOT_MINI])
    assert both.code == 2 and "not both" in both.stderr


def test_a_failure_midway_leaves_no_folder(tmp_path, monkeypatch):
    real = smot.synth.dataset.write_video
    calls = []

    def flaky(config, root, task):
        calls.append(task)
        if len(calls) == 2:
            raise KeyboardInterrupt  # Ctrl-C while the second video is written
        return real(config, root, task)

    monkeypatch.setattr(smot.synth.dataset, "write_video", flaky)
    result = run(["synth", tmp_path / "out", "--train", "3", "--test", "0", "--workers", "1"])
    assert result.code == 130
    assert list(tmp_path.iterdir()) == []


def test_parallel_run_as_a_process(tmp_path):
    out = tmp_path / "par"
    done = run_process(["synth", out, "--train", "3", "--test", "1", "--frames", "8", "--workers", "2"])
    assert done.returncode == 0, done.stderr
    assert done.stdout == b""
    assert len(list(out.glob("*/*/*/imgs/008.jpg"))) == 4
