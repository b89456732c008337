"""helpers.core.claims: verdicts are computed from measurements by declared rules."""

from __future__ import annotations

import ast
import importlib
import json
import math
import re
import tomllib
from pathlib import Path

import pytest

from helpers.core import claims, params, results
from helpers.core.claims import (
    INCONCLUSIVE,
    NOT_MEASURABLE,
    NOT_MEASURABLE_AT_SCALE,
    NOT_REPRODUCED,
    PARTLY,
    REPRODUCED,
    Claim,
    Rule,
    at_least,
    at_most,
    greater_than,
    less_than,
    load_declarations,
    within,
)
from helpers.core.conclusions import finding
from helpers.core.stats import accuracy_interval, mean_interval, median_interval, ratio_interval

from .conftest import expected_verdict


def make_claim(rule: Rule) -> Claim:
    return Claim("demo.speedup", "a talk", "GPU is 12x faster", 12, "x", rule)


@pytest.fixture(autouse=True)
def fresh_ledger(tmp_path, monkeypatch):
    monkeypatch.setattr(claims, "_ledger", {})
    monkeypatch.setenv(results.OUT_DIR_ENV, str(tmp_path))
    monkeypatch.setenv(results.NOTEBOOK_ENV, "99_demo")
    return tmp_path


@pytest.mark.parametrize(
    ("rule", "measured", "verdict"),
    [
        (at_least(12, partly=5), 12, REPRODUCED),
        (at_least(12, partly=5), 6, PARTLY),
        (at_least(12, partly=5), 4.9, NOT_REPRODUCED),
        (at_least(12), 11.99, NOT_REPRODUCED),
        (greater_than(0), 0, NOT_REPRODUCED),
        (greater_than(0), 1e-9, REPRODUCED),
        (at_most(1 / 18), 0.05, REPRODUCED),
        (less_than(1.0, partly=1.2), 1.1, PARTLY),
        (within(18, rel_tol=0.05), 18.9, REPRODUCED),
        (within(18, rel_tol=0.05, partly=0.2), 21, PARTLY),
        (within(18, rel_tol=0.05, partly=0.2), 30, NOT_REPRODUCED),
        (within(12, rel_tol=0.0, abs_tol=1.0), 12.9, REPRODUCED),
    ],
)
def test_rules_compute_verdicts(rule, measured, verdict):
    assert rule.verdict(measured) == verdict


def test_assess_records_the_entry_with_a_reason(fresh_ledger):
    entry = make_claim(at_least(12, partly=5)).assess(7.5, note="Smaller data than the talk.")
    assert entry["verdict"] == PARTLY
    assert "≥ 12" in entry["reason"] and "Smaller data" in entry["reason"]
    stored = json.loads((fresh_ledger / "99_demo.claims.json").read_text())
    assert stored == [entry]
    assert entry["notebook"] == "99_demo", "a claim belongs to the notebook that assesses it"


def test_missing_measurement_needs_a_reason():
    claim = make_claim(at_least(12))
    with pytest.raises(ValueError, match="missing_reason"):
        claim.assess(None)
    entry = claim.assess(None, missing_reason="no CUDA GPU is visible")
    assert entry["verdict"] == NOT_MEASURABLE
    assert entry["reason"] == "no CUDA GPU is visible"


def test_stored_rule_rederives_the_verdict_independently():
    entry = make_claim(at_least(12, partly=5)).assess(3.0)
    assert entry["verdict"] == NOT_REPRODUCED == expected_verdict(entry)
    assert expected_verdict({**entry, "measured": 6.0, "estimate": None}) == PARTLY


# Constructed samples for the interval engine: each with the verdict at_least(1.0, partly=0.8) must give.
SAMPLES = {
    "clearly above": (mean_interval([1.5, 1.6, 1.55, 1.58]), REPRODUCED),
    "clearly below": (mean_interval([0.2, 0.25, 0.22]), NOT_REPRODUCED),
    "between partly and target": (mean_interval([0.9, 0.91, 0.89, 0.9]), PARTLY),
    "straddling the target": (mean_interval([0.7, 1.3, 1.1]), INCONCLUSIVE),
    "straddling the partly bound": (mean_interval([0.78, 0.83, 0.8, 0.81]), INCONCLUSIVE),
    "zero variance at the target": (mean_interval([1.0, 1.0, 1.0]), REPRODUCED),
    "one seed, 1,000 examples": (accuracy_interval([0.95], 1000), PARTLY),
    "one seed, 20 examples": (accuracy_interval([0.95], 20), INCONCLUSIVE),
    "paired rounds, median": (
        median_interval([1.2, 1.3, 1.1, 1.25, 1.4, 1.15, 1.22, 1.31, 1.27]),
        REPRODUCED,
    ),
    "paired rounds around 1": (median_interval([0.9, 1.1, 1.05, 0.95, 1.02, 0.98, 1.01]), INCONCLUSIVE),
}


