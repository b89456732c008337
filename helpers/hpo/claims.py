"""The claims notebook 03 tests: the talk's GPU sweep speedup and the blog post's "extremely fast" against grid search."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from helpers.core.claims import Claim, load_declarations

DECLARED = load_declarations(Path(__file__).with_suffix(".toml"))
# GPU_SWEEP_CLAIM and GRID_CLAIM, declared in claims.toml beside this module
globals().update(DECLARED.claims)


def grid_claim_for(n_params: int) -> Claim:
    """The grid claim in the study regime with `n_params` hyperparameters (target: the full grid's best − 0.5 pt)."""
    grid = DECLARED.claims["GRID_CLAIM"]
    return replace(
        grid,
        id=f"{grid.id}.{n_params}params",
        statement=f"{grid.statement.split(' (')[0]} ({n_params} hyperparameters: median seconds to within 0.5 "
        "accuracy points of the full grid's best, grid in random order ÷ Hyperopt TPE, same process)",
    )
