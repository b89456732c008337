"""MLflow tracking for sweeps: a local SQLite store by default, a parent run per sweep, a nested run per trial,
and the best model logged and registered. Every run carries the notebook session's id, so reruns append.

The tracker logs plain values (names, parameter dicts, numbers, times); the search code converts its own types."""

from __future__ import annotations

import os
import shlex
import sqlite3
import time
import uuid
from collections.abc import Iterator
from contextlib import closing, contextmanager, nullcontext
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from helpers.core.cache import locked
from helpers.core.environment import unreachable
from helpers.core.results import store_dir

if TYPE_CHECKING:
    import pandas as pd

SESSION_TAG = "fsl.session"
ROLE_TAG = "fsl.role"  # "sweep", "trial" or "best_model"
STRATEGY_TAG = "fsl.strategy"
PARENT_TAG = "mlflow.parentRunId"


def default_store_dir() -> Path:
    """The folder of the default MLflow store, shared by every run so that reruns append: `$FSL_STORE_DIR/mlflow`
    (default `~/.local/share/faster-smaller-lighter/mlflow`), never inside a run's output folder."""
    return store_dir("mlflow")


def resolve_tracking_uri(explicit: str | None, folder: Path | None = None) -> str:
    """The `explicit` URI if given, else $MLFLOW_TRACKING_URI, else a SQLite file `mlflow.db` in `folder`
    (default: `default_store_dir()`)."""
    if explicit:
        return explicit
    from_env = os.environ.get("MLFLOW_TRACKING_URI")
    if from_env:
        return from_env
    return f"sqlite:///{(Path(folder or default_store_dir()) / 'mlflow.db').resolve()}"


def check_sqlite_store(database: Path) -> None:
    """Refuse, in one sentence with the path and a fix, a store file that is not a readable SQLite database
    (MLflow would otherwise fail with a long log that never names it); the file is never rewritten."""
    if not database.exists():
        return
    try:
        with closing(sqlite3.connect(f"file:{database}?mode=ro", uri=True)) as connection:
            verdict = connection.execute("PRAGMA quick_check").fetchone()[0]
    except sqlite3.DatabaseError as error:
        verdict = str(error)
    if verdict != "ok":
        raise ValueError(
            f"The MLflow store {database} is damaged ({verdict}); move it aside (mv {shlex.quote(str(database))} "
            f"{shlex.quote(str(database))}.broken) to start a new store there, or pass another tracking_uri."
        )


def check_server(uri: str) -> None:
    """Refuse, in one sentence, an http(s) tracking URI where nothing answers: MLflow's client would otherwise
    retry silently for minutes before failing."""
    parts = urlsplit(uri)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return
    port = parts.port or (443 if parts.scheme == "https" else 80)
    reason = unreachable(parts.hostname, port)
    if reason:
        raise ValueError(
            f"The MLflow tracking server at {uri} cannot be reached ({reason}); start it (e.g. `mlflow server "
            f"--port {port}`), or pass another tracking_uri (with MLFLOW_TRACKING_URI unset, the local SQLite "
            "store is used)."
        )


def sqlite_file(uri: str) -> Path | None:
    """The database file of a `sqlite:///` URI, None for any other store."""
    return Path(uri.removeprefix("sqlite:///")) if uri.startswith("sqlite:///") else None


def ui_command(uri: str) -> str:
    """The shell command that opens the MLflow UI on this store; a SQLite file under the home folder is named from
    `$HOME`, one elsewhere relative to the current folder, so the command names no folder of the machine that ran it."""
    database = sqlite_file(uri)
    if database is not None and database.is_absolute():
        if database.is_relative_to(Path.home()):
            return f'mlflow ui --backend-store-uri "sqlite:///$HOME/{database.relative_to(Path.home())}"'
        uri = f"sqlite:///{os.path.relpath(database)}"
    return f"mlflow ui --backend-store-uri {shlex.quote(uri)}"


def _ms(seconds: float) -> int:
    return int(seconds * 1000)