@pytest.mark.parametrize("case", SAMPLES)
def test_the_interval_decides_and_the_stored_claim_rederives_it(case):
    estimate, verdict = SAMPLES[case]
    entry = make_claim(at_least(1.0, partly=0.8)).assess(estimate)
    assert entry["verdict"] == verdict == expected_verdict(entry)
    assert entry["estimate"]["low"] <= entry["measured"] <= entry["estimate"]["high"]
    assert f"{estimate.level:.0%}".replace("%", " %") in entry["reason"] and estimate.of in entry["reason"]


def test_inconclusive_says_how_many_samples_would_decide():
    entry = make_claim(at_least(1.0)).assess(mean_interval([1.05, 1.25, 1.0, 1.3]))
    assert entry["verdict"] == INCONCLUSIVE
    needed = int(re.search(r"about ([\d,]+) seeds \(here 4\)", entry["reason"])[1].replace(",", ""))
    half = entry["measured"] - entry["estimate"]["low"]
    assert needed == math.ceil(4 * (half / (entry["measured"] - 1.0)) ** 2) > 4


@pytest.mark.parametrize(
    ("seeds", "where"),
    [
        (([0, 1], [0, 1, 2, 3], list(range(40))), "; the gpu profile runs 40 (`seeds`)"),
        (
            ([0, 1], [0, 1, 2, 3], [0, 1, 2, 3]),
            "; no profile runs that many (`seeds`: smoke 2, cpu 4, gpu 4), so pass",
        ),
    ],
)
def test_inconclusive_names_the_profile_that_runs_enough_samples(fresh_ledger, seeds, where):
    params.resolve({"seeds": seeds}, {"profile": "cpu"})
    entry = make_claim(at_least(1.0)).assess(mean_interval([1.05, 1.25, 1.0, 1.3]), samples_parameter="seeds")
    needed = re.search(r"about ([\d,]+) seeds", entry["reason"])[1]
    assert 4 < int(needed) <= 40 and where in entry["reason"]
    assert entry["sampled_by"] == {
        "parameter": "seeds",
        "counts": {"smoke": 2, "cpu": 4, "gpu": len(seeds[2]), "this run": 4},
    }
    assert where in finding(entry)  # the closing sentence, re-judged from the entry, says the same


def test_a_samples_parameter_outside_the_profile_table_is_refused(fresh_ledger):
    params.resolve({"seeds": ([0], [0, 1], [0, 1])}, {"profile": "cpu"})
    with pytest.raises(ValueError, match="samples_parameter='n_seeds' is not a count in the profile table"):
        make_claim(at_least(1.0)).assess(mean_interval([1.0, 1.2]), samples_parameter="n_seeds")


def test_a_ratios_samples_to_decide_are_counted_on_the_log_scale():
    # geometric mean 2.99, interval symmetric on logs
    estimate = ratio_interval([2.2, 4.0, 3.1], [1.0, 1.0, 1.0])
    entry = make_claim(at_least(2.0)).assess(estimate)
    assert entry["verdict"] == INCONCLUSIVE and estimate.log_scale
    needed = int(re.search(r"about ([\d,]+) seeds \(here 3\)", entry["reason"])[1].replace(",", ""))
    half_on_logs = math.log(estimate.value) - math.log(estimate.low)
    assert needed == math.ceil(3 * (half_on_logs / math.log(estimate.value / 2.0)) ** 2)


