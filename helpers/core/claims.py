"""The claims ledger: published claims with a declared rule that turns a measurement into a verdict."""

from __future__ import annotations

import math
import operator
import re
import tomllib
from collections.abc import Mapping
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Any, NoReturn

from helpers.core.params import sample_counts
from helpers.core.results import notebook_stem, output_dir, to_jsonable, write_json_atomic
from helpers.core.stats import Estimate, exact

REPRODUCED = "reproduced"
PARTLY = "partly reproduced"
NOT_REPRODUCED = "not reproduced"
INCONCLUSIVE = "inconclusive"
NOT_MEASURABLE = "not measurable here"
NOT_MEASURABLE_AT_SCALE = "not measurable at this scale"
VERDICTS = (REPRODUCED, PARTLY, NOT_REPRODUCED, INCONCLUSIVE, NOT_MEASURABLE, NOT_MEASURABLE_AT_SCALE)

_SYMBOLS = {"at_least": "≥", "greater_than": ">", "at_most": "≤", "less_than": "<"}  # one-sided rule kinds


@dataclass(frozen=True)
class Judgement:
    """A rule's verdict on an estimate; when inconclusive, the thresholds the interval straddles, by name; when not
    reproduced, whether only because the change is negligible (the interval reaches the target but stops short of
    the negligible-change bound)."""

    verdict: str
    straddled: tuple[tuple[str, float], ...] = ()
    negligible: bool = False

    def to_decide(self, estimate: Estimate, sampled_by: Mapping[str, Any] | None = None) -> str:
        """For an inconclusive verdict: about how many samples of the observed spread would make the interval
        exclude a straddled threshold (the nearest one the estimate lies clear of), and, given the parameter that
        sets the samples (`sampled_by`, as `Claim.assess` stores it), which profile runs that many."""
        place = " and ".join(f"{name} ({threshold:.4g})" for name, threshold in self.straddled)
        if not math.isfinite(estimate.high - estimate.low):
            return (
                f"two or more {estimate.samples or 'samples'} give an interval to judge on"
                + _where_to_get(2, sampled_by)
            )
        needed = [
            n
            for _, threshold in self.straddled
            if (n := _samples_to_exclude(estimate, threshold)) is not None
        ]
        if not needed:
            return f"the estimate sits on {place}: no number of samples separates it"
        return (
            f"the interval straddles {place}; about {min(needed):,} {estimate.samples or 'samples'} (here "
            f"{estimate.n:,}) at this spread would make it exclude {'a' if len(self.straddled) > 1 else 'the'} "
            "threshold" + _where_to_get(min(needed), sampled_by)
        )


def _where_to_get(needed: int, sampled_by: Mapping[str, Any] | None) -> str:
    """Which profile runs at least `needed` samples of the parameter `sampled_by` names, or that none does."""
    if not sampled_by:
        return ""
    name = sampled_by["parameter"]
    profiles = {where: count for where, count in sampled_by["counts"].items() if where != "this run"}
    enough = [where for where, count in profiles.items() if count >= needed]
    if enough:
        return f"; the {enough[0]} profile runs {profiles[enough[0]]:,} (`{name}`)"
    listed = ", ".join(f"{where} {count:,}" for where, count in profiles.items())
    return f"; no profile runs that many (`{name}`: {listed}), so pass `{name}` to run them"


def _samples_to_exclude(estimate: Estimate, threshold: float) -> int | None:
    """Samples that would shrink the interval's half on `threshold`'s side (as 1/√n, on the log scale for a
    ratio's interval) to end short of it; None when that half has zero width or the estimate sits on the threshold."""
    scale = math.log if estimate.log_scale and threshold > 0 else float
    value, low, high, bound = (scale(x) for x in (estimate.value, estimate.low, estimate.high, threshold))
    width = value - low if value > bound else high - value
    if width == 0 or value == bound:
        return None
    return math.ceil(estimate.n * (width / abs(value - bound)) ** 2)


