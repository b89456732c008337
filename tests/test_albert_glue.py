"""helpers.albert.glue: the offline check, and fine-tuning a checkpoint folder (a tiny BERT the test saves itself)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from helpers.albert.glue import download_glue, finetune_checkpoint, hub_unavailable
from helpers.core.precision import Precision

WORDS = ["the", "film", "was", "very", "quite", "good", "great", "fine", "bad", "awful", "poor"]


@pytest.fixture(scope="module")
def tiny_checkpoint(tmp_path_factory):
    from tokenizers import Tokenizer, models, pre_tokenizers, processors
    from transformers import BertConfig, BertForSequenceClassification, PreTrainedTokenizerFast

    folder = tmp_path_factory.mktemp("tiny-bert")
    vocab = {t: i for i, t in enumerate(["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", *WORDS])}
    tok = Tokenizer(models.WordLevel(vocab, unk_token="[UNK]"))
    tok.pre_tokenizer = pre_tokenizers.Whitespace()
    tok.post_processor = processors.TemplateProcessing(
        single="[CLS] $A [SEP]",
        pair="[CLS] $A [SEP] $B:1 [SEP]:1",
        special_tokens=[("[CLS]", 2), ("[SEP]", 3)],
    )
    PreTrainedTokenizerFast(
        tokenizer_object=tok,
        pad_token="[PAD]",
        unk_token="[UNK]",
        cls_token="[CLS]",
        sep_token="[SEP]",
        mask_token="[MASK]",
    ).save_pretrained(str(folder))
    config = BertConfig(
        vocab_size=len(vocab),
        hidden_size=16,
        num_hidden_layers=1,
        num_attention_heads=2,
        intermediate_size=32,
        max_position_embeddings=32,
        num_labels=2,
    )
    BertForSequenceClassification(config).save_pretrained(str(folder))
    return folder


def _sentiment(n: int, seed: int, folder) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, 2, size=n)
    words = [rng.choice(WORDS[5:8] if y else WORDS[8:]) for y in labels]
    frame = pd.DataFrame(
        {"sentence": [f"the film was {rng.choice(WORDS[3:5])} {w}" for w in words], "label": labels}
    )
    path = folder / f"split-{seed}.parquet"
    frame.to_parquet(path)  # the same file format as the Hub's GLUE files
    return pd.read_parquet(path)


def test_finetuning_a_local_checkpoint_learns_a_separable_task(tiny_checkpoint, tmp_path):
    train, dev = _sentiment(256, 0, tmp_path), _sentiment(128, 1, tmp_path)
    result = finetune_checkpoint(
        str(tiny_checkpoint),
        train,
        dev,
        budget_s=120,
        max_steps=80,
        batch_size=16,
        learning_rate=3e-3,
        max_len=16,
    )
    assert result["steps"] == 80 and result["examples_seen"] == 80 * 16
    assert result["accuracy"] >= 0.9
    assert result["train_s"] > 0 and result["parameters"] > 1000
    assert result["dtype"] == "float32"  # core.precision's choice for the CPU


def test_fp16_finetuning_goes_through_the_gradient_scaler(tiny_checkpoint, tmp_path):
    # what core.precision picks on a T4: fp16 autocast with loss scaling (run here on the CPU)
    train = _sentiment(128, 0, tmp_path)
    result = finetune_checkpoint(
        str(tiny_checkpoint),
        train,
        train,
        max_steps=40,
        batch_size=16,
        learning_rate=3e-3,
        max_len=16,
        precision=Precision("float16", "cpu", "a T4's choice"),
    )
    assert result["dtype"] == "float16" and result["steps"] == 40 and result["accuracy"] >= 0.9


def test_offline_is_detected_without_a_network_call(monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    assert "HF_HUB_OFFLINE" in hub_unavailable()


def test_bad_inputs_have_clear_messages(tiny_checkpoint, tmp_path):
    with pytest.raises(ValueError, match="Unknown GLUE task"):
        download_glue("squad")
    train = _sentiment(8, 0, tmp_path).rename(columns={"sentence": "text"})
    with pytest.raises(ValueError, match="lack column"):
        finetune_checkpoint(str(tiny_checkpoint), train, train)