# greater_than(0, negligible=0.005): a rise is reproduced above 0 and not reproduced wholly short of +0.005.
NEGLIGIBLE = {
    "clearly above the negligible bound": ([0.02, 0.03, 0.025], REPRODUCED),
    "small but wholly above zero": ([0.001, 0.0012, 0.0011], REPRODUCED),
    "around zero, wholly short of the bound": ([-0.001, 0.001, 0.0], NOT_REPRODUCED),
    "exactly zero on every seed": ([0.0, 0.0, 0.0], NOT_REPRODUCED),
    "straddling zero and the bound": ([-0.01, 0.02, 0.004], INCONCLUSIVE),
    "clearly below": ([-0.03, -0.02, -0.025], NOT_REPRODUCED),
}


@pytest.mark.parametrize("case", NEGLIGIBLE)
def test_a_negligible_change_is_not_reproduced_and_the_stored_claim_rederives_it(case):
    values, verdict = NEGLIGIBLE[case]
    entry = make_claim(greater_than(0, negligible=0.005)).assess(mean_interval(values))
    assert entry["verdict"] == verdict == expected_verdict(entry)
    assert "not reproduced when wholly short of 0.005 (a negligible change)" in entry["reason"]
    judgement = greater_than(0, negligible=0.005).judge(mean_interval(values))
    assert judgement.negligible == (case == "around zero, wholly short of the bound"), (
        "only an interval that reaches the target but stops short of the bound is negligible"
    )


def test_inconclusive_with_a_negligible_change_names_the_nearer_threshold():
    estimate = mean_interval([-0.01, 0.02, 0.004])  # mean 0.0047: nearer the negligible bound than zero
    entry = make_claim(greater_than(0, negligible=0.005)).assess(estimate)
    assert "straddles the target (0) and the negligible-change bound (0.005)" in entry["reason"]
    needed = int(re.search(r"about ([\d,]+) seeds \(here 3\)", entry["reason"])[1].replace(",", ""))
    upper, lower = estimate.high - estimate.value, estimate.value - estimate.low
    to_bound = math.ceil(3 * (upper / (0.005 - estimate.value)) ** 2)
    to_zero = math.ceil(3 * (lower / estimate.value) ** 2)
    assert needed == min(to_bound, to_zero)


@pytest.mark.parametrize(
    "rule",
    [
        lambda: Rule("within", 1.0, rel_tol=0.1, negligible=0.01),
        lambda: greater_than(2, partly=1.25, negligible=0.1),
        lambda: greater_than(0, negligible=-0.1),
    ],
    ids=["within", "with a partly bound", "negative"],
)
def test_a_negligible_change_only_on_a_one_sided_rule_without_partly(rule):
    with pytest.raises(ValueError, match="negligible"):
        rule()


def test_within_judges_the_interval_against_the_band():
    rule = within(18, rel_tol=0.05, partly=0.2)  # band 17.1–18.9, partly band 14.4–21.6
    assert make_claim(rule).assess(mean_interval([17.8, 18.2, 18.0]))["verdict"] == REPRODUCED
    assert make_claim(rule).assess(mean_interval([20.0, 20.4, 20.2]))["verdict"] == PARTLY
    assert make_claim(rule).assess(mean_interval([18.5, 19.5, 19.0]))["verdict"] == INCONCLUSIVE
    assert make_claim(rule).assess(mean_interval([30.0, 31.0, 30.5]))["verdict"] == NOT_REPRODUCED


def test_a_failed_check_is_not_measurable_at_this_scale():
    check = "the SOP-trained model learned SOP (its own task above chance)"
    entry = make_claim(at_least(1.0)).assess(mean_interval([1.5, 1.6, 1.55]), checks={check: False})
    assert entry["verdict"] == NOT_MEASURABLE_AT_SCALE == expected_verdict(entry)
    assert check in entry["reason"] and entry["checks"] == {check: False}
    assert make_claim(at_least(1.0)).assess(1.5, checks={check: True})["verdict"] == REPRODUCED


def test_reassessing_replaces_and_table_lists_claims():
    claim = make_claim(at_least(12))
    claim.assess(3.0)
    claim.assess(13.0)
    table = claims.claims_table()
    assert list(table["verdict"]) == [REPRODUCED]
    assert list(table.columns) == ["id", "statement", "published", "measured", "unit", "verdict", "reason"]


def test_rule_roundtrip_and_unknown_kind():
    rule = within(18, rel_tol=0.05, abs_tol=1, partly=0.1)
    assert Rule.from_dict(rule.to_dict()) == rule
    with pytest.raises(ValueError, match="Unknown rule kind"):
        Rule("roughly", 1.0)