@dataclass(frozen=True)
class Rule:
    """How a measured number becomes a verdict: a comparison with `target`, optionally a looser `partly` bound, and
    optionally a `negligible` change: an interval wholly short of the bound moved that far to the claimed side shows
    no change worth the name, so it is not reproduced rather than inconclusive."""

    kind: str
    target: float
    partly: float | None = None
    rel_tol: float = 0.0
    abs_tol: float = 0.0
    negligible: float = 0.0

    def __post_init__(self) -> None:
        if self.kind not in (*_SYMBOLS, "within"):
            raise ValueError(
                f"Unknown rule kind {self.kind!r}; use at_least, greater_than, at_most, less_than or within."
            )
        if self.negligible < 0 or (self.negligible and (self.kind == "within" or self.partly is not None)):
            raise ValueError(
                f"negligible={self.negligible} must be ≥ 0, and 0 for a `within` rule or one with a partly bound "
                "(their bands already say how close counts)."
            )

    def _claimed_side(self, bound: float, distance: float) -> float:
        """`bound` moved `distance` towards the claimed side (up for at_least and greater_than, else down)."""
        return bound + distance if self.kind in ("at_least", "greater_than") else bound - distance

    def _tolerance(self, relative: float) -> float:
        """The half-width of a `within` band at relative tolerance `relative` (never below abs_tol)."""
        return max(self.abs_tol, relative * abs(self.target))

    def _side(self, estimate: Estimate, bound: float) -> int | None:
        """+1 when the whole interval lies on the claimed side of `bound`, −1 when it lies wholly on the other
        side, None when it straddles `bound` (for `within`, `bound` is a relative tolerance of the band)."""
        low, high = estimate.low, estimate.high
        if self.kind == "within":
            tol = self._tolerance(bound)
            inside = self.target - tol <= low and high <= self.target + tol
            outside = high < self.target - tol or low > self.target + tol
        else:
            inclusive = self.kind in ("at_least", "at_most")
            compare = operator.ge if inclusive else operator.gt
            if self.kind in ("at_least", "greater_than"):
                inside, outside = compare(low, bound), not compare(high, bound)
            else:
                inside, outside = compare(-high, -bound), not compare(-low, -bound)
        return 1 if inside else -1 if outside else None

    def describe(self) -> str:
        """The rule in words, e.g. 'measured ≥ 12 (partly ≥ 5)'."""
        if self.kind == "within":
            text = f"measured within {self.rel_tol:.0%} (or {self.abs_tol:g}) of {self.target:g}"
            return text + (f" (partly within {self.partly:.0%})" if self.partly is not None else "")
        symbol = _SYMBOLS[self.kind]
        text = f"measured {symbol} {self.target:g}"
        text += f" (partly {symbol} {self.partly:g})" if self.partly is not None else ""
        if self.negligible:
            short_of = self._claimed_side(self.target, self.negligible)
            text += f"; not reproduced when wholly short of {short_of:g} (a negligible change)"
        return text

    def judge(self, estimate: Estimate) -> Judgement:
        """The verdict the interval supports: reproduced when it lies wholly on the claim's side of the target,
        partly when wholly between the partly bound and the target, not reproduced when wholly on the other side
        (of the partly bound, where there is one, or of the target moved by the negligible change), inconclusive
        when it straddles a bound."""
        strict = self.rel_tol if self.kind == "within" else self.target
        bounds = [("the target", strict)] + (
            [("the partly bound", self.partly)] if self.partly is not None else []
        )
        sides = [self._side(estimate, bound) for _, bound in bounds]
        if sides[0] == 1:
            return Judgement(REPRODUCED)
        if self.negligible:
            bounds.append(("the negligible-change bound", self._claimed_side(self.target, self.negligible)))
            sides.append(self._side(estimate, bounds[-1][1]))
        if sides[-1] == -1:
            return Judgement(NOT_REPRODUCED, negligible=self.negligible > 0 and sides[0] is None)
        if self.partly is not None and sides == [-1, 1]:
            return Judgement(PARTLY)
        straddled = [(name, bound) for (name, bound), side in zip(bounds, sides, strict=True) if side is None]
        return Judgement(
            INCONCLUSIVE, tuple((name, self._threshold(bound, estimate.value)) for name, bound in straddled)
        )

    def _threshold(self, bound: float, value: float) -> float:
        """The threshold value a straddled `bound` stands for (for `within`, the band edge nearest `value`)."""
        if self.kind != "within":
            return bound
        tol = self._tolerance(bound)
        return self.target - tol if value < self.target else self.target + tol

    def verdict(self, measured: float) -> str:
        """The verdict this rule gives for an exact measured number."""
        return self.judge(exact(measured)).verdict

    def to_dict(self) -> dict[str, Any]:
        """The rule as a plain dict (stored in claims.json)."""
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Rule:
        """Rebuild a rule stored by `to_dict`."""
        return cls(**data)


