"""Segment-pair builders for BERT's next-sentence prediction (NSP) and ALBERT's sentence-order prediction (SOP),
and BERT/ALBERT masked-language-model masking (15 %, 80/10/10, optional n-gram spans).

Label convention for both pair tasks (as in `AlbertForPreTraining`'s `sentence_order_label`): 0 = the original
text (B really follows A, in order), 1 = not original (NSP: B is a random segment of another document; SOP: the two
consecutive segments are swapped).

Two constructions. 'cued' is the textbook one: any consecutive pair, any segment of another document as an NSP
negative. On short documents it leaks a position cue: B is a document's *opening* segment only in not-original
pairs (a swapped first pair, or a random segment that happens to open its document), and a document's *closing*
segment is A only in swapped pairs. 'controlled' never uses a document's opening or closing segment, on either
side, so both position cues are absent for both labels (documents need four segments).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch

from helpers.core.params import require

TASKS = ("mlm", "nsp", "sop")
CONSTRUCTIONS = ("controlled", "cued")
TRUNCATIONS = ("junction", "starts", "halves")
ORIGINAL, NOT_ORIGINAL = 0, 1
IGNORE = -100

TokenDocs = Sequence[Sequence[Sequence[int]]]  # documents → segments → token ids


@dataclass(frozen=True)
class SpecialTokens:
    """Ids of the special tokens and the vocabulary size (ids below `first_regular` are all special)."""

    pad: int
    cls: int
    sep: int
    mask: int
    vocab_size: int
    first_regular: int


@dataclass(frozen=True)
class Pair:
    """Two segments as presented to the model, their label, and where each came from (document, segment)."""

    first: tuple[int, ...]
    second: tuple[int, ...]
    label: int
    source_first: tuple[int, int]
    source_second: tuple[int, int]


def consecutive_positions(docs: TokenDocs, trim: int = 0) -> np.ndarray:
    """All (document, segment) positions whose pair (s, s + 1) leaves out the first and last `trim` segments of
    the document, as an (n, 2) array."""
    positions = [(d, s) for d, doc in enumerate(docs) for s in range(trim, len(doc) - 1 - trim)]
    require(
        positions,
        f"No document has {2 + 2 * trim} segments, so no pair can be built; use a corpus with longer documents.",
    )
    return np.asarray(positions, dtype=np.int64)


def balanced_labels(n: int, rng: np.random.Generator) -> np.ndarray:
    """n labels, exactly half (rounded down) original and the rest not original, in random order."""
    return rng.permutation(np.arange(n) >= n // 2).astype(np.int64)


class PairBuilder:
    """Draws NSP / SOP / MLM pairs from tokenised documents with one construction ('controlled' or 'cued');
    the eligible positions are computed once."""

    def __init__(self, docs: TokenDocs, construction: str = "controlled") -> None:
        require(
            construction in CONSTRUCTIONS,
            f"Unknown pair construction {construction!r}; use one of {', '.join(CONSTRUCTIONS)}.",
        )
        self.docs, self.construction = docs, construction
        self.trim = 1 if construction == "controlled" else 0  # controlled: no opening or closing segment
        self.positions = consecutive_positions(docs, self.trim)
        self.other_docs = np.asarray([d for d, doc in enumerate(docs) if len(doc) > 2 * self.trim])

    def pairs(self, task: str, n: int, rng: np.random.Generator) -> list[Pair]:
        """n segment pairs for `task`: 'nsp' (next vs other-document segment), 'sop' (in order vs swapped) or
        'mlm' (always the original consecutive pair, for the model without a pair loss)."""
        require(task in TASKS, f"Unknown task {task!r}; use one of {', '.join(TASKS)}.")
        require(n > 0, f"Asked for n={n} pairs; ask for at least one.")
        require(
            task != "nsp" or len(self.other_docs) >= 2,
            "NSP negatives need a second document; use a corpus with at least two documents.",
        )
        picks = self.positions[rng.integers(0, len(self.positions), size=n)]
        labels = balanced_labels(n, rng) if task != "mlm" else np.zeros(n, dtype=np.int64)
        pairs = []
        for (d, s), label in zip(picks.tolist(), labels.tolist(), strict=True):
            a, b = (d, s), (d, s + 1)
            if task == "nsp" and label == NOT_ORIGINAL:
                b = self._other_segment(d, rng)
            elif task == "sop" and label == NOT_ORIGINAL:
                a, b = b, a
            pairs.append(Pair(tuple(self.docs[a[0]][a[1]]), tuple(self.docs[b[0]][b[1]]), label, a, b))
        return pairs

    def _other_segment(self, d: int, rng: np.random.Generator) -> tuple[int, int]:
        while True:  # any eligible document but this one
            other = int(self.other_docs[rng.integers(0, len(self.other_docs))])
            if other != d:
                return other, int(rng.integers(self.trim, len(self.docs[other]) - self.trim))


def build_pairs(
    task: str, docs: TokenDocs, n: int, rng: np.random.Generator, construction: str = "controlled"
) -> list[Pair]:
    """n segment pairs for `task` with one construction (see `PairBuilder`)."""
    return PairBuilder(docs, construction).pairs(task, n, rng)


def opening_share(pairs: Sequence[Pair]) -> dict[int, float]:
    """Per label, the share of pairs whose second segment is the first segment of its document (a position cue)."""
    shares = {}
    for label in (ORIGINAL, NOT_ORIGINAL):
        chosen = [p.source_second[1] == 0 for p in pairs if p.label == label]
        shares[label] = float(np.mean(chosen)) if chosen else float("nan")
    return shares


def truncate_pair(
    first: Sequence[int], second: Sequence[int], budget: int, truncation: str = "junction"
) -> tuple[list[int], list[int]]:
    """Fit two segments into `budget` tokens; the longer one is cut first, so neither drops below half the budget
    unless it is shorter. 'junction' keeps the junction (the first loses its start, the second its end);
    'starts' keeps the start of each segment (where a section heading or a topic sentence is); 'halves' keeps the
    start of each and cuts each to half the budget whatever the other's length, so that a long first segment puts
    the second at the same position in every pair."""
    require(budget >= 2, f"A pair needs a budget of at least 2 tokens, got {budget}; raise max_len.")
    require(
        truncation in TRUNCATIONS, f"Unknown truncation {truncation!r}; use one of {', '.join(TRUNCATIONS)}."
    )
    la, lb = len(first), len(second)
    if truncation == "halves":
        return list(first[: budget // 2]), list(second[: budget - budget // 2])
    if la + lb <= budget:
        return list(first), list(second)
    keep_a = min(la, max(budget // 2, budget - lb))
    keep_b = min(lb, budget - keep_a)
    kept_first = first[la - keep_a :] if truncation == "junction" else first[:keep_a]
    return list(kept_first), list(second[:keep_b])


def encode_pairs(
    pairs: Sequence[Pair], special: SpecialTokens, max_len: int, truncation: str = "junction"
) -> dict[str, torch.Tensor]:
    """[CLS] A [SEP] B [SEP] with token types 0/1 (long pairs cut by `truncation`, see `truncate_pair`), padded to
    the longest pair; also `pair_labels`."""
    require(max_len >= 5, f"max_len={max_len} is too short for [CLS] A [SEP] B [SEP]; use at least 5.")
    rows, types = [], []
    for pair in pairs:
        a, b = truncate_pair(pair.first, pair.second, max_len - 3, truncation)
        rows.append([special.cls, *a, special.sep, *b, special.sep])
        types.append([0] * (len(a) + 2) + [1] * (len(b) + 1))
    width = max(len(r) for r in rows)
    ids = torch.full((len(rows), width), special.pad, dtype=torch.long)
    token_types = torch.zeros((len(rows), width), dtype=torch.long)
    for i, (row, typ) in enumerate(zip(rows, types, strict=True)):
        ids[i, : len(row)] = torch.tensor(row)
        token_types[i, : len(typ)] = torch.tensor(typ)
    return {
        "input_ids": ids,
        "token_type_ids": token_types,
        "attention_mask": (ids != special.pad).long(),
        "pair_labels": torch.tensor([p.label for p in pairs], dtype=torch.long),
    }


def ngram_weights(max_ngram: int) -> np.ndarray:
    """ALBERT's n-gram length distribution p(n) ∝ 1/n for n = 1 … max_ngram."""
    require(
        1 <= max_ngram <= 3, f"max_ngram={max_ngram}: ALBERT masks n-grams with 1 ≤ n ≤ 3; use 1, 2 or 3."
    )
    weights = 1.0 / np.arange(1, max_ngram + 1)
    return weights / weights.sum()


