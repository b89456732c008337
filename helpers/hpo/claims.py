"""The claims notebook 03 tests: the talk's GPU sweep speedup and the blog post's "extremely fast" against grid search."""

from __future__ import annotations

from dataclasses import replace

from helpers.core.claims import Claim, at_least, greater_than

GPU_SWEEP_CLAIM = Claim(
    id="hpo_gpu_sweep_35x",
    source="John Zedlewski (NVIDIA), 'Accelerating MLflow Hyper-parameter Optimization Pipelines with RAPIDS', "
    "Spark + AI Summit 2020 (talk notebook: 20M rows, 24 min on one V100 vs ~14 h on 8 vCPUs)",
    statement="A Hyperopt random-forest sweep on airline data runs about 35x faster on one GPU with RAPIDS than on CPUs",
    published=35.0,
    unit="x",
    rule=at_least(30.0, partly=10.0),
)
GRID_CLAIM = Claim(
    id="hpo_hyperopt_vs_grid",
    source="My Week in AI, part 6 (seed blog post), on the same talk",
    statement="A Hyperopt sweep is 'extremely fast compared with a grid search in scikit-learn' (time for each to "
    "reach within 0.5 accuracy points of the best score, grid ÷ Hyperopt; the talk's space, equal budgets)",
    published="extremely fast",
    unit="x",
    rule=greater_than(3.0, partly=1.0),
)


def grid_claim_for(n_params: int) -> Claim:
    """The grid claim in the study regime with `n_params` hyperparameters (target: the full grid's best − 0.5 pt)."""
    return replace(
        GRID_CLAIM,
        id=f"{GRID_CLAIM.id}.{n_params}params",
        statement=f"{GRID_CLAIM.statement.split(' (')[0]} ({n_params} hyperparameters: median seconds to within 0.5 "
        "accuracy points of the full grid's best, grid in random order ÷ Hyperopt TPE, same process)",
    )