def at_least(target: float, partly: float | None = None) -> Rule:
    """Reproduced when measured ≥ target; partly when measured ≥ partly."""
    return Rule("at_least", target, partly)


def greater_than(target: float, partly: float | None = None, negligible: float = 0.0) -> Rule:
    """Reproduced when measured > target; partly when measured > partly; not reproduced when wholly ≤ target +
    negligible."""
    return Rule("greater_than", target, partly, negligible=negligible)


def at_most(target: float, partly: float | None = None) -> Rule:
    """Reproduced when measured ≤ target; partly when measured ≤ partly."""
    return Rule("at_most", target, partly)


def less_than(target: float, partly: float | None = None) -> Rule:
    """Reproduced when measured < target; partly when measured < partly."""
    return Rule("less_than", target, partly)


def within(target: float, rel_tol: float, abs_tol: float = 0.0, partly: float | None = None) -> Rule:
    """Reproduced when |measured − target| ≤ max(abs_tol, rel_tol·|target|); partly with relative tolerance `partly`."""
    return Rule("within", target, partly, rel_tol, abs_tol)


@dataclass(frozen=True)
class Claim:
    """A published claim, declared with its rule before anything is measured (its notebook is the one assessing it)."""

    id: str
    source: str
    statement: str
    published: float | str
    unit: str
    rule: Rule

    def assess(
        self,
        measured: float | Estimate | None,
        missing_reason: str | None = None,
        note: str = "",
        checks: Mapping[str, bool] | None = None,
        samples_parameter: str | None = None,
    ) -> dict[str, Any]:
        """Judge `measured` (a number is exact; an Estimate carries its interval) by the rule and add the verdict to
        the ledger; 'not measurable here' with a reason when there is no measurement, and 'not measurable at this
        scale' when one of `checks` (what must hold for the measurement to mean anything, e.g. 'the SOP model
        learned SOP') failed. `samples_parameter` names the notebook parameter that sets the estimate's samples
        (e.g. 'seeds'), so that an inconclusive verdict can say which profile runs enough of them."""
        estimate = measured if measured is None or isinstance(measured, Estimate) else exact(measured)
        sampled_by = None
        if samples_parameter is not None:
            counts = sample_counts(samples_parameter)
            if not counts:
                raise ValueError(
                    f"Claim {self.id!r}: samples_parameter={samples_parameter!r} is not a count in the profile "
                    "table this notebook resolved; name the parameter that sets the number of samples."
                )
            sampled_by = {"parameter": samples_parameter, "counts": counts}
        failed = [check for check, passed in (checks or {}).items() if not passed]
        if estimate is None:
            if not missing_reason:
                raise ValueError(f"Claim {self.id!r} has no measurement; pass missing_reason saying why.")
            verdict, reason = NOT_MEASURABLE, missing_reason
        else:
            judgement = self.rule.judge(estimate)
            reason = f"{self.rule.describe()}; measured {estimate.value:.4g} {self.unit}".rstrip()
            reason += f", {estimate.interval_text()}" if estimate.level is not None else ""
            if failed:
                verdict = NOT_MEASURABLE_AT_SCALE
                reason += (
                    f"; not judged, since {'this check fails' if len(failed) == 1 else 'these checks fail'}: "
                )
                reason += "; ".join(failed)
            else:
                verdict = judgement.verdict
                if verdict == INCONCLUSIVE:
                    reason += f"; {judgement.to_decide(estimate, sampled_by)}"
        entry = {
            "id": self.id,
            "notebook": notebook_stem(),
            "source": self.source,
            "statement": self.statement,
            "published": self.published,
            "measured": None if estimate is None else estimate.value,
            "estimate": None if estimate is None else estimate.to_dict(),
            "checks": dict(checks or {}),
            "sampled_by": sampled_by,
            "unit": self.unit,
            "verdict": verdict,
            "reason": f"{reason}. {note}".strip() if note else reason,
            "rule": self.rule.to_dict(),
        }
        entry = to_jsonable(entry)
        _ledger[self.id] = entry
        out = output_dir()
        if out is not None:
            write_json_atomic(out / f"{notebook_stem()}.claims.json", list(_ledger.values()))
        return entry


