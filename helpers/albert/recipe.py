"""Choosing the pretraining recipe by what each model learns of its *own* task, on validation documents.

A recipe is how the text reaches the model: whether docstring section headings stay at the start of their
section's first paragraph, whether code and doctest paragraphs stay in the documents, which end of a long segment
is cut ('junction' keeps A's end and B's start, 'starts' the start of each, 'halves' each cut to half the budget),
and the MLM masking unit (single tokens or ALBERT's n-grams). The study pretrains one
model per (recipe, pair loss) on the training documents minus a validation split (by module), and scores each on
pairs from the validation documents only: the held-out documents of the final table stay unseen, and the
cross-task accuracies that the claims are about are not what the choice looks at.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

import pandas as pd
from matplotlib.figure import Figure

from helpers.albert.pairs import TRUNCATIONS, SpecialTokens, TokenDocs
from helpers.albert.pretraining import ModelSize, TrainSettings, make_eval_sets, pretrain_and_evaluate
from helpers.albert.table5 import learned, learned_at
from helpers.albert.tokenizer import cached_tokenizer, special_tokens, tokenize_documents
from helpers.albert.workers import map_jobs
from helpers.core.environment import PROJECT_ROOT, environment_report, machine_name, read_git_revision
from helpers.core.params import require
from helpers.core.results import write_json_atomic
from helpers.core.stats import accuracy_difference_interval, accuracy_interval
from helpers.datasets.prose import DEFAULT_SOURCES, SPLIT_UNITS, build_corpus, validation_split


@dataclass(frozen=True)
class Recipe:
    """How segments reach the model: section headings kept or dropped, truncation, MLM masking unit, and whether
    every docstring paragraph is kept (code and doctests) or text paragraphs only."""

    name: str
    headings: bool
    truncation: str
    max_ngram: int
    every_paragraph: bool = False

    def settings(self, base: TrainSettings) -> TrainSettings:
        """`base` with this recipe's truncation and masking."""
        return replace(base, truncation=self.truncation, max_ngram=self.max_ngram)


# The first recipe is the one a separate probe found to learn sentence order; each other changes one of its parts
# back to what notebook 10 did before, so that the study says which part matters.
RECIPES = (
    Recipe("headings kept, segment starts, token masking", True, "starts", 1),
    Recipe("headings dropped", False, "starts", 1),
    Recipe("junction kept instead of segment starts", True, "junction", 1),
    Recipe("n-gram masking (n ≤ 3) instead of tokens", True, "starts", 3),
    Recipe("all three as notebook 10 did before", False, "junction", 3),
)
STUDY_TASKS = {RECIPES[0].name: ("nsp", "sop")}  # both pair losses for the first recipe, SOP for the others

STUDY_SIZE = ModelSize(embedding_size=64, hidden_size=128, num_layers=4, num_heads=2)
STUDY_SETTINGS = TrainSettings(
    steps=2000, batch_size=32, max_len=64, learning_rate=1e-3, warmup_fraction=0.05, eval_every=250
)
STUDY_VOCAB = 5000
STUDY_EVAL_PAIRS = 1024  # validation pairs per task behind each run's accuracy (fixed, not a CLI option)


@dataclass(frozen=True)
class StudyData:
    """Tokenised fitting and validation documents of one corpus variant, with its special tokens."""

    fitting: TokenDocs
    validation: TokenDocs
    special: SpecialTokens


def study_data(
    sources: Sequence[str], headings: bool, every_paragraph: bool, vocab_size: int, split: str = "group"
) -> StudyData:
    """The training documents of `sources` (headings kept or not, every paragraph or text only) split by `split`
    ('group' or 'document') into fitting and validation documents, tokenised with a tokenizer trained on the
    fitting documents."""
    corpus = build_corpus(sources, headings=headings, every_paragraph=every_paragraph)
    fitting, validation = validation_split(corpus.train, unit=split)
    tokenizer = cached_tokenizer([s for d in fitting for s in d.segments][::4], vocab_size)
    return StudyData(
        tokenize_documents(tokenizer, fitting),
        tokenize_documents(tokenizer, validation),
        special_tokens(tokenizer),
    )


