"""JupyterLab in a real browser: headless Chromium opens notebooks, runs them all with the smoke profile, as a
reader would, and checks what the page shows. Screenshots go to reports/browser/.

Which notebooks: running all of them in a browser would not fit CI's budget, so the test takes 00 (the
environment check every reader runs first) and the first notebook that draws figures in each part of the
collection: 01–03 (RAPIDS dataframes, machine learning, search: their CPU halves run here) and 04–10 (PyTorch
compression and ALBERT). FSL_BROWSER_NOTEBOOKS='glob' picks others, e.g. '*' for all.
"""

from __future__ import annotations

import contextlib
import fnmatch
import json
import os
import secrets
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import nbformat
import psutil
import pytest

from .notebook_runs import NOTEBOOKS_DIR, ROOT

CHROMIUM = Path("/usr/bin/chromium")
SHOTS = ROOT / "reports" / "browser"
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
]
RUN_TIMEOUT_S = 300
PARTS = (("01", "03"), ("04", "10"))
# JupyterLab settings for a reproducible page: every cell in the DOM, no autosave, no news pop-up.
LAB_SETTINGS = {
    "@jupyterlab/notebook-extension/tracker": {"windowingMode": "none"},
    "@jupyterlab/docmanager-extension/plugin": {"autosave": False},
    "@jupyterlab/apputils-extension/notification": {"fetchNews": "false", "checkForUpdates": False},
}


def _draws_figures(notebook: Path) -> bool:
    cells = nbformat.read(notebook, as_version=4).cells
    return any("save_figure(" in c.source or "plt." in c.source for c in cells if c.cell_type == "code")


def choose(notebooks: list[Path], pattern: str | None = None) -> list[Path]:
    """The notebooks to open in the browser: `pattern` if given, else 00 and one figure-drawing notebook per part."""
    if pattern:
        return [p for p in notebooks if fnmatch.fnmatch(p.stem, pattern)]
    chosen = [p for p in notebooks if p.stem.startswith("00")]
    for first, last in PARTS:
        drawing = [p for p in notebooks if first <= p.stem[:2] <= last and _draws_figures(p)]
        chosen += drawing[:1]
    return chosen


CHOSEN = choose(sorted(NOTEBOOKS_DIR.glob("[0-9]*.ipynb")), os.environ.get("FSL_BROWSER_NOTEBOOKS"))


def test_choice_rule_takes_00_and_one_figure_notebook_per_part(tmp_path):
    made = []
    for stem, code in [
        ("00_env", "x = 1"),
        ("01_a", "x = 1"),
        ("02_b", "save_figure(fig, 'b')"),
        ("03_c", "plt.plot()"),
        ("05_d", "plt.show()"),
        ("09_e", "save_figure(f, 'e')"),
    ]:
        path = tmp_path / f"{stem}.ipynb"
        nbformat.write(nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(code)]), path)
        made.append(path)
    assert [p.stem for p in choose(made)] == ["00_env", "02_b", "05_d"]
    assert [p.stem for p in choose(made, "0[13]*")] == ["01_a", "03_c"]