def _choose_positions(regular: np.ndarray, count: int, max_ngram: int, rng: np.random.Generator) -> list[int]:
    if max_ngram == 1:
        return rng.choice(regular, size=count, replace=False).tolist()
    allowed = set(regular.tolist())
    chosen: set[int] = set()
    lengths = rng.choice(max_ngram, size=len(regular), p=ngram_weights(max_ngram)) + 1
    for start, length in zip(rng.permutation(regular).tolist(), lengths.tolist(), strict=True):
        if len(chosen) >= count:
            break
        n = min(length, count - len(chosen))
        span = [start + k for k in range(n)]
        if all(p in allowed and p not in chosen for p in span):
            chosen.update(span)
    return sorted(chosen)


def mask_tokens(
    input_ids: torch.Tensor,
    special: SpecialTokens,
    rng: np.random.Generator,
    rate: float = 0.15,
    max_ngram: int = 1,
) -> tuple[torch.Tensor, torch.Tensor]:
    """MLM masking: pick round(rate · n) regular tokens per row (n-gram spans up to `max_ngram`), replace 80 % by
    [MASK], 10 % by a random regular token, keep 10 %; special tokens are never picked nor drawn. Returns
    (masked input ids, labels with -100 where nothing is predicted)."""
    require(0 < rate < 1, f"Masking rate {rate} must be between 0 and 1 (BERT and ALBERT use 0.15).")
    ids = input_ids.numpy().copy()
    labels = np.full_like(ids, IGNORE)
    is_regular = ids >= special.first_regular
    for row in range(ids.shape[0]):
        regular = np.flatnonzero(is_regular[row])
        if len(regular) == 0:
            continue
        count = max(1, int(round(rate * len(regular))))
        positions = np.asarray(_choose_positions(regular, count, max_ngram, rng), dtype=np.int64)
        labels[row, positions] = ids[row, positions]
        action = rng.random(len(positions))
        ids[row, positions[action < 0.8]] = special.mask
        randomised = positions[(action >= 0.8) & (action < 0.9)]
        ids[row, randomised] = rng.integers(special.first_regular, special.vocab_size, size=len(randomised))
    return torch.from_numpy(ids), torch.from_numpy(labels)