def _run_job(job: tuple[str, str, int, StudyData, ModelSize, TrainSettings, int, int]) -> dict[str, Any]:
    recipe, task, seed, data, size, settings, eval_pairs, curve_pairs = job
    eval_sets = make_eval_sets(data.validation, data.special, settings, eval_pairs)
    curve_sets = make_eval_sets(data.validation, data.special, settings, curve_pairs, seed=4321)
    row, curve, _ = pretrain_and_evaluate(
        (task, seed), data.fitting, data.special, size, settings, eval_sets, curve_sets
    )
    return {"recipe": recipe, "row": row, "curve": [c for c in curve if "sop_acc" in c]}


def run_recipe_study(
    sources: Sequence[str],
    size: ModelSize,
    base: TrainSettings,
    vocab_size: int,
    recipes: Sequence[Recipe] = RECIPES,
    seed: int = 0,
    eval_pairs: int = STUDY_EVAL_PAIRS,
    curve_pairs: int = 512,
    workers: int = 2,
    split: str = "group",
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Every recipe × its pair losses on the validation split, `workers` runs side by side (one thread each).
    Returns (one row per run with its own-task accuracy and interval, the validation learning curves)."""
    require(len(recipes) >= 1, "Give at least one recipe.")
    corpora = sorted({(r.headings, r.every_paragraph) for r in recipes})
    data = {c: study_data(sources, *c, vocab_size, split) for c in corpora}
    jobs = [
        (
            r.name,
            task,
            seed,
            data[r.headings, r.every_paragraph],
            size,
            r.settings(base),
            eval_pairs,
            curve_pairs,
        )
        for r in recipes
        for task in STUDY_TASKS.get(r.name, ("sop",))
    ]
    results = map_jobs(_run_job, jobs, workers, desc="recipe study runs")
    recipe_of = {r.name: r for r in recipes}
    rows = []
    for result in results:
        row, recipe = result["row"], recipe_of[result["recipe"]]
        own = [row[f"{row['task']}_acc"]]
        interval = accuracy_interval(own, eval_pairs)
        rows.append(
            {
                **asdict(recipe),
                "pretraining": row["task"],
                "own_task_acc": own[0],
                "own_task_low": interval.low,
                "own_task_high": interval.high,
                "learned": learned(own, eval_pairs),
                "mlm_acc": row["mlm_acc"],
                "nsp_acc": row["nsp_acc"],
                "sop_acc": row["sop_acc"],
                "train_s": row["train_s"],
            }
        )
    curves = pd.DataFrame(
        [{"recipe": result["recipe"], **point} for result in results for point in result["curve"]]
    )
    return pd.DataFrame(rows), curves


def chosen_recipe(runs: pd.DataFrame) -> str | None:
    """The recipe whose SOP-trained model is most accurate on SOP (validation), among those whose every model
    learned its own task (None when no recipe's did); the rule looks at own-task accuracy only."""
    sop = runs[runs["pretraining"] == "sop"]
    all_learned = runs.groupby("name")["learned"].all()
    eligible = sop[sop["name"].map(all_learned)]
    return (
        str(eligible.sort_values("own_task_acc", ascending=False).iloc[0]["name"]) if len(eligible) else None
    )


def _sop_run(study: dict[str, Any], name: str) -> dict[str, Any]:
    """The run of recipe `name`'s SOP-trained model in a recorded study."""
    return next(r for r in study["runs"] if r["name"] == name and r["pretraining"] == "sop")


def choose_setting(studies: Sequence[dict[str, Any] | None]) -> tuple[dict[str, Any], str] | None:
    """Across recorded studies on the same validation split (each at its own learning rate), the chosen recipe
    whose SOP model is most accurate on SOP: (its study, its name), or None when no study's models all learned."""
    best: tuple[float, dict[str, Any], str] | None = None
    for study in studies:
        if study is None or study["chosen"] is None:
            continue
        sop = _sop_run(study, study["chosen"])["own_task_acc"]
        if best is None or sop > best[0]:
            best = (sop, study, study["chosen"])
    return None if best is None else (best[1], best[2])


def study_table(study: dict[str, Any]) -> pd.DataFrame:
    """One row per study run: recipe, pair loss, own-task validation accuracy with its 95 % interval, whether it
    learned, its MLM / NSP / SOP accuracy and its training minutes."""
    runs = pd.DataFrame(study["runs"])
    return pd.DataFrame(
        {
            "recipe": runs["name"],
            "pretraining": "MLM + " + runs["pretraining"].str.upper(),
            "own task (%)": (100 * runs["own_task_acc"]).round(1),
            "95 % CI": [
                f"[{100 * lo:.1f}, {100 * hi:.1f}]"
                for lo, hi in zip(runs["own_task_low"], runs["own_task_high"], strict=True)
            ],
            "learned": runs["learned"],
            "MLM (%)": (100 * runs["mlm_acc"]).round(1),
            "NSP (%)": (100 * runs["nsp_acc"]).round(1),
            "SOP (%)": (100 * runs["sop_acc"]).round(1),
            "minutes": (runs["train_s"] / 60).round(1),
        }
    )


def recipe_effects(study: dict[str, Any]) -> list[str]:
    """Per recipe after the first, one sentence: how far its SOP model's own-task accuracy is from the first
    recipe's, with the 95 % interval of the difference, and whether that part of the recipe is shown to matter."""
    runs = pd.DataFrame(study["runs"])
    sop = runs[runs["pretraining"] == "sop"].set_index("name")["own_task_acc"]
    first = study["recipes"][0]["name"]
    sentences = []
    for recipe in study["recipes"][1:]:
        name = recipe["name"]
        delta = accuracy_difference_interval([sop[name]], [sop[first]], STUDY_EVAL_PAIRS).scaled(100)
        if delta.high < 0:
            verdict = "it costs sentence order"
        elif delta.low > 0:
            verdict = "it helps sentence order"
        else:
            verdict = "no difference shown at this sample size"
        sentences.append(
            f"{name}: SOP {100 * sop[name]:.1f} % vs {100 * sop[first]:.1f} % ({delta.value:+.1f} points, "
            f"95 % CI [{delta.low:+.1f}, {delta.high:+.1f}]): {verdict}."
        )
    return sentences


def first_recipe_effect(base: dict[str, Any], variant: dict[str, Any], change: str) -> str:
    """One sentence: the first recipe's SOP model in `variant` (a study run with one thing changed, `change`)
    against `base`, with the 95 % interval of the difference and whether the SOP model learned in each."""
    first = base["recipes"][0]["name"]
    require(
        variant["recipes"][0]["name"] == first, "Both studies must start with the same recipe to compare."
    )
    before, after = _sop_run(base, first), _sop_run(variant, first)
    delta = accuracy_difference_interval(
        [after["own_task_acc"]], [before["own_task_acc"]], STUDY_EVAL_PAIRS
    ).scaled(100)
    learned_words = {True: "learned", False: "not learned"}
    return (
        f"{change}: SOP model {100 * after['own_task_acc']:.1f} % on SOP ({learned_words[after['learned']]}) vs "
        f"{100 * before['own_task_acc']:.1f} % ({learned_words[before['learned']]}), {delta.value:+.1f} points, "
        f"95 % CI [{delta.low:+.1f}, {delta.high:+.1f}]."
    )


def split_effect(by_module: dict[str, Any], by_document: dict[str, Any]) -> str:
    """The first recipe's SOP model on validation documents drawn one by one against drawn by module (one
    sentence, see `first_recipe_effect`)."""
    require(by_document.get("split") == "document", "The second study must split validation by document.")
    return first_recipe_effect(
        by_module,
        by_document,
        "Validation documents drawn one by one (as the probe held out its documents) instead of by module",
    )


def learning_rate_effect(base: dict[str, Any], lower: dict[str, Any]) -> str:
    """The first recipe's SOP model at the lower learning rate of `lower` against `base` (one sentence)."""
    rates = base["settings"]["learning_rate"], lower["settings"]["learning_rate"]
    require(rates[1] < rates[0], f"The second study must use a lower learning rate than {rates[0]:g}.")
    return first_recipe_effect(base, lower, f"Learning rate {rates[1]:g} instead of {rates[0]:g}")


def steps_effect(base: dict[str, Any], longer: dict[str, Any]) -> str:
    """The first recipe's SOP model after the more steps of `longer` against `base` (one sentence)."""
    steps = base["settings"]["steps"], longer["settings"]["steps"]
    require(steps[1] > steps[0], f"The second study must train for more than {steps[0]} steps.")
    return first_recipe_effect(base, longer, f"{steps[1]:,} steps instead of {steps[0]:,}")


def every_paragraph_effect(base: dict[str, Any], every: dict[str, Any]) -> str:
    """The first recipe's SOP model with every docstring paragraph kept (`every`) against text paragraphs only
    (one sentence)."""
    require(every["recipes"][0].get("every_paragraph", False), "The second study must keep every paragraph.")
    return first_recipe_effect(
        base, every, "Every docstring paragraph kept (code and doctests too) instead of text paragraphs only"
    )


def truncation_effect(base: dict[str, Any], variant: dict[str, Any]) -> str:
    """The first recipe's SOP model with the truncation of `variant` against `base`'s (one sentence)."""
    cuts = base["recipes"][0]["truncation"], variant["recipes"][0]["truncation"]
    require(cuts[0] != cuts[1], f"The second study must cut pairs another way than {cuts[0]!r}.")
    words = {
        "starts": "each segment's start kept, the longer cut first",
        "junction": "the junction kept (A's end, B's start)",
        "halves": "each segment cut to half the budget, so that B starts at one position after a long A",
    }
    return first_recipe_effect(base, variant, f"Pairs cut with {words[cuts[1]]} instead of {words[cuts[0]]}")


def plot_study_curves(study: dict[str, Any]) -> Figure:
    """Own-task validation accuracy against step, one line per study run: a colour per recipe, a marker and line
    style per task."""
    import matplotlib.pyplot as plt

    curves = pd.DataFrame(study["curves"])
    fig, ax = plt.subplots(figsize=(8, 3.8))
    # the collection's colours (core/fsl.mplstyle), one per recipe
    colours = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    for k, recipe in enumerate(study["recipes"]):
        for task, style in (("sop", "o-"), ("nsp", "s--")):
            points = curves[(curves["recipe"] == recipe["name"]) & (curves["task"] == task)]
            if len(points):
                ax.plot(
                    points["step"],
                    100 * points[f"{task}_acc"],
                    style,
                    color=colours[k % len(colours)],
                    ms=4,
                    label=f"{recipe['name']} ({task.upper()} model on {task.upper()})",
                )
    ax.axhline(50, color="black", lw=0.8, ls=":")
    ax.set(xlabel="step", ylabel="validation accuracy, own task (%)", title="Recipe study: own-task learning")
    ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1.0))
    fig.tight_layout()
    return fig


