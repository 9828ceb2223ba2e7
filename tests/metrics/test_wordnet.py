"""The offline WordNet installer: the lexnames file it writes from Debian's manual page."""

from __future__ import annotations

import pytest

from smot.metrics.wordnet import lexnames

NAMES = ["adj.all", "adj.pert", "adv.all", "noun.Tops", "noun.act", "noun.animal", "noun.artifact", "noun.attribute",
         "noun.body", "noun.cognition", "noun.communication", "noun.event", "noun.feeling", "noun.food", "noun.group",
         "noun.location", "noun.motive", "noun.object", "noun.person", "noun.phenomenon", "noun.plant",
         "noun.possession", "noun.process", "noun.quantity", "noun.relation", "noun.shape", "noun.state",
         "noun.substance", "noun.time", "verb.body", "verb.change", "verb.cognition", "verb.communication",
         "verb.competition", "verb.consumption", "verb.contact", "verb.creation", "verb.emotion", "verb.motion",
         "verb.perception", "verb.possession", "verb.social", "verb.stative", "verb.weather", "adj.ppl"]


def manual_page(names: list[str]) -> str:
    # the table of lexnames(5WN) as troff source: number, name (sometimes with trailing blanks), contents
    rows = "".join(f"{i:02d}\t{name}  \tsome contents \n" for i, name in enumerate(names))
    return f".SS Lexicographer Files\n.TS\ncenter ;\nl l l.\n\\fBFile Number\\fP\t\\fBName\\fP\n_\n{rows}.TE\n"


def test_lexnames_from_the_manual_page():
    text = lexnames(manual_page(NAMES))
    lines = text.splitlines()
    assert len(lines) == 45
    # nltk reads "number<TAB>name<TAB>syntactic category" (1 noun, 2 verb, 3 adjective, 4 adverb)
    assert lines[0] == "00\tadj.all\t3" and lines[2] == "02\tadv.all\t4"
    assert lines[18] == "18\tnoun.person\t1" and lines[29] == "29\tverb.body\t2" and lines[44] == "44\tadj.ppl\t3"


def test_lexnames_refuses_an_unexpected_page():
    with pytest.raises(ValueError, match="expected 45"):
        lexnames(manual_page(NAMES[:40]))
