"""Caption metrics under two named protocols (../shared/reference/metrics-protocols.md §4).

- `coco`: the coco-caption protocol through pycocoevalcap: PTB tokenizer (Java), BLEU-1..4,
  METEOR 1.5 (Java, corpus score), ROUGE-L, CIDEr-D (idf from the evaluated set's references).
- `bensmot`: what the paper's `eval_vu.py` computes, for comparison with published numbers:
  nltk corpus BLEU on raw strings (so BLEU-4 over characters), nltk METEOR against the first
  reference after deleting `,` and `.` and splitting on single spaces (mean over items),
  pycocoevalcap ROUGE-L and CIDEr on the raw strings.

A metric that cannot run here (no Java, no nltk, no WordNet data) is reported as unavailable
with the reason and a hint; the others are computed. Every set holds one reference per item
(BenSMOT has one caption per trajectory and per video).

Guards that pycocoevalcap lacks: METEOR is never started for zero items (its wrapper deadlocks);
line breaks become spaces and `|||` is dropped from METEOR's input (either would desynchronise
its line protocol); blank captions are not sent to the PTB tokenizer (their tokens are "").
"""

from __future__ import annotations

import contextlib
import os
import shutil
import sys
import warnings
from dataclasses import dataclass, field

PROTOCOLS = ("coco", "bensmot")
COCO_METRICS = ("BLEU-1", "BLEU-2", "BLEU-3", "BLEU-4", "METEOR", "ROUGE-L", "CIDEr")
BENSMOT_METRICS = ("BLEU", "METEOR", "ROUGE-L", "CIDEr")
JAVA_HINT = "install a Java runtime (e.g. `apt-get install default-jre-headless`), or use --protocol bensmot"
NLTK_HINT = "install nltk: pip install 'smot[paper]'"
WORDNET_HINT = "install the WordNet data offline with `make wordnet` (Debian's wordnet-base), see formats/report.md"


class Unavailable(Exception):
    """A metric cannot be computed here: `reason`, and a `hint` at what would fix it."""

    def __init__(self, reason: str, hint: str | None = None):
        super().__init__(reason)
        self.reason = reason
        self.hint = hint


@dataclass
class Result:
    """Scores of one caption set: metric name -> value (None when unavailable)."""

    items: int
    scores: dict[str, float | None] = field(default_factory=dict)
    unavailable: dict[str, Unavailable] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    def report(self) -> dict:
        out: dict = {"items": self.items, **self.scores}
        if self.unavailable:
            out["unavailable"] = {name: u.reason for name, u in self.unavailable.items()}
        if self.notes:
            out["notes"] = list(self.notes)
        return out


def java_available() -> bool:
    return shutil.which("java") is not None


@contextlib.contextmanager
def _quiet_stderr():
    """Silence fd 2 while a Java helper runs (the PTB tokenizer logs its speed there)."""
    try:
        sys.stderr.flush()
        saved = os.dup(2)
    except (OSError, ValueError):
        yield
        return
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 2)
    try:
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(devnull)


class Meteor:
    """pycocoevalcap's METEOR 1.5, started at most once, guarded against its known hangs."""

    def __init__(self):
        self._scorer = None
        self._failed: Unavailable | None = None

    def scores(self, hypotheses: list[str], references: list[str]) -> tuple[float, list[float]]:
        """(corpus score, per-item scores) of hypothesis i against reference i."""
        if not hypotheses:
            raise Unavailable("no items")  # the jar answers zero items with an error and the wrapper hangs
        if self._failed is not None:
            raise self._failed
        if not java_available():
            self._failed = Unavailable("METEOR 1.5 runs on Java, and `java` is not on PATH", JAVA_HINT)
            raise self._failed
        if self._scorer is None:
            from pycocoevalcap.meteor.meteor import Meteor as CocoMeteor

            try:
                self._scorer = CocoMeteor()
            except OSError as e:
                self._failed = Unavailable(f"METEOR could not start: {e}", JAVA_HINT)
                raise self._failed from None
        gts = {i: [_meteor_text(r).replace("|||", "")] for i, r in enumerate(references)}
        res = {i: [_meteor_text(h)] for i, h in enumerate(hypotheses)}
        try:
            score, per_item = self._scorer.compute_score(gts, res)
        except Exception as e:  # the jar died or answered an error line
            self._abandon()
            self._failed = Unavailable(f"METEOR failed: {type(e).__name__}: {e}", JAVA_HINT)
            raise self._failed from None
        return float(score), [float(s) for s in per_item]

    def _abandon(self) -> None:
        scorer, self._scorer = self._scorer, None
        if scorer is None:
            return
        if scorer.lock.locked():
            scorer.lock.release()
        with contextlib.suppress(Exception):
            scorer.meteor_p.kill()
            scorer.meteor_p.wait()
        with contextlib.suppress(Exception):
            scorer.meteor_p.stdin.close()

    def close(self) -> None:
        scorer, self._scorer = self._scorer, None
        if scorer is None:
            return
        with scorer.lock:  # released even if a step fails, so the wrapper's __del__ cannot hang
            for step in (scorer.meteor_p.stdin.close, scorer.meteor_p.kill, scorer.meteor_p.wait):
                with contextlib.suppress(Exception):
                    step()


def _meteor_text(text: str) -> str:
    return text.replace("\r", " ").replace("\n", " ")