@dataclass(frozen=True)
class Declarations:
    """A topic's `claims.toml`: its sources by key and its claims by the constant name they take in Python."""

    sources: dict[str, str]
    claims: dict[str, Claim]


CLAIM_FIELDS = tuple(f.name for f in fields(Claim))
RULE_FIELDS = tuple(f.name for f in fields(Rule))


def load_declarations(path: Path) -> Declarations:
    """Read the claims declared in `path`: a [sources] table of key = text, then one [NAME] table per claim with
    every Claim field (`source` a key of [sources], `rule` an inline table of Rule fields)."""

    def fail(where: str, problem: str) -> NoReturn:
        raise ValueError(f"{path.name} {where}: {problem}")

    with path.open("rb") as file:
        data = tomllib.load(file)
    sources = data.pop("sources", {})
    claims: dict[str, Claim] = {}
    for name, table in data.items():
        where = f"[{name}]"
        if not re.fullmatch(r"[A-Z][A-Z0-9_]*", name):
            fail(
                where,
                "a claim's table name is the Python constant it becomes; use UPPER_CASE, e.g. [MY_CLAIM].",
            )
        if set(table) != set(CLAIM_FIELDS):
            missing, extra = set(CLAIM_FIELDS) - set(table), set(table) - set(CLAIM_FIELDS)
            fail(
                where,
                f"give exactly the fields {', '.join(CLAIM_FIELDS)} (missing {sorted(missing)}, "
                f"unknown {sorted(extra)}).",
            )
        if table["source"] not in sources:
            fail(where, f"source {table['source']!r} is not a key of [sources] ({', '.join(sources)}).")
        rule = table["rule"]
        if not {"kind", "target"} <= set(rule) <= set(RULE_FIELDS):
            fail(
                where,
                f"rule takes kind and target, optionally partly, rel_tol, abs_tol and negligible; got {rule}.",
            )
        try:
            claims[name] = Claim(
                **{**table, "source": sources[table["source"]], "rule": Rule.from_dict(rule)}
            )
        except ValueError as error:
            fail(where, str(error))
    ids = [c.id for c in claims.values()]
    if len(set(ids)) != len(ids):
        fail("(all tables)", f"claim ids repeat: {sorted({i for i in ids if ids.count(i) > 1})}.")
    return Declarations(sources, claims)


_ledger: dict[str, dict[str, Any]] = {}


def assessed() -> list[dict[str, Any]]:
    """Every claim assessed so far in this process, in order."""
    return list(_ledger.values())


def claims_table(entries: list[dict[str, Any]] | None = None):
    """The assessed claims as a pandas DataFrame: published beside measured beside verdict."""
    import pandas as pd

    rows = entries if entries is not None else assessed()
    columns = ["id", "statement", "published", "measured", "unit", "verdict", "reason"]
    return pd.DataFrame([{c: r[c] for c in columns} for r in rows], columns=columns)
