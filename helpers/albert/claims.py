"""Claims of the ALBERT notebooks: the published figures, the quotes and the rules, declared before measuring."""

from __future__ import annotations

import pandas as pd

from helpers.core.claims import Claim, at_least, at_most, greater_than, within
from helpers.core.results import notebook_stem

# ------------------------------------------------------------------ 10 · sentence-order prediction (NSP vs SOP)

TABLE5 = "Lan et al., ALBERT (ICLR 2020), Table 5"
PAPER_TABLE5 = pd.DataFrame(
    {"mlm": [54.9, 54.5, 54.0], "nsp": [52.4, 90.5, 78.9], "sop": [53.3, 52.0, 86.5]},
    index=pd.Index(["mlm", "nsp", "sop"], name="pretraining"),
)  # ALBERT-base, intrinsic accuracies in %, rows = pair loss used in pretraining (mlm = none)
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
)  # ALBERT-base, published downstream dev results of the same three models (%)

NSP_MODEL_SOP_NEAR_CHANCE = Claim(
    id="albert.nsp_model_sop_near_chance",
    notebook=notebook_stem(),
    source=TABLE5,
    statement="A model pretrained with NSP is near chance on SOP (paper: 52.0 % SOP accuracy)",
    published=2.0,
    unit="points from chance",
    rule=at_most(5.0, partly=10.0),
)
SOP_MODEL_SOLVES_NSP = Claim(
    id="albert.sop_model_solves_nsp",
    notebook=notebook_stem(),
    source=TABLE5,
    statement="A model pretrained with SOP solves NSP well above chance (paper: 78.9 % NSP accuracy)",
    published=28.9,
    unit="points above chance",
    rule=greater_than(10.0, partly=0.0),
)
SOP_BEATS_NSP_ON_SOP = Claim(
    id="albert.sop_beats_nsp_on_sop",
    notebook=notebook_stem(),
    source=TABLE5,
    statement="SOP pretraining solves sentence order where NSP pretraining does not (paper: 86.5 % vs 52.0 %)",
    published=34.5,
    unit="points",
    rule=greater_than(0.0),
)
SOP_BEATS_NSP_DOWNSTREAM = Claim(
    id="albert.sop_beats_nsp_downstream",
    notebook=notebook_stem(),
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
PUBLISHED_SST2_DEV = {"albert-base-v2": 92.9, "bert-base-uncased": 92.8}  # SST-2 dev accuracy, %
ALBERT_STATE_OF_THE_ART = Claim(
    id="albert.state_of_the_art_glue_race_squad",
    notebook=notebook_stem(),
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
    notebook=notebook_stem(),
    source=GLUE_SOURCE,
    statement="albert-base-v2 fine-tuned on SST-2 reaches the published dev accuracy (92.9 %)",
    published=92.9,
    unit="%",
    rule=within(92.9, rel_tol=0.0, abs_tol=1.5, partly=0.04),
)
