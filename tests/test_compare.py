"""helpers.collection.compare, comparison_pages and publish: real runs of a tiny notebook side by side, publishing,
the README section, the browser."""

from __future__ import annotations

import json
import shutil
import subprocess
from dataclasses import asdict
from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_notebook

from helpers.collection.cli import main
from helpers.collection.compare import Row, compare
from helpers.collection.comparison_pages import (
    README_END,
    README_START,
    comparison_page_text,
    current_readme_block,
    readme_block,
    update_readme_across_machines,
    write_comparison,
)
from helpers.collection.publish import against_references, publish, reference_runs
from helpers.collection.report import write_report
from helpers.collection.runner import execute_notebook, run_collection
from helpers.core.environment import PROJECT_ROOT, machine_name

from .notebook_runs import ROOT

# One claim whose verdict depends on the size (smoke n=3 misses the target, cpu n=30 meets it), one that does not,
# a note that carries an absolute path (publish must scrub it), and one figure.
DEMO = """
import os
import matplotlib.pyplot as plt
from helpers import Claim, at_least, resolve
from helpers.core.plotting import save_figure
p = resolve({"n": (3, 30, 300)}, globals())
Claim("demo.size", "a test", "n is at least 10", 10, "items", at_least(10)).assess(
    p.n, note=f"n={p.n}, data in {os.getcwd()}/data.csv")
Claim("demo.fixed", "a test", "two is at least one", 1, "", at_least(1)).assess(2)
fig, ax = plt.subplots(figsize=(2, 2))
ax.plot([0, p.n])
save_figure(fig, "line")
"""


@pytest.fixture(scope="module")
def runs(tmp_path_factory) -> dict[str, Path]:
    """Three real runs of the demo notebook: smoke, cpu, and cpu with n=3 (same profile, other verdict)."""
    base = tmp_path_factory.mktemp("compare")
    notebooks = base / "notebooks"
    notebooks.mkdir()
    params = new_code_cell('profile = "auto"\nn = None  # size', metadata={"tags": ["parameters"]})
    nb = new_notebook(cells=[params, new_code_cell(DEMO)])
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbformat.write(nb, notebooks / "01_demo.ipynb")
    out = {"smoke": base / "smoke", "cpu": base / "cpu", "cpu-small": base / "cpu-small"}
    assert run_collection("smoke", None, out["smoke"], notebooks, timeout_s=300) == 0
    assert run_collection("cpu", None, out["cpu"], notebooks, timeout_s=300) == 0
    small = execute_notebook(notebooks / "01_demo.ipynb", out["cpu-small"], "cpu", 300, {"n": 3})
    assert small.status == "ok", small.error
    write_report(out["cpu-small"], "cpu", [asdict(small)])
    return out


def collection_of(runs: dict[str, Path]) -> Path:
    """The folder of the demo collection the runs ran."""
    return runs["smoke"].parent / "notebooks"


def test_run_folder_describes_itself(runs):
    run = json.loads((runs["smoke"] / "run.json").read_text())
    assert run["machine"] == machine_name(run["environment"])
    status = subprocess.run(
        ["git", "-C", str(PROJECT_ROOT), "status", "--porcelain"], capture_output=True, text=True, check=True
    ).stdout
    head = subprocess.run(
        ["git", "-C", str(PROJECT_ROOT), "rev-parse", "HEAD"], capture_output=True, text=True, check=True
    ).stdout.strip()
    assert run["revision"]["commit"] == head
    assert run["revision"]["modified"] is bool(status.strip())
    assert run["parameters"] == {"01_demo": {"n": 3, "profile": "smoke"}}
    assert json.loads((runs["cpu-small"] / "run.json").read_text())["parameters"]["01_demo"]["n"] == 3