def ptb_tokenize(texts: list[str]) -> list[str]:
    """pycocoevalcap's PTB tokenization (lower-cased, punctuation dropped) of each text."""
    if not java_available():
        raise Unavailable("the PTB tokenizer of the coco protocol runs on Java, and `java` is not on PATH", JAVA_HINT)
    from pycocoevalcap.tokenizer.ptbtokenizer import PTBTokenizer

    unique = sorted({t for t in texts if t.strip()})
    tokens = {"": ""}
    if unique:
        try:
            with _quiet_stderr():
                out = PTBTokenizer().tokenize({i: [{"caption": t}] for i, t in enumerate(unique)})
        except OSError as e:
            raise Unavailable(f"the PTB tokenizer could not run: {e}", JAVA_HINT) from None
        if len(out) != len(unique):
            raise Unavailable(f"the PTB tokenizer returned {len(out)} lines for {len(unique)} captions")
        tokens.update({t: out[i][0] for i, t in enumerate(unique)})
    return [tokens.get(t, "") if t.strip() else "" for t in texts]


def _cider(hypotheses: list[str], references: list[str], result: Result) -> float:
    from pycocoevalcap.cider.cider import Cider

    if all(not r.split() for r in references):
        raise Unavailable("every reference is empty")
    score, _ = Cider().compute_score({i: [r] for i, r in enumerate(references)},
                                     {i: [h] for i, h in enumerate(hypotheses)})
    if len(hypotheses) == 1:
        result.notes.append("CIDEr takes its idf from the evaluated set itself: with one item it is always 0")
    return float(score)


def _rouge(hypotheses: list[str], references: list[str]) -> float:
    from pycocoevalcap.rouge.rouge import Rouge

    score, _ = Rouge().compute_score({i: [r] for i, r in enumerate(references)},
                                     {i: [h] for i, h in enumerate(hypotheses)})
    return float(score)


def _run(result: Result, name: str, compute, *args) -> None:
    try:
        result.scores[name] = compute(*args)
    except Unavailable as u:
        result.scores[name] = None
        result.unavailable[name] = u


def coco(sets: dict[str, tuple[list[str], list[str]]], meteor: Meteor) -> dict[str, Result]:
    """The coco protocol on each named set of (hypotheses, references); one tokenizer run for all."""
    results = {name: Result(len(h)) for name, (h, _) in sets.items()}
    texts = [t for h, r in sets.values() for t in (*h, *r)]
    try:
        tokens = ptb_tokenize(texts)
    except Unavailable as u:
        for result in results.values():
            for metric in COCO_METRICS:
                result.scores[metric] = None
                result.unavailable[metric] = u
        return results
    at = 0
    for name, (hyps, _) in sets.items():
        result = results[name]
        n = len(hyps)
        tok_h, tok_r = tokens[at:at + n], tokens[at + n:at + 2 * n]
        at += 2 * n
        if not n:
            for metric in COCO_METRICS:
                result.scores[metric] = None
            result.notes.append("no items")
            continue
        from pycocoevalcap.bleu.bleu import Bleu

        gts = {i: [r] for i, r in enumerate(tok_r)}
        res = {i: [h] for i, h in enumerate(tok_h)}
        bleu, _ = Bleu(4).compute_score(gts, res, verbose=0)
        for k in range(4):
            result.scores[f"BLEU-{k + 1}"] = float(bleu[k])
        _run(result, "METEOR", lambda h, r: meteor.scores(h, r)[0], tok_h, tok_r)
        _run(result, "ROUGE-L", _rouge, tok_h, tok_r)
        _run(result, "CIDEr", _cider, tok_h, tok_r, result)
    return results


def _nltk():
    try:
        import nltk  # noqa: F401
    except ImportError:
        raise Unavailable("the bensmot protocol's BLEU and METEOR are nltk's, and nltk is not installed",
                          NLTK_HINT) from None


def _wordnet():
    _nltk()
    from nltk.corpus import wordnet

    try:
        wordnet.ensure_loaded()
    except LookupError:
        raise Unavailable("nltk's METEOR needs the WordNet corpus, which nltk cannot find", WORDNET_HINT) from None


def _char_bleu(hypotheses: list[str], references: list[str], result: Result) -> float:
    _nltk()
    from nltk.translate.bleu_score import corpus_bleu

    # eval_vu.py passes raw strings, which nltk iterates as characters: character BLEU-4
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        score = corpus_bleu([[r] for r in references], hypotheses)
    if caught:
        result.notes.append(f"nltk BLEU: {str(caught[0].message).splitlines()[0].strip()}")
    return float(score)


def _nltk_meteor(hypotheses: list[str], references: list[str]) -> float:
    _wordnet()
    from nltk.translate.meteor_score import meteor_score

    def words(text: str) -> list[str]:
        return text.replace(",", "").replace(".", "").split(" ")

    total = sum(meteor_score([words(r)], words(h)) for h, r in zip(hypotheses, references, strict=True))
    return float(total / len(hypotheses))


def bensmot(sets: dict[str, tuple[list[str], list[str]]]) -> dict[str, Result]:
    """The paper's eval_vu.py computations on each named set of (hypotheses, references)."""
    results = {}
    for name, (hyps, refs) in sets.items():
        result = results[name] = Result(len(hyps))
        if not hyps:
            for metric in BENSMOT_METRICS:
                result.scores[metric] = None
            result.notes.append("no items")
            continue
        _run(result, "BLEU", _char_bleu, hyps, refs, result)
        _run(result, "METEOR", _nltk_meteor, hyps, refs)
        _run(result, "ROUGE-L", _rouge, hyps, refs)
        _run(result, "CIDEr", _cider, hyps, refs, result)
    return results