DECLARED = """
[sources]
talk = "a talk"

[GPU_FASTER]
id = "demo.speedup"
source = "talk"
statement = \"\"\"
GPU is \\
12x faster\"\"\"
published = 12
unit = "x"
rule = { kind = "at_least", target = 12, partly = 5 }
"""


def test_declarations_file_gives_the_same_claim_as_the_python_declaration(tmp_path):
    path = tmp_path / "claims.toml"
    path.write_text(DECLARED)
    declared = load_declarations(path)
    assert declared.sources == {"talk": "a talk"}
    assert declared.claims == {"GPU_FASTER": make_claim(at_least(12, partly=5))}


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (("[GPU_FASTER]", "[gpu_faster]"), r"claims.toml \[gpu_faster\]: .* use UPPER_CASE"),
        (('unit = "x"\n', ""), r"\[GPU_FASTER\]: give exactly the fields .*missing \['unit'\]"),
        (('source = "talk"', 'source = "paper"'), r"source 'paper' is not a key of \[sources\] \(talk\)"),
        (("partly = 5", "partial = 5"), r"rule takes kind and target, optionally partly"),
        (('kind = "at_least"', 'kind = "roughly"'), r"\[GPU_FASTER\]: Unknown rule kind 'roughly'"),
        (
            (
                "[GPU_FASTER]",
                '[OTHER]\nid = "demo.speedup"\nsource = "talk"\nstatement = "x"\npublished = 1\n'
                'unit = "x"\nrule = { kind = "at_most", target = 1 }\n\n[GPU_FASTER]',
            ),
            r"claim ids repeat: \['demo.speedup'\]",
        ),
    ],
)
def test_a_mistake_in_a_declarations_file_is_named_with_its_table(tmp_path, change, message):
    path = tmp_path / "claims.toml"
    path.write_text(DECLARED.replace(*change))
    with pytest.raises(ValueError, match=message):
        load_declarations(path)


# every topic whose claims stand alone in a claims.toml beside its claims.py
DECLARING_TOPICS = sorted(
    p.parent.name for p in Path(__file__).resolve().parents[1].glob("helpers/*/claims.toml")
)


def _named_declarations(source: str) -> dict[str, str]:
    """Top-level `NAME: Claim = DECLARED.claims["KEY"]` statements of a claims module, as {NAME: KEY}."""
    found = {}
    for node in ast.parse(source).body:
        if not isinstance(node, ast.AnnAssign | ast.Assign):
            continue
        value = node.value
        if (
            isinstance(value, ast.Subscript)
            and ast.unparse(value.value) == "DECLARED.claims"
            and isinstance(value.slice, ast.Constant)
        ):
            target = node.target if isinstance(node, ast.AnnAssign) else node.targets[0]
            annotation = ast.unparse(node.annotation) if isinstance(node, ast.AnnAssign) else None
            assert annotation == "Claim", f"{ast.unparse(node)}: annotate it `: Claim`"
            found[ast.unparse(target)] = value.slice.value
    return found


def test_the_topics_with_a_claims_toml_are_found():
    assert {"albert", "hpo", "rapids"} <= set(DECLARING_TOPICS)


@pytest.mark.parametrize("topic", DECLARING_TOPICS)
def test_each_table_of_a_claims_toml_is_a_constant_declared_by_name(topic):
    """Each [NAME] table is declared in claims.py as `NAME: Claim = DECLARED.claims["NAME"]`, so that editors, type
    checkers and ruff find it; the module has no other Claim constant."""
    module = importlib.import_module(f"helpers.{topic}.claims")
    path = Path(module.__file__)
    with path.with_suffix(".toml").open("rb") as file:
        tables = set(tomllib.load(file)) - {"sources"}
    declared = _named_declarations(path.read_text())
    assert tables, f"{path.with_suffix('.toml').name} of {topic} declares no claim"
    assert {name: key for name, key in declared.items() if name != key} == {}, (
        "a constant takes its table's name"
    )
    assert set(declared) == tables, (
        f"undeclared tables: {sorted(tables - set(declared))}; stray names: {sorted(set(declared) - tables)}"
    )
    constants = {name for name, value in vars(module).items() if isinstance(value, Claim)}
    assert constants == tables, f"Claim constants not from claims.toml: {sorted(constants - tables)}"
    assert all(getattr(module, name) == module.DECLARED.claims[name] for name in tables)
