"""Caption metrics: parity with pycocoevalcap (coco protocol) and with eval_vu.py's calls (bensmot
protocol), and what happens without Java, nltk or WordNet."""

from __future__ import annotations

import shutil
import sys

import pytest

from smot.metrics import captions

HYPS = ["a man in a red coat walks to the left", "two women hug", "", "isn't he (happy)?\nyes",
        "a café owner waves", "a man walks"]
REFS = ["A man in a red coat walks left.", "Two women hug each other.", "A person stands still.",
        "He is happy, yes!", "The café owner waves at a child.", "A man walks."]


def wordnet_present() -> bool:
    try:
        from nltk.corpus import wordnet

        wordnet.ensure_loaded()
        return True
    except (ImportError, LookupError):
        return False


@pytest.mark.java
@pytest.mark.skipif(shutil.which("java") is None, reason="needs java")
def test_coco_protocol_equals_pycocoevalcap():
    from pycocoevalcap.bleu.bleu import Bleu
    from pycocoevalcap.cider.cider import Cider
    from pycocoevalcap.rouge.rouge import Rouge
    from pycocoevalcap.tokenizer.ptbtokenizer import PTBTokenizer

    # the reference: what COCOEvalCap.evaluate does, tokenizing references and hypotheses apart
    tok = PTBTokenizer()
    gts = tok.tokenize({i: [{"caption": r}] for i, r in enumerate(REFS)})
    res = tok.tokenize({i: [{"caption": h}] for i, h in enumerate(HYPS)})
    bleu, _ = Bleu(4).compute_score(gts, res, verbose=0)
    want = {"BLEU-1": bleu[0], "BLEU-2": bleu[1], "BLEU-3": bleu[2], "BLEU-4": bleu[3],
            "ROUGE-L": Rouge().compute_score(gts, res)[0], "CIDEr": Cider().compute_score(gts, res)[0]}
    meteor = captions.Meteor()
    try:
        got = captions.coco({"instance": (HYPS, REFS), "video": (HYPS[:1], REFS[:1]), "none": ([], [])}, meteor)
        # pycocoevalcap's own METEOR wrapper, in the JVM already started (one start: ~5 s)
        want["METEOR"] = meteor._scorer.compute_score(gts, res)[0]
        # one JVM answers later calls too, and a `|||` in a reference cannot desynchronise it
        corpus, per_item = meteor.scores(["a b ||| c", "x"], ["a ||| b", "y\nz"])
    finally:
        meteor.close()
    for name, value in want.items():
        assert got["instance"].scores[name] == pytest.approx(value, abs=1e-9), name
    assert not got["instance"].unavailable
    assert got["video"].scores["CIDEr"] == 0.0 and "always 0" in got["video"].notes[0]
    assert got["none"].scores["METEOR"] is None and got["none"].notes == ["no items"]
    assert len(per_item) == 2 and 0 <= corpus <= 1


def test_meteor_is_never_called_with_zero_items():
    meteor = captions.Meteor()
    with pytest.raises(captions.Unavailable, match="no items"):
        meteor.scores([], [])
    assert meteor._scorer is None  # no JVM was started


def test_without_java_coco_is_unavailable_and_bensmot_still_runs(monkeypatch):
    monkeypatch.setattr(captions, "java_available", lambda: False)
    monkeypatch.setitem(sys.modules, "nltk", None)  # keeps the test fast: no WordNet to load
    got = captions.coco({"instance": (HYPS, REFS)}, captions.Meteor())["instance"]
    assert set(got.unavailable) == set(captions.COCO_METRICS)
    assert all(v is None for v in got.scores.values())
    assert "Java" in got.unavailable["METEOR"].reason and "--protocol bensmot" in got.unavailable["METEOR"].hint
    got = captions.bensmot({"instance": (HYPS, REFS)})["instance"]
    assert got.scores["ROUGE-L"] is not None and got.scores["CIDEr"] is not None


def test_char_bleu_hand_derived(monkeypatch):
    # hypothesis "abcde", reference "abcdf", as characters: 1-gram precision 4/5, 2-gram 3/4,
    # 3-gram 2/3, 4-gram 1/2, equal lengths (no brevity penalty): BLEU = (4/5*3/4*2/3*1/2)^(1/4) = 0.2^(1/4)
    pytest.importorskip("nltk")

    def no_wordnet():  # METEOR is not under test here; loading WordNet takes seconds
        raise captions.Unavailable("skipped")

    monkeypatch.setattr(captions, "_wordnet", no_wordnet)
    got = captions.bensmot({"x": (["abcde"], ["abcdf"])})["x"]
    assert got.scores["BLEU"] == pytest.approx(0.2 ** 0.25, abs=1e-12)


def test_bensmot_protocol_equals_eval_vu():
    pytest.importorskip("nltk")
    from nltk.translate.bleu_score import corpus_bleu
    from pycocoevalcap.cider.cider import Cider
    from pycocoevalcap.rouge.rouge import Rouge

    # eval_language() of eval_vu.py: references wrapped as single-item lists, raw strings everywhere
    gts = [[r] for r in REFS]
    preds_dict = {i: [p] for i, p in enumerate(HYPS)}
    gts_dict = {i: g for i, g in enumerate(gts)}
    want = {"BLEU": corpus_bleu(gts, HYPS), "ROUGE-L": Rouge().compute_score(gts_dict, preds_dict)[0],
            "CIDEr": Cider().compute_score(gts_dict, preds_dict)[0]}
    if wordnet_present():
        from nltk.translate.meteor_score import meteor_score

        total = 0.0
        for g, p in zip(gts, HYPS, strict=True):
            total += meteor_score([g[0].replace(",", "").replace(".", "").split(" ")],
                                  p.replace(",", "").replace(".", "").split(" "))
        want["METEOR"] = total / len(HYPS)
    got = captions.bensmot({"instance": (HYPS, REFS)})["instance"]
    for name, value in want.items():
        assert got.scores[name] == pytest.approx(value, abs=1e-12), name
    if not wordnet_present():
        assert got.scores["METEOR"] is None and "WordNet" in got.unavailable["METEOR"].reason
        assert "make wordnet" in got.unavailable["METEOR"].hint


def test_without_nltk_bleu_and_meteor_are_unavailable(monkeypatch):
    monkeypatch.setitem(sys.modules, "nltk", None)  # import nltk now raises ImportError
    got = captions.bensmot({"instance": (HYPS, REFS)})["instance"]
    assert got.scores["BLEU"] is None and got.scores["METEOR"] is None
    assert "nltk is not installed" in got.unavailable["BLEU"].reason and "smot[paper]" in got.unavailable["BLEU"].hint
    assert got.scores["ROUGE-L"] is not None and got.scores["CIDEr"] is not None


def test_cider_with_only_empty_references_is_unavailable():
    got = captions.bensmot({"x": (["a", "b"], ["", " "])})["x"]
    assert got.scores["CIDEr"] is None and "empty" in got.unavailable["CIDEr"].reason
