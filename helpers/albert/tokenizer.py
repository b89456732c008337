"""The unigram tokenizer of the ALBERT pretraining runs: trained once per corpus and vocabulary size, cached, and
the token ids of its special tokens and of every document segment.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Sequence
from pathlib import Path

from helpers.albert.pairs import SpecialTokens
from helpers.core.cache import verified
from helpers.core.params import require
from helpers.core.results import cache_dir

SPECIAL_TOKENS = ("[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]")
TOKENIZER_VERSION = 1


def train_tokenizer(texts: Iterable[str], vocab_size: int):
    """A SentencePiece-style unigram tokenizer (NFKC, lower case, metaspace) trained with `tokenizers`, wrapped
    as a transformers `PreTrainedTokenizerFast` that adds [CLS] A [SEP] B [SEP] with token types."""
    from tokenizers import (
        Regex,
        Tokenizer,
        decoders,
        models,
        normalizers,
        pre_tokenizers,
        processors,
        trainers,
    )
    from transformers import PreTrainedTokenizerFast

    require(vocab_size > len(SPECIAL_TOKENS) + 26, f"vocab_size={vocab_size} is too small; use at least 100.")
    tok = Tokenizer(models.Unigram())
    tok.normalizer = normalizers.Sequence(
        [
            normalizers.NFKC(),
            normalizers.Lowercase(),
            normalizers.Replace(Regex(r"\s+"), " "),
            normalizers.Strip(),
        ]
    )
    tok.pre_tokenizer = pre_tokenizers.Metaspace(replacement="▁", prepend_scheme="always")
    tok.decoder = decoders.Metaspace(replacement="▁", prepend_scheme="always")
    trainer = trainers.UnigramTrainer(
        vocab_size=vocab_size, special_tokens=list(SPECIAL_TOKENS), unk_token="[UNK]", max_piece_length=16
    )
    tok.train_from_iterator(texts, trainer)
    cls_id, sep_id = tok.token_to_id("[CLS]"), tok.token_to_id("[SEP]")
    tok.post_processor = processors.TemplateProcessing(
        single="[CLS] $A [SEP]",
        pair="[CLS] $A [SEP] $B:1 [SEP]:1",
        special_tokens=[("[CLS]", cls_id), ("[SEP]", sep_id)],
    )
    return PreTrainedTokenizerFast(
        tokenizer_object=tok,
        pad_token="[PAD]",
        unk_token="[UNK]",
        cls_token="[CLS]",
        sep_token="[SEP]",
        mask_token="[MASK]",
        model_input_names=["input_ids", "token_type_ids", "attention_mask"],
    )


def load_tokenizer(folder: Path):
    """Reload a tokenizer saved with `save_pretrained` as a transformers fast tokenizer."""
    from transformers import PreTrainedTokenizerFast

    require(
        (folder / "tokenizer.json").exists(), f"No tokenizer.json in {folder}; save one with save_pretrained."
    )
    try:
        return PreTrainedTokenizerFast.from_pretrained(str(folder))
    except Exception as error:  # tokenizers raises a bare Exception for a cut-short or invalid tokenizer.json
        raise ValueError(
            f"{folder / 'tokenizer.json'} cannot be loaded ({str(error)[:120]}); save the tokenizer there again."
        ) from error


def cached_tokenizer(texts: Sequence[str], vocab_size: int):
    """Train the tokenizer once per (texts, vocab size), save it under the cache folder, and reload it from there."""
    digest = hashlib.sha256(json.dumps([TOKENIZER_VERSION, vocab_size, list(texts)]).encode()).hexdigest()[
        :16
    ]
    folder = cache_dir() / "sop_tokenizer" / f"unigram-{vocab_size}-{digest}"
    holds = {"tokenizer_version": TOKENIZER_VERSION, "vocab_size": vocab_size, "texts_digest": digest}
    return load_tokenizer(
        verified(folder, holds, lambda tmp: train_tokenizer(texts, vocab_size).save_pretrained(str(tmp)))
    )


def special_tokens(tokenizer) -> SpecialTokens:
    """The special-token ids of a tokenizer made by `train_tokenizer` (specials take the first ids)."""
    ids = [tokenizer.convert_tokens_to_ids(t) for t in SPECIAL_TOKENS]
    require(ids == list(range(len(SPECIAL_TOKENS))), f"Special tokens must have ids 0–4, got {ids}.")
    return SpecialTokens(
        pad=tokenizer.pad_token_id,
        cls=tokenizer.cls_token_id,
        sep=tokenizer.sep_token_id,
        mask=tokenizer.mask_token_id,
        vocab_size=len(tokenizer),
        first_regular=len(SPECIAL_TOKENS),
    )


def tokenize_documents(tokenizer, documents: Sequence) -> list[list[list[int]]]:
    """Token ids (no special tokens) of every segment of every document, in one batched call."""
    flat = [s for d in documents for s in d.segments]
    encoded = tokenizer(flat, add_special_tokens=False)["input_ids"]
    out, start = [], 0
    for d in documents:
        out.append(encoded[start : start + len(d.segments)])
        start += len(d.segments)
    return out