def read_study(path: Path) -> dict[str, Any] | None:
    """The recorded recipe study at `path`, its runs judged again by today's `learned` rule from their recorded
    intervals (and the choice made again), or None when this installation has no copy of it."""
    if not path.exists():
        return None
    study = json.loads(path.read_text())
    require(
        study.get("study") == "sop-recipe",
        f"{path} is not a recipe study; write it again with `python -m helpers.albert.recipe`.",
    )
    runs = [{**run, "learned": learned_at(run["own_task_low"])} for run in study["runs"]]
    return {**study, "runs": runs, "chosen": chosen_recipe(pd.DataFrame(runs))}


SOP_RECIPE_STUDY = PROJECT_ROOT / "docs" / "studies" / "sop-recipe.json"
# the first recipe again, validation documents drawn one by one (`--split document --recipes 1`)
DOCUMENT_SPLIT_STUDY = SOP_RECIPE_STUDY.with_name("sop-recipe-document-split.json")
# the first recipe again at a lower learning rate (`--learning-rate 3e-4 --recipes 1`)
LEARNING_RATE_STUDY = SOP_RECIPE_STUDY.with_name("sop-recipe-learning-rate.json")
# the first recipe again for twice the steps (`--steps 4000 --recipes 1`)
STEPS_STUDY = SOP_RECIPE_STUDY.with_name("sop-recipe-4000-steps.json")
# the first recipe again with every docstring paragraph kept (`--every-paragraph --recipes 1`)
EVERY_PARAGRAPH_STUDY = SOP_RECIPE_STUDY.with_name("sop-recipe-every-paragraph.json")
# the first recipe again with each segment cut to half the budget (`--truncation halves --recipes 1`)
HALVES_STUDY = SOP_RECIPE_STUDY.with_name("sop-recipe-halves.json")


