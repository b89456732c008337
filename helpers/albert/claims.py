"""ALBERT claims: the published figures, the quotes and the rules that turn measurements into verdicts (09, 10)."""

from __future__ import annotations

import pandas as pd

from helpers.albert.configs import TABLE3_EMBEDDINGS
from helpers.albert.speed import VARIANTS
from helpers.core.claims import Claim, at_least, at_most, greater_than, within

PAPER = "Lan et al., ALBERT: A Lite BERT for Self-supervised Learning of Language Representations, ICLR 2020"
BLOG = "My Week in AI: Part 6 (seed blog post)"

# ------------------------------------------------------------------ 09 · parameter efficiency, speed and memory

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
ONE_EIGHTEENTH = Claim(
    "albert.params_ratio_large",
    BLOG,
    "An ALBERT configuration analogous to BERT-large has 1/18th the number of parameters",
    18,
    "x fewer parameters",
    within(18, 0.1, partly=0.25),
)
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
XXLARGE_SLOWER = Claim(
    "albert.speed.default.albert-xxlarge",
    "Table 2 of " + PAPER,
    "ALBERT-xxlarge trains about 3x slower than BERT-large (relative speed 0.3x)",
    1 / 0.3,
    "x slower than BERT-large",
    within(1 / 0.3, 0.5, partly=0.7),
)

# ------------------------------------------------------------------ 10 · sentence-order prediction (NSP vs SOP)

TABLE5 = "Lan et al., ALBERT (ICLR 2020), Table 5"
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

NSP_MODEL_SOP_NEAR_CHANCE = Claim(
    id="albert.nsp_model_sop_near_chance",
    source=TABLE5,
    statement="A model pretrained with NSP is near chance on SOP (paper: 52.0 % SOP accuracy)",
    published=2.0,
    unit="points from chance",
    rule=at_most(5.0, partly=10.0),
)
SOP_MODEL_SOLVES_NSP = Claim(
    id="albert.sop_model_solves_nsp",
    source=TABLE5,
    statement="A model pretrained with SOP solves NSP well above chance (paper: 78.9 % NSP accuracy)",
    published=28.9,
    unit="points above chance",
    rule=greater_than(10.0, partly=0.0),
)
SOP_BEATS_NSP_ON_SOP = Claim(
    id="albert.sop_beats_nsp_on_sop",
    source=TABLE5,
    statement="SOP pretraining solves sentence order where NSP pretraining does not (paper: 86.5 % vs 52.0 %)",
    published=34.5,
    unit="points",
    rule=greater_than(0.0),
)
SOP_BEATS_NSP_DOWNSTREAM = Claim(
    id="albert.sop_beats_nsp_downstream",
    source=TABLE5 + " (downstream columns)",
    statement="SOP-pretrained models are more accurate on downstream tasks than NSP-pretrained ones "
    "(paper: average 80.1 vs 79.2 over SQuAD, MNLI, SST-2 and RACE)",
    published=0.9,
    unit="points",
    rule=greater_than(0.0),
)

GLUE_SOURCE = (
    "Lan et al., ALBERT (ICLR 2020), abstract and Table 2; google-research/albert README (v2 models)"
)
# SST-2 dev accuracy, %: albert-base-v2 from the v2 results table of the google-research/albert README (also in
# tensorflow/models official/nlp/albert), bert-base from the paper's Table 2 (checked against both texts).
PUBLISHED_SST2_DEV = {"albert-base-v2": 92.9, "bert-base-uncased": 92.8}
ALBERT_STATE_OF_THE_ART = Claim(
    id="albert.state_of_the_art_glue_race_squad",
    source=GLUE_SOURCE,
    statement="ALBERT achieved state-of-the-art accuracy on GLUE, RACE and SQuAD — checked on SST-2 (GLUE) "
    "dev with the published base checkpoints: albert-base-v2 minus bert-base-uncased accuracy (published "
    "92.9 vs 92.8; the records themselves are ALBERT-xxlarge's)",
    published=0.1,
    unit="points",
    rule=at_least(-1.0, partly=-3.0),
)
ALBERT_BASE_SST2 = Claim(
    id="albert.base_v2_sst2_dev_accuracy",
    source=GLUE_SOURCE,
    statement="albert-base-v2 fine-tuned on SST-2 reaches the published dev accuracy (92.9 %)",
    published=92.9,
    unit="%",
    rule=within(92.9, rel_tol=0.0, abs_tol=1.5, partly=0.04),
)
