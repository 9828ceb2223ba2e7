"""Interaction metrics: micro P/R/F1 and subset accuracy, derived by hand."""

from __future__ import annotations

import pytest

from smot.metrics.interactions import positive, score


def test_micro_counts_hand_derived():
    # pair 1: predicted {hold, look}, truth {hold}: TP 1, FP 1, not exact
    # pair 2: predicted {hug}, truth {hug}: TP 1, exact
    # pair 3: predicted {}, truth {push}: FN 1, not exact
    # TP 2, FP 1, FN 1: precision 2/3, recall 2/3, F1 = 2*2 / (2*2 + 1 + 1) = 2/3, accuracy 1/3
    r = score([({"hold.v.02", "look.v.01"}, {"hold.v.02"}), ({"hug.v.01"}, {"hug.v.01"}), (set(), {"push.v.01"})])
    out = r.report()
    assert (out["tp"], out["fp"], out["fn"], out["pairs"]) == (2, 1, 1, 3)
    assert out["precision"] == pytest.approx(2 / 3, abs=1e-15)
    assert out["recall"] == pytest.approx(2 / 3, abs=1e-15)
    assert out["f1"] == pytest.approx(2 / 3, abs=1e-15)
    assert out["accuracy"] == pytest.approx(1 / 3, abs=1e-15)


def test_threshold_is_strict_and_a_missing_score_asserts():
    got = positive([("a", 0.4), ("b", 0.4000001), ("c", None), ("d", 0.1)], 0.4)
    assert got == {"b", "c"}


def test_zero_division_is_zero_with_a_note():
    out = score([(set(), {"a"})]).report()
    assert out["precision"] == 0.0 and out["recall"] == 0.0 and out["f1"] == 0.0 and out["accuracy"] == 0.0
    assert any("precision is 0" in n for n in out["notes"])
    out = score([({"a"}, set())]).report()
    assert out["recall"] == 0.0 and out["precision"] == 0.0


def test_no_pairs_gives_no_numbers():
    out = score([]).report()
    assert out["precision"] is None and out["pairs"] == 0


def test_agrees_with_scikit_learn_when_installed():
    sk = pytest.importorskip("sklearn.metrics")
    import random

    rnd = random.Random(3)
    labels = [f"p{i}" for i in range(6)]
    items = [({x for x in labels if rnd.random() < 0.3}, {x for x in labels if rnd.random() < 0.3}) for _ in range(40)]
    pred = [[int(x in p) for x in labels] for p, _ in items]
    true = [[int(x in t) for x in labels] for _, t in items]
    out = score(items).report()
    assert out["precision"] == pytest.approx(sk.precision_score(true, pred, average="micro"), abs=1e-12)
    assert out["recall"] == pytest.approx(sk.recall_score(true, pred, average="micro"), abs=1e-12)
    assert out["f1"] == pytest.approx(sk.f1_score(true, pred, average="micro"), abs=1e-12)
    assert out["accuracy"] == pytest.approx(sk.accuracy_score(true, pred), abs=1e-12)
