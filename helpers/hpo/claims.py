"""The claims notebook 03 tests: the talk's GPU sweep speedup and the blog post's "extremely fast" against grid search."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from helpers.core.claims import Claim, load_declarations

DECLARED = load_declarations(Path(__file__).with_suffix(".toml"))
# declared in claims.toml beside this module, one [NAME] table each
GPU_SWEEP_CLAIM: Claim = DECLARED.claims["GPU_SWEEP_CLAIM"]
GRID_CLAIM: Claim = DECLARED.claims["GRID_CLAIM"]


def grid_claim_for(n_params: int) -> Claim:
    """The grid claim in the study regime with `n_params` hyperparameters (target: the full grid's best − 0.5 pt)."""
    return replace(
        GRID_CLAIM,
        id=f"{GRID_CLAIM.id}.{n_params}params",
        statement=f"{GRID_CLAIM.statement.split(' (')[0]} ({n_params} hyperparameters: seconds to within 0.5 "
        "accuracy points of the full grid's best, grid in random order ÷ Hyperopt TPE with the same seed, geometric "
        "mean over seeds, same process)",
    )
