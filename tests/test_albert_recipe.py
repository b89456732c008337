"""helpers.albert.recipe: the choice rule looks at own-task accuracy only, effects carry intervals, a study file
is recognised, and a short study runs end to end on validation documents."""

from __future__ import annotations

import json

import pytest

from helpers.albert.recipe import (
    RECIPES,
    choose_setting,
    chosen_recipe,
    every_paragraph_effect,
    learning_rate_effect,
    read_study,
    recipe_effects,
    split_effect,
    steps_effect,
    study_table,
    truncation_effect,
)


def _run(name: str, task: str, own: float, learned: bool, cross: float = 0.5) -> dict:
    other = "nsp" if task == "sop" else "sop"
    return {
        "name": name,
        "headings": True,
        "truncation": "starts",
        "max_ngram": 1,
        "pretraining": task,
        "own_task_acc": own,
        "own_task_low": own - 0.03,
        "own_task_high": own + 0.03,
        "learned": learned,
        "mlm_acc": 0.14,
        f"{task}_acc": own,
        f"{other}_acc": cross,
        "train_s": 300.0,
    }


def _study(runs: list[dict]) -> dict:
    names = list(dict.fromkeys(r["name"] for r in runs))
    return {"study": "sop-recipe", "runs": runs, "recipes": [{"name": n} for n in names], "curves": []}


def test_the_rule_picks_the_best_sop_model_among_recipes_whose_every_model_learned():
    import pandas as pd

    runs = pd.DataFrame(
        [
            # a's NSP model did not learn: a is not eligible however good its SOP
            _run("a", "nsp", 0.52, False),
            _run("a", "sop", 0.80, True),
            _run("b", "sop", 0.70, True, cross=0.99),  # cross-task accuracy plays no part
            _run("c", "sop", 0.72, True),
        ]
    )
    assert chosen_recipe(runs) == "c"
    assert chosen_recipe(runs[runs["name"] == "a"]) is None


def test_effects_are_differences_from_the_first_recipe_with_their_interval():
    study = _study(
        [_run("first", "sop", 0.75, True), _run("worse", "sop", 0.50, False), _run("same", "sop", 0.74, True)]
    )
    worse, same = recipe_effects(study)
    assert worse.startswith("worse: SOP 50.0 % vs 75.0 % (-25.0 points, 95 % CI [")
    assert worse.endswith("it costs sentence order.")
    assert same.endswith("no difference shown at this sample size.")
    table = study_table(study)
    assert list(table["own task (%)"]) == [75.0, 50.0, 74.0]
    assert list(table["95 % CI"])[0] == "[72.0, 78.0]"


def test_the_split_effect_compares_the_first_recipes_sop_models_and_refuses_a_mismatch():
    by_module = _study([_run("first", "nsp", 0.70, True), _run("first", "sop", 0.60, True)])
    by_document = {**_study([_run("first", "sop", 0.50, False)]), "split": "document"}
    sentence = split_effect(by_module, by_document)
    assert "SOP model 50.0 % on SOP (not learned) vs 60.0 % (learned), -10.0 points, 95 % CI [-" in sentence
    with pytest.raises(ValueError, match="split validation by document"):
        split_effect(by_module, by_module)
    with pytest.raises(ValueError, match="same recipe"):
        split_effect(by_module, {**_study([_run("other", "sop", 0.5, False)]), "split": "document"})


def test_the_learning_rate_effect_names_both_rates_and_refuses_a_higher_one():
    base = {**_study([_run("first", "sop", 0.53, False)]), "settings": {"learning_rate": 1e-3}}
    lower = {**_study([_run("first", "sop", 0.70, True)]), "settings": {"learning_rate": 3e-4}}
    sentence = learning_rate_effect(base, lower)
    assert sentence.startswith(
        "Learning rate 0.0003 instead of 0.001: SOP model 70.0 % on SOP (learned) vs 53.0 %"
    )
    with pytest.raises(ValueError, match="lower learning rate"):
        learning_rate_effect(lower, base)