class Tracker:
    """One experiment in one store: creates it on first use, reuses it afterwards, tags runs with a session id."""

    def __init__(
        self, uri: str, experiment: str, backend: str, hardware: str, session: str | None = None
    ) -> None:
        from mlflow import MlflowClient

        database = sqlite_file(uri)
        if database is not None:
            database.parent.mkdir(parents=True, exist_ok=True)
            check_sqlite_store(database)
        else:
            check_server(uri)
        self.uri = uri
        self.backend = backend
        self.hardware = hardware
        self.session = session or uuid.uuid4().hex
        # Opening a new SQLite store creates and migrates its schema: one process at a time per store folder, so
        # that two first runs at once never meet inside MLflow's migration.
        with locked(database.parent) if database is not None else nullcontext():
            self.client = MlflowClient(uri)
            self.experiment_id = self._experiment(experiment, database)

    def _experiment(self, name: str, database: Path | None) -> str:
        from mlflow.exceptions import MlflowException

        found = self.client.get_experiment_by_name(name)
        if found is None:
            location = (database.parent / "mlartifacts").resolve().as_uri() if database is not None else None
            try:
                return self.client.create_experiment(name, artifact_location=location)
            except MlflowException:  # created meanwhile by a concurrent run
                found = self.client.get_experiment_by_name(name)
        if found.lifecycle_stage != "active":
            raise ValueError(
                f"Experiment {name!r} is deleted in {self.uri}; restore it with `mlflow experiments "
                "restore` or pass another experiment name."
            )
        return found.experiment_id

    @contextmanager
    def _fluent(self) -> Iterator[None]:
        """Point MLflow's fluent API at this store, then restore the previous URI (set_tracking_uri also sets
        $MLFLOW_TRACKING_URI, which child processes would inherit)."""
        import mlflow

        previous = os.environ.get("MLFLOW_TRACKING_URI")
        mlflow.set_tracking_uri(self.uri)
        try:
            yield
        finally:
            mlflow.set_tracking_uri(previous)

    def _tags(self, role: str, strategy: str, parent: str | None = None) -> dict[str, str]:
        tags = {
            SESSION_TAG: self.session,
            ROLE_TAG: role,
            STRATEGY_TAG: strategy,
            "fsl.backend": self.backend,
            "fsl.hardware": self.hardware,
        }
        if parent is not None:
            tags[PARENT_TAG] = parent
        return tags

    @contextmanager
    def sweep_run(self, strategy: str, budget: int, **params: Any) -> Iterator[str]:
        """A parent run for one strategy's sweep; FAILED if the sweep raises or is interrupted."""
        run = self.client.create_run(
            self.experiment_id, tags=self._tags("sweep", strategy), run_name=strategy
        )
        run_id = run.info.run_id
        self._log(run_id, params={"strategy": strategy, "budget": budget, **params})
        try:
            yield run_id
        except BaseException:
            self.client.set_terminated(run_id, "FAILED")
            raise
        self.client.set_terminated(run_id, "FINISHED")

    def log_metrics(self, run_id: str, metrics: dict[str, float]) -> None:
        """Numbers (a sweep's best accuracy, evaluations, failures, wall time…) on a run."""
        self._log(run_id, metrics=metrics)

    def _log(
        self,
        run_id: str,
        params: dict[str, Any] | None = None,
        metrics: dict[str, float] | None = None,
        tags: dict[str, str] | None = None,
        at: float | None = None,
    ) -> None:
        from mlflow.entities import Metric, Param, RunTag

        stamp = _ms(at if at is not None else time.time())
        self.client.log_batch(
            run_id,
            metrics=[Metric(k, float(v), stamp, 0) for k, v in (metrics or {}).items()],
            params=[Param(k, str(v)) for k, v in (params or {}).items()],
            tags=[RunTag(k, v) for k, v in (tags or {}).items()],
        )

    @contextmanager
    def trial_run(
        self, parent: str, name: str, strategy: str, params: dict[str, Any], start: float | None = None
    ) -> Iterator[str]:
        """A nested run for one trial with its parameters; FAILED if the block raises (an interrupt propagates)."""
        run = self.client.create_run(
            self.experiment_id,
            start_time=None if start is None else _ms(start),
            tags=self._tags("trial", strategy, parent),
            run_name=name,
        )
        run_id = run.info.run_id
        self._log(run_id, params=params, at=start)
        try:
            yield run_id
        except BaseException:
            self.client.set_terminated(run_id, "FAILED")
            raise

    def finish_trial(
        self, run_id: str, accuracy: float | None, duration_s: float, end: float, error: str = ""
    ) -> None:
        """Close a trial's run: FINISHED with its accuracy, or FAILED (accuracy None) with its error as a tag."""
        metrics = {"duration_s": duration_s} | ({} if accuracy is None else {"accuracy": accuracy})
        self._log(run_id, metrics=metrics, tags={"fsl.error": error} if error else None, at=end)
        self.client.set_terminated(run_id, "FAILED" if accuracy is None else "FINISHED", end_time=_ms(end))

    def log_best_model(
        self,
        model: Any,
        sample: Any,
        params: dict[str, Any],
        strategy: str,
        sweep_accuracy: float,
        accuracy: float,
        registered_name: str,
    ) -> Any:
        """Log the refitted best model in its own run and register it; returns the new ModelVersion."""
        import mlflow
        from mlflow.models import infer_signature

        from helpers.core.backend import Backend

        sample = Backend.to_pandas(sample)
        predictions = Backend.to_numpy(model.predict(sample))
        tags = self._tags("best_model", strategy)
        with (
            self._fluent(),
            mlflow.start_run(experiment_id=self.experiment_id, run_name="best-model", tags=tags),
        ):
            mlflow.log_params(params)
            mlflow.log_metrics({"accuracy": accuracy, "sweep_accuracy": sweep_accuracy})
            info = mlflow.sklearn.log_model(
                model,
                name="model",
                registered_model_name=registered_name,
                signature=infer_signature(sample, predictions),
                serialization_format="cloudpickle",
                pip_requirements=_requirements(self.backend),
            )
        return self.client.get_model_version(registered_name, str(info.registered_model_version))

    def runs(self, session_only: bool = False) -> pd.DataFrame:
        """Runs of the experiment found with `mlflow.search_runs` (only this session's when asked)."""
        import mlflow

        where = f"tags.`{SESSION_TAG}` = '{self.session}'" if session_only else ""
        with self._fluent():
            return mlflow.search_runs(experiment_ids=[self.experiment_id], filter_string=where)


def _requirements(backend: str) -> list[str]:
    """Pinned pip requirements of the logged model (given explicitly: MLflow's inference is slow)."""
    from helpers.core.environment import library_versions

    names = ("scikit-learn",) if backend == "cpu" else ("cuml-cu12", "cuml-cu13", "cudf-cu12", "cudf-cu13")
    return [f"{name}=={version}" for name, version in library_versions(("mlflow", *names)).items() if version]