def test_machine_names_come_from_the_hardware():
    assert machine_name({"gpus": [], "cpu": {"logical_cores": 2}}) == "cpu-2core"
    epyc = {"gpus": [], "cpu": {"logical_cores": 2, "model": "AMD EPYC"}}
    xeon = {"gpus": [], "cpu": {"logical_cores": 2, "model": "Intel(R) Xeon(R) Platinum 8480C CPU @ 2.00GHz"}}
    assert (machine_name(epyc), machine_name(xeon)) == ("amd-epyc-2core", "intel-xeon-platinum-8480c-2core")
    # a model without a number names several generations: their int8 instructions tell them apart
    generic = {
        instructions: machine_name({"gpus": [], "cpu": epyc["cpu"] | {"int8_instructions": instructions}})
        for instructions in ((), ("avx512_vnni",), ("avx512_vnni", "avx_vnni"), ("avx512_vnni", "amx_int8"))
    }
    assert list(generic.values()) == [
        "amd-epyc-no-vnni-2core",
        "amd-epyc-avx512vnni-2core",
        "amd-epyc-avx512vnni-avxvnni-2core",
        "amd-epyc-amx-2core",
    ]
    numbered = xeon["cpu"] | {"int8_instructions": ["amx_int8"]}
    assert machine_name({"gpus": [], "cpu": numbered}) == "intel-xeon-platinum-8480c-2core"
    h200 = {
        "name": "NVIDIA H200",
        "memory_bytes": 1,
        "capability": "9.0",
        "cuda_runtime": "12.8",
        "driver": "x",
    }
    assert machine_name({"gpus": [h200], "cpu": {"logical_cores": 16}}) == "h200"
    assert machine_name({"gpus": [h200, h200], "cpu": {"logical_cores": 16}}) == "2x-h200"


def test_comparison_highlights_the_verdict_that_differs_and_says_why(runs, tmp_path):
    comparison = write_comparison([runs["smoke"], runs["cpu"]], tmp_path)
    assert [r.label for r in comparison.runs] == [
        f"{comparison.runs[0].machine} · smoke",
        f"{comparison.runs[0].machine} · cpu",
    ]
    assert [row.id for row in comparison.rows] == ["demo.size", "demo.fixed"]
    assert [row.id for row in comparison.differing] == ["demo.size"]
    why = comparison.differing[0].why
    assert why[0] == "Rule: measured ≥ 10."
    assert why[1].startswith("Conclusive flip: ") and comparison.differing[0].conclusive_flip
    assert "Profiles differ (smoke / cpu)" in why[2] and "Parameters differ: n 3 / 30." in why
    assert why[-2].endswith(
        "not reproduced, measured 3 items — n=3, data in "
        + str(runs["smoke"].parent / "notebooks")
        + "/data.csv"
    )
    assert why[-1].startswith(f"{comparison.runs[1].label}: reproduced, measured 30 items — n=30")

    markdown = (tmp_path / "comparison.md").read_text()
    assert (
        "| ‼ | 01_demo | n is at least 10 | 10 items | 3 items | **not reproduced** | 30 items | **reproduced** |"
        in markdown
    )
    assert "|  | 01_demo | two is at least one | 1 | 2 | **reproduced** | 2 | **reproduced** |" in markdown
    assert "## Why the verdicts differ" in markdown and "Library versions: the same in every run." in markdown
    page = (tmp_path / "comparison.html").read_text()
    assert page.count('class="differs"') == 1 and page.count('<th class="run" colspan="2">') == 2
    assert "<script" not in page and "<link" not in page and "http" not in page, (
        "the page must be self-contained"
    )


def test_a_run_from_another_machine_is_labelled_by_it(runs, tmp_path):
    other = tmp_path / "other"
    shutil.copytree(runs["cpu"], other)
    data = json.loads((other / "run.json").read_text())
    gpu = {
        "name": "NVIDIA H200",
        "memory_bytes": 150 * 2**30,
        "capability": "9.0",
        "cuda_runtime": "12.8",
        "driver": "570",
    }
    data["environment"]["gpus"], data["machine"] = [gpu], machine_name({**data["environment"], "gpus": [gpu]})
    (other / "run.json").write_text(json.dumps(data))
    comparison = compare([runs["smoke"], other])
    assert comparison.runs[1].label == "h200 · cpu"
    assert any(
        line.startswith(f"Machines differ: {comparison.runs[0].machine}: ")
        and "h200: " in line
        and "GPU: NVIDIA H200" in line
        for line in comparison.differing[0].why
    )


def test_runs_nothing_tells_apart_are_labelled_and_warned(runs, tmp_path):
    copy = tmp_path / "copy"
    shutil.copytree(runs["smoke"], copy)
    comparison = compare([runs["smoke"], copy, runs["cpu"]])
    labels = [r.label for r in comparison.runs]
    assert len(set(labels)) == 3 and labels[0].endswith("#1") and labels[1].endswith("#2"), labels
    assert any("cannot be told apart" in w for w in comparison.warnings)
    assert not compare([runs["cpu"], runs["cpu-small"]]).warnings, "different parameters tell runs apart"
    data = json.loads((copy / "run.json").read_text())
    del data["revision"]
    (copy / "run.json").write_text(json.dumps(data))
    assert any("record no git revision" in w for w in compare([copy]).warnings)


