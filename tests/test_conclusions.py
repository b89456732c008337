"""helpers.core.conclusions: the closing section's sentences follow the verdict and the interval of each claim."""

from __future__ import annotations

from helpers.core.claims import Claim, at_least, greater_than
from helpers.core.conclusions import finding, findings_table, measured_text, what_we_found_text
from helpers.core.stats import Estimate, mean_interval

SPEEDUP = Claim(
    "demo.speedup", "a talk", "A | B is at least 2x faster", "2x", "×", at_least(2.0, partly=1.25)
)
GAIN = Claim(
    "demo.gain", "a talk", "Pruning increases accuracy", "+", "points", greater_than(0.0, negligible=0.5)
)


def test_each_verdict_has_its_own_wording():
    reproduced = SPEEDUP.assess(mean_interval([3.0, 3.1, 2.9]))
    partly = SPEEDUP.assess(mean_interval([1.6, 1.7, 1.5]))
    below = SPEEDUP.assess(mean_interval([0.5, 0.6, 0.55]))
    assert finding(reproduced).startswith("reproduced: this run measured 3 × [2.752, 3.248] at 95 %, ")
    assert "wholly on the claim's side" in finding(reproduced)
    assert "clears the weaker bound but not the claim itself" in finding(partly)
    assert "wholly on the other side" in finding(below)


def test_an_inconclusive_finding_says_how_many_samples_would_decide():
    sentence = finding(SPEEDUP.assess(mean_interval([1.5, 2.5, 2.1])))
    assert sentence.startswith("inconclusive: ") and "cannot decide" in sentence
    assert "about " in sentence and "seeds (here 3)" in sentence


def test_a_negligible_change_is_worded_as_too_small_not_as_the_other_side():
    sentence = finding(GAIN.assess(mean_interval([0.1, -0.1, 0.05, 0.0])))
    assert "too small to count" in sentence and "other side" not in sentence
    assert "wholly on the other side" in finding(GAIN.assess(mean_interval([-2.0, -2.2, -1.9])))


def test_unjudged_claims_name_the_failed_check_or_the_reason():
    at_scale = SPEEDUP.assess(mean_interval([3.0, 3.1, 2.9]), checks={"the model learned its task": False})
    assert finding(at_scale).endswith("not judged, because this check fails: the model learned its task.")
    missing = SPEEDUP.assess(None, "no CUDA GPU on this machine")
    assert finding(missing) == "not measured on this machine: no CUDA GPU on this machine."
    assert measured_text(missing) == "—"


def test_an_exact_value_has_no_interval_in_the_text_and_an_unbounded_side_reads_as_a_dash():
    exact = SPEEDUP.assess(3.84)
    assert measured_text(exact) == "3.84 ×"
    unbounded = {**exact, "estimate": {**Estimate(1.0, 0.5, 2.0, 0.95, "mean").to_dict(), "high": None}}
    assert measured_text(unbounded) == "3.84 × [0.5, —] at 95 %"
    single = {**exact, "estimate": {**unbounded["estimate"], "low": None}}  # one sweep: a value, no interval
    assert measured_text(single) == "3.84 ×", "one sample has no interval to show"
    assert measured_text(None) == ""


def test_the_closing_text_has_a_table_row_and_a_sentence_per_claim_then_next_steps():
    entries = [SPEEDUP.assess(mean_interval([3.0, 3.1, 2.9])), GAIN.assess(mean_interval([-2.0, -2.2, -1.9]))]
    table = findings_table(entries)
    assert table.count("\n") == 3 and "A \\| B is at least 2x faster" in table
    text = what_we_found_text(["Run the gpu profile."], entries)
    assert text.count("\n- **demo.") == 2 and text.endswith("- Run the gpu profile.")
    assert what_we_found_text(entries=[]).startswith("This notebook assesses no published claim.")