def test_the_steps_effect_names_both_step_counts_and_refuses_fewer():
    base = {**_study([_run("first", "sop", 0.53, False)]), "settings": {"steps": 2000}}
    longer = {**_study([_run("first", "sop", 0.52, False)]), "settings": {"steps": 4000}}
    assert steps_effect(base, longer).startswith(
        "4,000 steps instead of 2,000: SOP model 52.0 % on SOP (not learned)"
    )
    with pytest.raises(ValueError, match="more than 4000 steps"):
        steps_effect(longer, base)


def test_the_corpus_and_truncation_effects_name_the_change_and_refuse_a_study_without_it():
    base = _study([_run("first", "sop", 0.53, False)])
    base["recipes"] = [{"name": "first", "truncation": "starts"}]
    every = _study([_run("first", "sop", 0.52, False)])
    every["recipes"] = [{"name": "first", "truncation": "starts", "every_paragraph": True}]
    assert every_paragraph_effect(base, every).startswith(
        "Every docstring paragraph kept (code and doctests too) instead of text paragraphs only: SOP model 52.0 %"
    )
    with pytest.raises(ValueError, match="must keep every paragraph"):
        every_paragraph_effect(every, base)
    halves = _study([_run("first", "sop", 0.50, False)])
    halves["recipes"] = [{"name": "first", "truncation": "halves"}]
    assert "each segment cut to half the budget" in truncation_effect(base, halves)
    with pytest.raises(ValueError, match="another way than 'starts'"):
        truncation_effect(base, base)


def test_a_recorded_study_is_judged_again_by_todays_learned_rule(tmp_path):
    # recorded as learned under an older rule (interval above 50 %), but its interval starts below 55 %
    runs = [
        _run("first", "nsp", 0.72, True),
        _run("first", "sop", 0.55, True),
        _run("second", "sop", 0.66, True),
    ]
    path = tmp_path / "study.json"
    path.write_text(json.dumps({**_study(runs), "chosen": "first"}))
    study = read_study(path)
    assert [r["learned"] for r in study["runs"]] == [True, False, True]
    assert study["chosen"] == "second"


def test_the_setting_is_the_best_learned_sop_model_across_learning_rates():
    fast = {**_study([_run("first", "nsp", 0.70, True), _run("first", "sop", 0.53, False)]), "chosen": None}
    slow = {**_study([_run("first", "nsp", 0.68, True), _run("first", "sop", 0.66, True)]), "chosen": "first"}
    also = {
        **_study([_run("second", "nsp", 0.75, True), _run("second", "sop", 0.64, True)]),
        "chosen": "second",
    }
    assert choose_setting([fast, None, slow, also]) == (slow, "first")
    assert choose_setting([fast, None]) is None


def test_a_missing_study_is_none_and_another_file_is_refused(tmp_path):
    assert read_study(tmp_path / "absent.json") is None
    other = tmp_path / "other.json"
    other.write_text(json.dumps({"study": "something else"}))
    with pytest.raises(ValueError, match="is not a recipe study"):
        read_study(other)


def test_recipes_change_one_part_of_the_first_at_a_time():
    first = RECIPES[0]
    for recipe in RECIPES[1:-1]:
        changed = [
            k for k in ("headings", "truncation", "max_ngram") if getattr(recipe, k) != getattr(first, k)
        ]
        assert len(changed) == 1, recipe
    last = RECIPES[-1]
    assert all(getattr(last, k) != getattr(first, k) for k in ("headings", "truncation", "max_ngram"))


def test_the_command_refuses_a_recipe_count_or_split_it_does_not_have(tmp_path, capsys):
    from helpers.albert.recipe import main

    assert main(["--recipes", "9", "--out", str(tmp_path / "s.json")]) == 2
    assert "--recipes=9 is not a number of recipes; give 1 to 5." in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["--split", "topic"])
    assert not (tmp_path / "s.json").exists()