def test_publish_copies_the_run_without_paths(runs, tmp_path):
    target = publish(runs["cpu"], tmp_path / "results", name="test-box", notebooks_dir=collection_of(runs))
    assert target.name == "test-box-cpu", "the folder names machine and profile"
    assert sorted(p.name for p in target.iterdir()) == [
        "01_demo.line.png",
        "claims.json",
        "report.md",
        "run.json",
    ]
    assert json.loads((target / "run.json").read_text())["machine"] == "test-box"
    for name in ("run.json", "claims.json", "report.md"):
        text = (target / name).read_text()
        for private in (str(runs["cpu"].parent), str(Path.home()) + "/", str(PROJECT_ROOT)):
            assert private not in text, f"{name} still holds {private}"
    claims = json.loads((target / "claims.json").read_text())
    assert claims[0]["reason"].endswith("n=30, data in …/data.csv")
    assert "(01_demo.ipynb)" not in (target / "report.md").read_text(), (
        "links to unpublished notebooks are dropped"
    )
    assert reference_runs(tmp_path / "results") == [target]


def test_publish_and_compare_refuse_bad_input(runs, tmp_path):
    with pytest.raises(ValueError, match="is not a folder name"):
        publish(runs["cpu"], tmp_path, name="My Laptop", notebooks_dir=collection_of(runs))
    with pytest.raises(ValueError, match="is not a finished run"):
        compare([tmp_path])
    broken = tmp_path / "broken"
    shutil.copytree(runs["cpu"], broken)
    data = json.loads((broken / "run.json").read_text())
    data["notebooks"][0]["status"] = "failed"
    (broken / "run.json").write_text(json.dumps(data))
    with pytest.raises(ValueError, match="did not finish ok"):
        publish(broken, tmp_path / "results", notebooks_dir=collection_of(runs))


def test_own_run_against_the_references_of_its_profile(runs, tmp_path):
    references = tmp_path / "results"
    publish(runs["cpu"], references, name="ref-box", notebooks_dir=collection_of(runs))
    lines = against_references(runs["cpu-small"], references)
    assert lines[0].startswith("Your run (") and lines[0].endswith("2 claims assessed in both:")
    assert (
        lines[1]
        == "  01_demo: n is at least 10: yours not reproduced (3 items), reference reproduced (30 items)"
    )
    assert (
        len(lines) == 3
        and "python -m helpers publish" in lines[-1]
        and "no paths, no user names" in lines[-1]
    )
    same = against_references(runs["cpu"], references)
    assert same[1] == "  every verdict is the same as the reference's."
    other = against_references(runs["smoke"], references)
    assert other[0].startswith("No committed reference run has profile smoke (references: ref-box (cpu))")


def test_readme_section_is_regenerated_between_its_markers(runs, tmp_path):
    readme = tmp_path / "README.md"
    readme.write_text(f"# Title\n\n{README_START}\nold\n{README_END}\n\n## After\n")
    update_readme_across_machines(readme, [])
    assert "No reference run is committed yet" in current_readme_block(readme)
    published = publish(
        runs["cpu"], tmp_path / "docs" / "results", name="ref-box", notebooks_dir=collection_of(runs)
    )
    update_readme_across_machines(readme, [published], collection_of(runs))
    text = readme.read_text()
    assert text.startswith("# Title\n\n") and text.endswith("\n\n## After\n")
    assert current_readme_block(readme) == readme_block(compare([published]), readme)
    assert "[ref-box · cpu](docs/results/ref-box-cpu/report.md)" in text
    page = (tmp_path / "docs" / "comparison.md").read_text()
    assert page == comparison_page_text(compare([published]), readme) and "## Claims" in page
    (tmp_path / "bare.md").write_text("no markers\n")
    with pytest.raises(ValueError, match="has no <!-- results:start -->"):
        current_readme_block(tmp_path / "bare.md")


def test_readme_shows_the_committed_reference_runs():
    readme = ROOT / "README.md"
    committed = reference_runs(ROOT / "docs" / "results")
    assert current_readme_block(readme) == readme_block(compare(committed), readme), (
        "README.md's 'Results across machines' section is out of step with docs/results/: run "
        "`python -m helpers compare docs/results/* --readme README.md` and commit the result."
    )
    assert (ROOT / "docs" / "comparison.md").read_text() == comparison_page_text(
        compare(committed), readme
    ), (
        "docs/comparison.md is out of step with docs/results/: run "
        "`python -m helpers compare docs/results/* --readme README.md` and commit the result."
    )


