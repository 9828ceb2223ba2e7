"""The caption tokenizer: a WordPiece vocabulary counted on the training captions, or a local one.

A tokenizer travels inside the model checkpoint as plain data (`to_data`), the JSON string of the
`tokenizers` library plus the names of its special tokens, so `torch.load(weights_only=True)`
reads it and no file or download is needed at run time.

Why the vocabulary is counted here and not by `tokenizers.trainers.WordPieceTrainer`: that trainer
breaks ties between equally frequent merges in hash order, so two runs on the same captions give
different vocabularies (and so different models); a training run must be reproducible from its
seed. The vocabulary built here is still a WordPiece vocabulary for the `tokenizers` WordPiece
model: the special tokens, then every character of the captions twice (as a word start and as a
`##` continuation, so any word of those characters decomposes), then whole words by descending
count (ties alphabetical) up to `vocab_size`. Lower-cased, BERT normalisation and pre-tokenisation,
as the official decoder's `bert-base-uncased` tokenizer.
"""

from __future__ import annotations

import string
from collections import Counter
from collections.abc import Iterable
from pathlib import Path

from smot.errors import InputError

PAD, UNK, BOS, EOS = "[PAD]", "[UNK]", "[CLS]", "[SEP]"
SPECIAL = (PAD, UNK, BOS, EOS)
# characters always in the alphabet, so unseen words of plain English text never become [UNK]
BASE_ALPHABET = string.ascii_lowercase + string.digits + ".,;:!?'\"-()/&"


def _bert_parts():
    from tokenizers import decoders, normalizers, pre_tokenizers

    return normalizers.BertNormalizer(lowercase=True), pre_tokenizers.BertPreTokenizer(), decoders.WordPiece()


def train_tokenizer(captions: Iterable[str], vocab_size: int = 30522, min_count: int = 1):
    """A WordPiece tokenizer (PreTrainedTokenizerFast) whose vocabulary comes from `captions`."""
    from tokenizers import Tokenizer, models

    normalizer, pre_tokenizer, _ = _bert_parts()
    counts: Counter[str] = Counter()
    for caption in captions:
        for word, _span in pre_tokenizer.pre_tokenize_str(normalizer.normalize_str(caption)):
            counts[word] += 1
    alphabet = sorted(set(BASE_ALPHABET) | {c for word in counts for c in word})
    vocab: dict[str, int] = {}
    for token in [*SPECIAL, *alphabet, *(f"##{c}" for c in alphabet)]:
        vocab.setdefault(token, len(vocab))
    for word, count in sorted(counts.items(), key=lambda item: (-item[1], item[0])):
        if len(vocab) >= vocab_size or count < min_count:
            break
        vocab.setdefault(word, len(vocab))
    tokenizer = Tokenizer(models.WordPiece(vocab, unk_token=UNK, max_input_chars_per_word=100))
    tokenizer.normalizer, tokenizer.pre_tokenizer, tokenizer.decoder = _bert_parts()
    return wrap(tokenizer.to_str(), {"pad": PAD, "unk": UNK, "bos": BOS, "eos": EOS})


def wrap(json: str, special: dict[str, str]):
    """A PreTrainedTokenizerFast from the `tokenizers` JSON string and the special token names."""
    from tokenizers import Tokenizer
    from transformers import PreTrainedTokenizerFast

    tokenizer = PreTrainedTokenizerFast(
        tokenizer_object=Tokenizer.from_str(json), pad_token=special["pad"], unk_token=special.get("unk"),
        bos_token=special["bos"], eos_token=special["eos"], clean_up_tokenization_spaces=True)
    tokenizer.model_max_length = 1 << 30
    return tokenizer


def to_data(tokenizer) -> dict[str, str]:
    """Plain data for the checkpoint: the JSON string and the special tokens."""
    return {"json": tokenizer.backend_tokenizer.to_str(), "pad": tokenizer.pad_token,
            "unk": tokenizer.unk_token or "", "bos": tokenizer.bos_token, "eos": tokenizer.eos_token}


def from_data(data: dict[str, str]):
    return wrap(data["json"], {k: v for k, v in data.items() if k != "json" and v})


def load_tokenizer_dir(path: str | Path):
    """A tokenizer saved with `save_pretrained` (e.g. a local bert-base-uncased folder).

    BERT-style folders have no begin/end tokens by those names: [CLS] begins and [SEP] ends a
    caption, as in the official decoder.
    """
    from transformers import AutoTokenizer

    try:
        tokenizer = AutoTokenizer.from_pretrained(str(path), local_files_only=True, use_fast=True)
    except (OSError, ValueError) as e:
        raise InputError(f"cannot load a tokenizer from {path}: {str(e).splitlines()[0][:160]}",
                         hint="give a folder written by save_pretrained (tokenizer.json or vocab.txt)") from None
    if not getattr(tokenizer, "is_fast", False):
        raise InputError(f"the tokenizer in {path} has no fast (tokenizers) version")
    special = {"pad": tokenizer.pad_token, "unk": tokenizer.unk_token,
               "bos": tokenizer.bos_token or tokenizer.cls_token, "eos": tokenizer.eos_token or tokenizer.sep_token}
    missing = [name for name in ("pad", "bos", "eos") if not special[name]]
    if missing:
        raise InputError(f"the tokenizer in {path} has no {', '.join(missing)} token",
                         hint="captions need a padding, a begin ([CLS]/bos) and an end ([SEP]/eos) token")
    return wrap(tokenizer.backend_tokenizer.to_str(), {k: v for k, v in special.items() if v})
