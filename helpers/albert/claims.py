"""ALBERT claims: the published figures, the quotes and the rules that turn measurements into verdicts (09, 10).

The claims that stand alone are declared in `claims.toml` beside this module (each [NAME] table is the constant
NAME here); those per row of the paper's tables, and per library-settings variant, are built below.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from helpers.albert.configs import TABLE3_EMBEDDINGS
from helpers.albert.speed import VARIANTS
from helpers.core.claims import Claim, at_least, load_declarations, within

DECLARED = load_declarations(Path(__file__).with_suffix(".toml"))
PAPER, BLOG = DECLARED.sources["paper"], DECLARED.sources["blog"]

# ------------------------------------------------------------------ 09 · parameter efficiency, speed and memory

ONE_EIGHTEENTH: Claim = DECLARED.claims["ONE_EIGHTEENTH"]
XXLARGE_SLOWER: Claim = DECLARED.claims["XXLARGE_SLOWER"]

# Table 1 of the paper (V = 30,000, FFN = 4H, H/64 heads), in millions of parameters.
TABLE1_M = {
    "bert-base": 108,
    "bert-large": 334,
    "albert-base": 12,
    "albert-large": 18,
    "albert-xlarge": 60,
    "albert-xxlarge": 235,
}
XXLARGE_TEXT_M = 233  # the paper's text gives 233M for ALBERT-xxlarge, Table 1 gives 235M
HF_CARD_M = {"albert-base": 11, "albert-large": 17, "albert-xlarge": 58, "albert-xxlarge": 223}
# Table 3: ALBERT-base with E = 64/128/256/768, not-shared vs all-shared.
TABLE3_M = {
    "not-shared": dict(zip(TABLE3_EMBEDDINGS, (87, 89, 93, 108), strict=True)),
    "all-shared": dict(zip(TABLE3_EMBEDDINGS, (10, 12, 16, 31), strict=True)),
}
# Table 4: ALBERT-base, four sharing strategies at E = 768 and E = 128.
TABLE4_M = {
    768: {"all-shared": 31, "shared-attention": 83, "shared-ffn": 57, "not-shared": 108},
    128: {"all-shared": 12, "shared-attention": 64, "shared-ffn": 38, "not-shared": 89},
}
# Table 2: training speed relative to BERT-large (TPU pods, batch 4096, seq 512).
TABLE2_SPEEDUP = {
    "bert-base": 4.7,
    "bert-large": 1.0,
    "albert-base": 5.6,
    "albert-large": 1.7,
    "albert-xlarge": 0.6,
    "albert-xxlarge": 0.3,
}


def _row_claim(claim_id: str, statement: str, published_m: float) -> Claim:
    return Claim(claim_id, PAPER, statement, published_m, "M parameters", within(published_m, 0.05, 1.0))


TABLE1_CLAIMS = {
    name: _row_claim(f"albert.table1.{name}", f"Table 1: {name} has {m}M parameters", m)
    for name, m in TABLE1_M.items()
}
TABLE3_CLAIMS = {
    (sharing, e): _row_claim(
        f"albert.table3.{sharing}.E{e}", f"Table 3: ALBERT-base {sharing}, E={e}: {m}M", m
    )
    for sharing, row in TABLE3_M.items()
    for e, m in row.items()
}
TABLE4_CLAIMS = {
    (e, sharing): _row_claim(
        f"albert.table4.E{e}.{sharing}", f"Table 4: ALBERT-base E={e}, {sharing}: {m}M", m
    )
    for e, row in TABLE4_M.items()
    for sharing, m in row.items()
}
SPEED_CLAIMS = {
    variant: Claim(
        f"albert.speed.{variant}.albert-large",
        f"{BLOG}; Table 2 of {PAPER}",
        "An ALBERT configuration analogous to BERT-large ... trains in less than 2/3 the amount of time "
        f"(≥ 1.5x faster; {variant} library settings; verdict at the widest width measured)",
        1.7,
        "x faster than BERT-large",
        at_least(1.5, partly=1.1),
    )
    for variant in VARIANTS
}
MEMORY_CLAIMS = {
    variant: Claim(
        f"albert.memory.{variant}.albert-large",
        BLOG,
        "ALBERT's parameter-reduction techniques reduce the memory consumption of BERT: ALBERT-large's peak "
        f"training memory is below BERT-large's (≥ 1.1x less; {variant} library settings; widest width measured)",
        "less",
        "x less peak training memory than BERT-large",
        at_least(1.1, partly=1.0),
    )
    for variant in VARIANTS
}

# ------------------------------------------------------------------ 10 · sentence-order prediction (NSP vs SOP)

NSP_MODEL_SOP_NEAR_CHANCE: Claim = DECLARED.claims["NSP_MODEL_SOP_NEAR_CHANCE"]
SOP_MODEL_SOLVES_NSP: Claim = DECLARED.claims["SOP_MODEL_SOLVES_NSP"]
SOP_BEATS_NSP_ON_SOP: Claim = DECLARED.claims["SOP_BEATS_NSP_ON_SOP"]
SOP_BEATS_NSP_DOWNSTREAM: Claim = DECLARED.claims["SOP_BEATS_NSP_DOWNSTREAM"]
ALBERT_STATE_OF_THE_ART: Claim = DECLARED.claims["ALBERT_STATE_OF_THE_ART"]
ALBERT_BASE_SST2: Claim = DECLARED.claims["ALBERT_BASE_SST2"]

PAPER_TABLE5 = pd.DataFrame(
    {"mlm": [54.9, 54.5, 54.0], "nsp": [52.4, 90.5, 78.9], "sop": [53.3, 52.0, 86.5]},
    index=pd.Index(["mlm", "nsp", "sop"], name="pretraining"),
)  # ALBERT-base intrinsic accuracies (%), rows = pair loss in pretraining (mlm = none), checked against Table 5
PAPER_TABLE5_DOWNSTREAM = pd.DataFrame(
    {
        "SQuAD1.1 (F1/EM)": ["88.6/81.5", "88.4/81.5", "89.3/82.3"],
        "SQuAD2.0 (F1/EM)": ["78.1/75.3", "77.2/74.6", "80.0/77.1"],
        "MNLI": [81.5, 81.6, 82.0],
        "SST-2": [89.9, 91.1, 90.3],
        "RACE": [61.7, 62.3, 64.0],
        "Avg": [79.0, 79.2, 80.1],
    },
    index=pd.Index(["mlm", "nsp", "sop"], name="pretraining"),
)  # ALBERT-base, published downstream dev results of the same three models (%), checked against Table 5

# SST-2 dev accuracy, %: albert-base-v2 from the v2 results table of the google-research/albert README (also in
# tensorflow/models official/nlp/albert), bert-base from the paper's Table 2 (checked against both texts).
PUBLISHED_SST2_DEV = {"albert-base-v2": 92.9, "bert-base-uncased": 92.8}