def test_cli_compare_and_publish(runs, tmp_path, capsys, monkeypatch):
    assert main(["compare", str(runs["smoke"]), str(runs["cpu"]), "--out", str(tmp_path / "cmp")]) == 0
    assert "1 verdict differs between runs" in capsys.readouterr().out
    assert (tmp_path / "cmp" / "comparison.html").exists()
    assert main(["compare", "--out", str(tmp_path / "none")]) == 2
    assert "Nothing to compare" in capsys.readouterr().err
    assert main(["compare", "--references", str(runs["smoke"]), str(runs["cpu"])]) == 2
    assert "exactly one run folder" in capsys.readouterr().err
    monkeypatch.chdir(tmp_path)
    notebooks = ["--notebooks", str(collection_of(runs))]
    assert main(["publish", str(runs["cpu"]), "--name", "cli-box", *notebooks]) == 0
    assert (tmp_path / "docs" / "results" / "cli-box-cpu" / "claims.json").exists()
    (tmp_path / "README.md").write_text(f"{README_START}\n{README_END}\n")
    assert main(["compare", "docs/results/*", "--readme", "README.md", *notebooks]) == 0
    assert "[cli-box · cpu](docs/results/cli-box-cpu/report.md)" in (tmp_path / "README.md").read_text()


def test_comparison_page_renders_its_table_and_highlight_in_chromium(runs, tmp_path):
    from .test_browser import SHOTS, chromium

    write_comparison([runs["smoke"], runs["cpu"]], tmp_path)
    requests: list[str] = []
    with chromium(tmp_path / "profile") as context:
        page = context.new_page()
        page.on("request", lambda request: requests.append(request.url))
        page.goto((tmp_path / "comparison.html").as_uri())
        rows = page.locator("table.claims tbody tr")
        assert rows.count() == 2
        assert (
            page.locator("table.claims th.run")
            .all_inner_texts()[1]
            .startswith(f"{machine_name_of(runs['cpu'])}\n")
        )
        highlighted = page.locator("table.claims tr.differs")
        assert highlighted.count() == 1 and "n is at least 10" in highlighted.inner_text()
        colour = highlighted.locator("td").nth(2).evaluate("td => getComputedStyle(td).backgroundColor")
        plain = rows.nth(1).locator("td").nth(2).evaluate("td => getComputedStyle(td).backgroundColor")
        assert colour == "rgb(255, 243, 205)" and plain != colour, (colour, plain)
        assert "Profiles differ (smoke / cpu)" in highlighted.locator("td.why").inner_text()
        assert page.locator("td.verdict.v-not-reproduced").first.is_visible()
        SHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=SHOTS / "comparison.png", full_page=True)
    assert all(url.startswith("file://") for url in requests), f"the page fetched {requests}"


def machine_name_of(run: Path) -> str:
    """The machine name a run folder records."""
    return json.loads((run / "run.json").read_text())["machine"]


def _entry(verdict: str, interval: bool = True) -> dict:
    """A stored claim entry with this verdict, judged on an interval or (older runs) on a bare number."""
    entry = {"verdict": verdict, "measured": 1.0, "unit": ""}
    return (
        {**entry, "estimate": {"value": 1.0, "low": 0.9, "high": 1.1, "level": 0.95}} if interval else entry
    )


@pytest.mark.parametrize(
    ("verdicts", "flip"),
    [
        (("reproduced", "not reproduced"), True),  # both decided by their intervals: a real difference
        (("reproduced", "partly reproduced"), True),
        (("reproduced", "inconclusive"), False),  # noise: one run's interval straddles the threshold
        (("not reproduced", "not measurable here"), False),  # missing hardware, not a flip
        (("reproduced", "not measurable at this scale"), False),
        (("reproduced", "reproduced"), False),
    ],
)
def test_a_flip_is_conclusive_only_when_every_interval_decided(verdicts, flip):
    row = Row("01_demo", "demo.claim", "a claim", 1.0, "", [_entry(v) for v in verdicts])
    assert row.conclusive_flip is flip
    assert row.differs is (len(set(verdicts)) > 1)
    assert row.mark == ("‼" if flip else "⚠" if row.differs else "")


def test_runs_judged_before_intervals_never_count_as_a_conclusive_flip():
    row = Row(
        "01_demo", "demo.claim", "a claim", 1.0, "", [_entry("reproduced"), _entry("not reproduced", False)]
    )
    assert row.differs and not row.conclusive_flip