def record_study(
    out: Path = SOP_RECIPE_STUDY,
    steps: int | None = None,
    workers: int = 2,
    split: str = "group",
    recipes: Sequence[Recipe] = RECIPES,
    learning_rate: float | None = None,
    every_paragraph: bool = False,
    truncation: str | None = None,
) -> Path:
    """Run the recipe study (`recipes` on the validation split by `split`, optionally another number of steps or
    learning rate, every docstring paragraph kept or another truncation in every recipe) and write its runs,
    curves, settings, chosen recipe, machine and git revision to `out`."""
    require(steps is None or steps >= 10, f"steps={steps} is too few to learn anything; use at least 10.")
    require(split in SPLIT_UNITS, f"Unknown split {split!r}; use one of {SPLIT_UNITS}.")
    require(
        learning_rate is None or 0 < learning_rate < 1,
        f"learning_rate={learning_rate} is not a learning rate; give one between 0 and 1, e.g. 3e-4.",
    )
    settings = replace(
        STUDY_SETTINGS,
        steps=steps or STUDY_SETTINGS.steps,
        learning_rate=learning_rate or STUDY_SETTINGS.learning_rate,
    )
    require(
        truncation is None or truncation in TRUNCATIONS,
        f"Unknown truncation {truncation!r}; use one of {', '.join(TRUNCATIONS)}.",
    )
    recipes = [
        replace(
            r, every_paragraph=every_paragraph or r.every_paragraph, truncation=truncation or r.truncation
        )
        for r in recipes
    ]
    environment, revision = environment_report(), read_git_revision()
    started = time.perf_counter()
    runs, curves = run_recipe_study(
        DEFAULT_SOURCES, STUDY_SIZE, settings, STUDY_VOCAB, recipes, workers=workers, split=split
    )
    write_json_atomic(
        out,
        {
            "study": "sop-recipe",
            "runs": runs.to_dict(orient="records"),
            "curves": curves.to_dict(orient="records"),
            "recipes": [asdict(r) for r in recipes],
            "split": split,
            "chosen": chosen_recipe(runs),
            "size": asdict(STUDY_SIZE),
            "settings": asdict(settings),
            "vocab_size": STUDY_VOCAB,
            "sources": list(DEFAULT_SOURCES),
            "wall_s": time.perf_counter() - started,
            "machine": machine_name(environment),
            "environment": environment,
            "git": revision,
        },
    )
    return out


