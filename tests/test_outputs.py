"""helpers.collection.outputs: executed notebooks store finished text progress bars, inline figures, no stale frames."""

from __future__ import annotations

import nbformat
from nbformat.v4 import new_code_cell, new_notebook, new_output

from helpers.collection.outputs import WIDGET_STATE, WIDGET_VIEW, collapse_carriage_returns, tidy
from helpers.collection.runner import execute_notebook


def _bar_models(model: str, value: int, total: int, hidden: bool = False) -> dict:
    def m(name: str, **state) -> dict:
        return {"model_name": name, "model_module": "@jupyter-widgets/controls", "state": state}

    return {
        model: m(
            "HBoxModel",
            children=[f"IPY_MODEL_{model}l", f"IPY_MODEL_{model}p", f"IPY_MODEL_{model}r"],
            layout=f"IPY_MODEL_{model}y",
        ),
        f"{model}l": m("HTMLModel", value="train:\u2007100%"),
        f"{model}p": m("FloatProgressModel", value=value, max=total),
        f"{model}r": m("HTMLModel", value=f"\u2007{value}/{total}\u2007[00:29&lt;00:00,\u200725.6it/s]"),
        f"{model}y": {"model_name": "LayoutModel", "state": {"visibility": "hidden"} if hidden else {}},
    }


def _widget_output(model: str):
    return new_output("display_data", data={WIDGET_VIEW: {"model_id": model}, "text/plain": "  0%|  | 0/750"})


def test_tidy_replaces_bars_by_their_final_text_and_drops_closed_ones():
    nb = new_notebook(cells=[new_code_cell("x", outputs=[_widget_output("a"), _widget_output("b")])])
    nb.metadata["widgets"] = {
        WIDGET_STATE: {"state": {**_bar_models("a", 750, 750), **_bar_models("b", 3, 3, True)}}
    }
    tidy(nb)
    assert "widgets" not in nb.metadata
    (output,) = nb.cells[0].outputs
    assert output.data == {"text/plain": "train: 100%|██████████| 750/750 [00:29<00:00, 25.6it/s]"}


def test_carriage_return_frames_collapse_to_the_last():
    assert collapse_carriage_returns("a\r b\r c 100%\ndone\n") == " c 100%\ndone\n"
    nb = new_notebook(
        cells=[new_code_cell("x", outputs=[new_output("stream", name="stderr", text="0%\r50%\r100%")])]
    )
    assert tidy(nb).cells[0].outputs[0].text == "100%"


def test_executed_notebook_holds_figures_and_finished_bars(tmp_path):
    body = (
        "from tqdm.auto import tqdm\nimport matplotlib.pyplot as plt\nfrom helpers.core.plotting import save_figure\n"
        "for i in tqdm(range(40), desc='outer'):\n    for j in tqdm(range(2), leave=False):\n        pass\n"
        "fig, ax = plt.subplots()\nax.plot([1, 2])\nsave_figure(fig, 'line')\nplt.show()\n"
        "plt.plot([2, 1])\nplt.show()"
    )
    nb = new_notebook(
        cells=[new_code_cell('profile = "auto"', metadata={"tags": ["parameters"]}), new_code_cell(body)]
    )
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbformat.write(nb, tmp_path / "90_demo.ipynb")
    run = execute_notebook(tmp_path / "90_demo.ipynb", tmp_path / "out", "smoke", inject_profile=False)
    assert run.status == "ok", run.error
    outputs = nbformat.read(tmp_path / "out" / "90_demo.ipynb", as_version=4).cells[1].outputs
    texts = [o.data["text/plain"] for o in outputs if "data" in o and "image/png" not in o.data]
    assert texts == ["outer: 100%|██████████| 40/40" + texts[0].split("40/40", 1)[1]]
    images = [o for o in outputs if "image/png" in o.get("data", {})]
    assert len(images) == 2, "the saved figure and the plain plt.show() figure are both stored, once each"
    assert images[0].metadata["image/png"]["alt"] == "Chart."
    assert (tmp_path / "out" / "90_demo.line.png").exists()
    assert not any(WIDGET_VIEW in o.get("data", {}) for o in outputs)


def test_text_bar_frames_written_as_separate_outputs_collapse_to_the_last():
    frames = ["  0%|          | 0/4", "\r 50%|█████     | 2/4", "\r100%|██████████| 4/4", "\n"]
    outputs = [new_output("stream", name="stdout", text=f) for f in frames]
    outputs.append(new_output("stream", name="stderr", text="Total Trials: 4\n"))
    cell = tidy(new_notebook(cells=[new_code_cell("x", outputs=outputs)])).cells[0]
    assert [(o.name, o.text) for o in cell.outputs] == [
        ("stdout", "100%|██████████| 4/4\n"),
        ("stderr", "Total Trials: 4\n"),
    ]
