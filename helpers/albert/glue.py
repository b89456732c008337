"""Fine-tuning published checkpoints (albert-base-v2, bert-base-uncased) on a GLUE task for a fixed time budget.

Needs the Hugging Face Hub (checkpoints and the `nyu-mll/glue` parquet files) and, to be worth it, a GPU. The
Hub check is quick and honours HF_HUB_OFFLINE, so an offline machine learns in a second that it cannot measure.
The loading and training code takes any local model folder and data frames, so tests run it on a tiny model.
"""

from __future__ import annotations

import os
import socket
import time
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from helpers.core.params import require
from helpers.core.precision import Precision, backward_step, training_precision
from helpers.core.seeding import seed_everything

HUB_HOST = "huggingface.co"
GLUE_REPO = "nyu-mll/glue"
TEXT_COLUMNS = {"sst2": ("sentence",), "mrpc": ("sentence1", "sentence2"), "rte": ("sentence1", "sentence2")}


def hub_unavailable(timeout_s: float = 2.0) -> str | None:
    """None when the Hub can be reached; else the reason (HF_HUB_OFFLINE set, or no connection within timeout)."""
    if os.environ.get("HF_HUB_OFFLINE", "").strip().lower() in ("1", "true", "yes", "on"):
        return "HF_HUB_OFFLINE is set, so the published checkpoints and GLUE data cannot be downloaded"
    try:
        socket.create_connection((HUB_HOST, 443), timeout=timeout_s).close()
    except OSError as error:
        return f"{HUB_HOST} cannot be reached from this machine ({type(error).__name__})"
    return None


def download_glue(task: str) -> dict[str, pd.DataFrame]:
    """The train and validation splits of a GLUE task from the Hub's parquet files (downloads once, cached)."""
    from huggingface_hub import snapshot_download

    require(task in TEXT_COLUMNS, f"Unknown GLUE task {task!r}; use one of {', '.join(TEXT_COLUMNS)}.")
    folder = Path(snapshot_download(GLUE_REPO, repo_type="dataset", allow_patterns=[f"{task}/*"]))
    splits = {}
    for split in ("train", "validation"):
        files = sorted((folder / task).glob(f"{split}-*.parquet"))
        require(files, f"No {split} parquet file for {task} in {GLUE_REPO}; the dataset layout has changed.")
        splits[split] = pd.concat([pd.read_parquet(f) for f in files], ignore_index=True)
    return splits


def _encode(
    tokenizer, frame: pd.DataFrame, columns: tuple[str, ...], max_len: int
) -> dict[str, torch.Tensor]:
    texts = [frame[c].astype(str).tolist() for c in columns]
    enc = tokenizer(*texts, truncation=True, max_length=max_len, padding="max_length", return_tensors="pt")
    enc["labels"] = torch.tensor(frame["label"].to_numpy(), dtype=torch.long)
    return dict(enc)


def finetune_checkpoint(
    model_name: str,
    train: pd.DataFrame,
    dev: pd.DataFrame,
    columns: tuple[str, ...] = ("sentence",),
    budget_s: float = 180.0,
    max_steps: int = 100_000,
    batch_size: int = 32,
    learning_rate: float = 2e-5,
    max_len: int = 128,
    device: str = "cpu",
    seed: int = 0,
    precision: Precision | None = None,
) -> dict:
    """Fine-tune a sequence-classification checkpoint (a Hub name or a local folder) on `train` for at most
    `budget_s` seconds or `max_steps` steps, then measure dev accuracy; returns accuracy, steps, times and the
    dtype trained in (`precision`, by default `core.precision.training_precision` for the device's GPU)."""
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    missing = [c for c in (*columns, "label") if c not in train.columns or c not in dev.columns]
    require(not missing, f"The data frames lack column(s) {missing}; GLUE frames have {list(train.columns)}.")
    seed_everything(seed)
    tokenizer = AutoTokenizer.from_pretrained(model_name)
    labels = int(max(train["label"].max(), dev["label"].max())) + 1
    model = AutoModelForSequenceClassification.from_pretrained(model_name, num_labels=labels).to(device)
    data, dev_data = _encode(tokenizer, train, columns, max_len), _encode(tokenizer, dev, columns, max_len)
    optimizer = torch.optim.AdamW(model.parameters(), lr=learning_rate, weight_decay=0.01)
    precision = precision or training_precision(device)
    scaler = precision.new_scaler()
    order = np.random.default_rng(seed).permutation(len(train))
    model.train()
    steps, start = 0, time.perf_counter()
    while steps < max_steps and time.perf_counter() - start < budget_s:
        rows = order[(steps * batch_size) % len(order) :][:batch_size]
        batch = {k: v[rows].to(device) for k, v in data.items()}
        with precision.autocast():
            loss = model(**batch).loss
        optimizer.zero_grad(set_to_none=True)
        backward_step(loss, optimizer, scaler)
        steps += 1
    if device == "cuda":
        torch.cuda.synchronize()
    train_s = time.perf_counter() - start
    model.eval()
    right = 0
    with torch.no_grad(), precision.autocast():
        for first in range(0, len(dev), 256):
            batch = {k: v[first : first + 256].to(device) for k, v in dev_data.items()}
            right += int((model(**batch).logits.argmax(-1) == batch["labels"]).sum())
    return {
        "model": model_name,
        "accuracy": right / len(dev),
        "steps": steps,
        "examples_seen": steps * batch_size,
        "train_s": train_s,
        "dtype": precision.dtype,
        "parameters": sum(p.numel() for p in model.parameters()),
    }