def main(argv: Sequence[str] | None = None) -> int:
    """`python -m helpers.albert.recipe`: run the study and write it (about 20 minutes on two cores)."""
    parser = argparse.ArgumentParser(
        prog="python -m helpers.albert.recipe", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--out", type=Path, default=SOP_RECIPE_STUDY, help="JSON file to write")
    parser.add_argument("--steps", type=int, help="pretraining steps per run (default: the study's 2,000)")
    parser.add_argument("--workers", type=int, default=2, help="runs side by side, one thread each")
    parser.add_argument(
        "--split",
        choices=SPLIT_UNITS,
        default="group",
        help="validation documents by module (group) or one by one",
    )
    parser.add_argument(
        "--learning-rate", type=float, help=f"peak learning rate (default: {STUDY_SETTINGS.learning_rate:g})"
    )
    parser.add_argument(
        "--recipes", type=int, default=len(RECIPES), help=f"study the first N of the {len(RECIPES)} recipes"
    )
    parser.add_argument(
        "--every-paragraph",
        action="store_true",
        help="keep every docstring paragraph, code and doctests included (default: text paragraphs only)",
    )
    parser.add_argument(
        "--truncation",
        choices=TRUNCATIONS,
        help="cut every recipe's pairs this way (default: each recipe's own)",
    )
    args = parser.parse_args(argv)
    try:
        require(
            1 <= args.recipes <= len(RECIPES),
            f"--recipes={args.recipes} is not a number of recipes; give 1 to {len(RECIPES)}.",
        )
        study = record_study(
            args.out,
            args.steps,
            args.workers,
            args.split,
            RECIPES[: args.recipes],
            args.learning_rate,
            args.every_paragraph,
            args.truncation,
        )
        print(f"Wrote {study}")
    except ValueError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
