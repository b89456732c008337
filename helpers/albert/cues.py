"""Surface cues that could tell a pair's label without reading for coherence: segment position and length, the
first token of B, capitalisation — measured per label, and the accuracy of a classifier that sees only them."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from helpers.albert.pairs import NOT_ORIGINAL, ORIGINAL, Pair, TokenDocs
from helpers.core.params import require

NUMERIC_CUES = {
    "b_opens": "B opens its document (%)",
    "a_opens": "A opens its document (%)",
    "b_closes": "B closes its document (%)",
    "a_closes": "A closes its document (%)",
    "b_capitalised": "B starts with a capital (%)",
    "a_tokens": "A length (tokens, mean)",
    "b_tokens": "B length (tokens, mean)",
}
SHARES = ("b_opens", "a_opens", "b_closes", "a_closes", "b_capitalised")
TOP_FIRST_TOKENS = 50


def surface_cues(pairs: Sequence[Pair], docs: TokenDocs, texts: Sequence[Sequence[str]]) -> pd.DataFrame:
    """One row per pair: its label and every surface cue (positions, token lengths, B's first token and whether
    its raw text starts with a capital — `texts` are the untokenised segments, aligned with `docs`)."""
    require(len(pairs) > 0, "No pairs given; build some pairs first.")
    rows = []
    for pair in pairs:
        (da, sa), (db, sb) = pair.source_first, pair.source_second
        rows.append(
            {
                "label": pair.label,
                "b_opens": sb == 0,
                "a_opens": sa == 0,
                "b_closes": sb == len(docs[db]) - 1,
                "a_closes": sa == len(docs[da]) - 1,
                "b_capitalised": texts[db][sb][:1].isupper(),
                "a_tokens": len(pair.first),
                "b_tokens": len(pair.second),
                "b_first_token": pair.second[0] if pair.second else -1,
                "a_last_token": pair.first[-1] if pair.first else -1,
            }
        )
    return pd.DataFrame(rows)


def cue_table(cues: pd.DataFrame) -> pd.DataFrame:
    """Per cue, its value among original and not-original pairs (shares in %, lengths as means) and the gap."""
    rows = {}
    for name, title in NUMERIC_CUES.items():
        scale = 100.0 if name in SHARES else 1.0
        original = scale * cues.loc[cues["label"] == ORIGINAL, name].astype(float).mean()
        other = scale * cues.loc[cues["label"] == NOT_ORIGINAL, name].astype(float).mean()
        rows[title] = {"original": original, "not original": other, "gap": other - original}
    return pd.DataFrame.from_dict(rows, orient="index")


def _design(cues: pd.DataFrame, vocabulary: Sequence[int]) -> np.ndarray:
    numeric = cues[list(NUMERIC_CUES)].astype(float).to_numpy()
    numeric[:, -2:] = np.log1p(numeric[:, -2:])
    columns = [numeric]
    for column in ("b_first_token", "a_last_token"):
        values = cues[column].to_numpy()
        columns.append(np.stack([values == token for token in vocabulary], axis=1).astype(float))
    return np.concatenate(columns, axis=1)


def cue_only_accuracy(train: pd.DataFrame, test: pd.DataFrame) -> float:
    """Held-out accuracy of a logistic regression that sees only the surface cues (positions, lengths, and the
    most common first tokens of B and last tokens of A); 0.5 means the cues do not separate the labels."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    require(train["label"].nunique() == 2, "The training pairs need both labels; build pairs for NSP or SOP.")
    tokens = pd.concat([train["b_first_token"], train["a_last_token"]]).value_counts()
    vocabulary = tokens.index[:TOP_FIRST_TOKENS].tolist()
    model = make_pipeline(StandardScaler(), LogisticRegression(max_iter=2000))
    model.fit(_design(train, vocabulary), train["label"].to_numpy())
    return float(model.score(_design(test, vocabulary), test["label"].to_numpy()))