def _needs_browser():
    """Playwright's sync API; skips only when Chromium is absent and CI is unset (under CI that fails)."""
    if not CHROMIUM.exists():
        if "CI" in os.environ:
            pytest.fail(
                f"CI is set but Debian's chromium is missing at {CHROMIUM}; .ci/run installs it with apt-get."
            )
        pytest.skip(
            f"Debian's chromium is not installed at {CHROMIUM} (apt-get install chromium); CI runs this test."
        )
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        pytest.fail("the playwright package is missing: pip install -e '.[dev]'")
    return sync_playwright


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _stop(process: subprocess.Popen, base: str, token: str) -> None:
    """Shut the server down through its API (kernels included), then kill whatever is left of its tree."""
    try:
        tree = [process.pid, *(child.pid for child in psutil.Process(process.pid).children(recursive=True))]
    except psutil.NoSuchProcess:
        tree = []
    try:
        request = urllib.request.Request(
            f"{base}/api/shutdown", method="POST", headers={"Authorization": f"token {token}"}
        )
        urllib.request.urlopen(request, timeout=10).close()
        process.wait(timeout=30)
    except (OSError, subprocess.TimeoutExpired):
        pass
    for pid in tree:
        try:
            psutil.Process(pid).kill()
        except psutil.NoSuchProcess:
            pass
    process.wait(timeout=30)


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    """`jupyter lab` on 127.0.0.1, a free port and a token, serving copies of the chosen notebooks; always stopped."""
    _needs_browser()
    home = tmp_path_factory.mktemp("lab")
    (home / "notebooks").mkdir()
    for notebook in CHOSEN:  # copies: autosave or a stray click never touches the committed notebooks
        shutil.copy(notebook, home / "notebooks" / notebook.name)
    for plugin, values in LAB_SETTINGS.items():
        path = home / "settings" / f"{plugin}.jupyterlab-settings"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(values))
    env = {k: v for k, v in os.environ.items() if k not in ("MPLBACKEND", "FSL_OUT_DIR", "FSL_NOTEBOOK")}
    env.update(
        FSL_PROFILE="smoke",
        JUPYTERLAB_SETTINGS_DIR=str(home / "settings"),
        JUPYTERLAB_WORKSPACES_DIR=str(home / "workspaces"),
        JUPYTER_CONFIG_DIR=str(home / "config"),
        JUPYTER_DATA_DIR=str(home / "data"),
        JUPYTER_RUNTIME_DIR=str(home / "runtime"),
    )
    port, token = _free_port(), secrets.token_hex(16)
    command = [
        str(Path(sys.executable).with_name("jupyter")),
        "lab",
        "--no-browser",
        "--allow-root",
        "--ip=127.0.0.1",
        f"--port={port}",
        "--ServerApp.port_retries=0",
        f"--IdentityProvider.token={token}",
        f"--ServerApp.root_dir={home}",
        "--LabApp.expose_app_in_browser=True",
        "--LabApp.extension_manager=readonly",
    ]
    log = home / "lab.log"
    base = f"http://127.0.0.1:{port}"
    with log.open("w") as sink:
        process = subprocess.Popen(command, env=env, cwd=home, stdout=sink, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 180
        while True:
            assert process.poll() is None, f"jupyter lab exited:\n{log.read_text()[-3000:]}"
            assert time.monotonic() < deadline, (
                f"jupyter lab did not answer in 180 s:\n{log.read_text()[-3000:]}"
            )
            try:
                urllib.request.urlopen(f"{base}/api/status?token={token}", timeout=5).close()
                break
            except OSError:
                time.sleep(0.5)
        yield {"base": base, "token": token, "log": log}
    finally:
        _stop(process, base, token)


@contextlib.contextmanager
def chromium(profile_dir: Path):
    """Headless Debian Chromium driven by Playwright, with the profile folder given; closed at the end."""
    sync_playwright = _needs_browser()
    with sync_playwright() as playwright:
        context = playwright.chromium.launch_persistent_context(
            str(profile_dir),
            executable_path=str(CHROMIUM),
            headless=True,
            args=FLAGS,
            viewport={"width": 1400, "height": 1000},
        )
        try:
            yield context
        finally:
            context.close()


@pytest.fixture(scope="module")
def browser(lab, tmp_path_factory):
    """Chromium for the JupyterLab tests, with a fresh profile folder."""
    with chromium(tmp_path_factory.mktemp("chromium-profile")) as context:
        yield context


JS_STATE = """() => {
    const panel = window.jupyterapp.shell.currentWidget;
    const kernel = panel.sessionContext.session?.kernel;
    const cells = panel.content.widgets.map(c => c.model);
    const code = cells.filter(c => c.type === "code");
    const outputs = code.map(c => c.outputs.toJSON());
    return {
        kernel: kernel ? {id: kernel.id, name: kernel.name, status: kernel.status} : null,
        display: panel.sessionContext.kernelDisplayName,
        running: code.filter(c => c.executionState === "running").length,
        unexecuted: code.filter(c => c.executionCount === null).length,
        errors: outputs.flat().filter(o => o.output_type === "error").map(o => `${o.ename}: ${o.evalue}`),
        images: outputs.flat().filter(o => o.data && o.data["image/png"]).length,
        setup_outputs: code.filter(c => (c.getMetadata("tags") || []).includes("fsl-setup"))
            .map(c => c.outputs.length),
        after_findings: (() => {
            const i = cells.findIndex(c => c.type === "markdown" && c.sharedModel.source.startsWith("## What we found"));
            return i < 0 ? -1 : code.filter(c => cells.indexOf(c) > i && c.outputs.length > 0).length;
        })(),
    };
}"""


def _state(page) -> dict:
    return page.evaluate(JS_STATE)


def _wait(page, what: str, condition, timeout_s: float) -> dict:
    deadline = time.monotonic() + timeout_s
    while True:
        state = _state(page)
        if condition(state):
            return state
        assert time.monotonic() < deadline, f"timed out after {timeout_s:.0f} s waiting for {what}: {state}"
        page.wait_for_timeout(500)


def _menu(page, menu: str, item: str) -> None:
    page.locator("#jp-MainMenu .lm-MenuBar-itemLabel").get_by_text(menu, exact=True).click()
    page.locator(".lm-Menu-content .lm-Menu-itemLabel").get_by_text(item, exact=True).click()


def _shut_down_kernels(lab: dict) -> None:
    """Stop the kernels a closed page left running, so notebooks do not share the machine's memory."""
    auth = {"Authorization": f"token {lab['token']}"}
    with urllib.request.urlopen(
        urllib.request.Request(f"{lab['base']}/api/kernels", headers=auth)
    ) as response:
        kernels = json.load(response)
    for kernel in kernels:
        url = f"{lab['base']}/api/kernels/{kernel['id']}"
        urllib.request.urlopen(urllib.request.Request(url, method="DELETE", headers=auth), timeout=60).close()


def _kernel_process(kernel_id: str) -> psutil.Process:
    for process in psutil.process_iter(["cmdline"]):
        if any(f"kernel-{kernel_id}.json" in part for part in process.info["cmdline"] or []):
            return process
    raise AssertionError(f"no process runs kernel {kernel_id}")


@pytest.mark.parametrize("notebook", CHOSEN, ids=[p.stem for p in CHOSEN])
def test_notebook_runs_all_in_jupyterlab(notebook, lab, browser):
    SHOTS.mkdir(parents=True, exist_ok=True)
    shot = SHOTS / f"{notebook.stem}.png"
    page = browser.new_page()
    try:
        page.goto(f"{lab['base']}/lab/tree/notebooks/{notebook.name}?reset&token={lab['token']}")
        page.wait_for_function(
            "() => window.jupyterapp?.shell.currentWidget?.sessionContext", timeout=120_000
        )
        ready = _wait(page, "the kernel", lambda s: s["kernel"] and s["kernel"]["status"] == "idle", 120)
        assert ready["kernel"]["name"] == "python3" and ready["display"] == "Python 3 (ipykernel)", ready
        exe = Path(_kernel_process(ready["kernel"]["id"]).cmdline()[0])
        assert exe.parent.resolve() == Path(sys.executable).parent.resolve(), (
            f"kernel runs {exe}, not the project's"
        )
        page.get_by_text("Python 3 (ipykernel) | Idle").wait_for(timeout=30_000)

        _menu(page, "Edit", "Clear Outputs of All Cells")
        _wait(page, "cleared outputs", lambda s: s["unexecuted"] > 0 and s["after_findings"] <= 0, 30)
        _menu(page, "Run", "Run All Cells")
        state = _wait(
            page,
            "Run All to finish",
            lambda s: (
                s["kernel"]["status"] == "idle" and not s["running"] and (s["errors"] or not s["unexecuted"])
            ),
            RUN_TIMEOUT_S,
        )
        assert not state["errors"], f"{notebook.name} raised in the browser: {state['errors']} (see {shot})"
        assert state["after_findings"] > 0, (
            f"{notebook.name}: no 'What we found' section with computed output"
        )
        if _draws_figures(notebook):
            assert state["images"] > 0, f"{notebook.name} draws figures but none reached the page"
        images = page.locator(".jp-OutputArea-output img")
        page.wait_for_function(
            "() => [...document.querySelectorAll('.jp-OutputArea-output img')].every(i => i.complete)"
        )
        sizes = images.evaluate_all("imgs => imgs.map(i => i.naturalWidth)")
        assert len(sizes) >= state["images"], f"{state['images']} figures made, {len(sizes)} shown"
        assert all(width > 0 for width in sizes), f"a figure did not render: widths {sizes}"
        assert state["setup_outputs"] in ([], [0]), (
            "the cloud setup cell must do nothing (and print nothing) here"
        )
        if sizes:
            images.first.scroll_into_view_if_needed()
            page.screenshot(path=SHOTS / f"{notebook.stem}.figure.png")
        findings = page.locator(".jp-MarkdownCell h2", has_text="What we found").first
        findings.scroll_into_view_if_needed()
        page.screenshot(path=SHOTS / f"{notebook.stem}.findings.png")
    finally:
        page.screenshot(path=shot)
        page.close()
        _shut_down_kernels(lab)
