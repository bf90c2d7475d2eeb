"""Retrofit on a tiny Hugging Face BERT built from a config (no download); skipped without transformers."""

from __future__ import annotations

import pytest
import torch

transformers = pytest.importorskip("transformers")

from reglab.models.user import LogitsOf, check_output  # noqa: E402
from reglab.retrofit import DropoutAfter, insert_dropout, retrofit, set_dropout_rate  # noqa: E402


def tiny_bert() -> torch.nn.Module:
    torch.manual_seed(0)
    config = transformers.BertConfig(hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
                                     intermediate_size=37, vocab_size=100, num_labels=3)
    return transformers.BertForSequenceClassification(config)


def test_set_dropout_rate_updates_config_and_survives_save_pretrained(tmp_path):
    model = tiny_bert()
    assert set_dropout_rate(model, 0.3) == 8  # embeddings, 2 x (attention probs, attention out, ffn out), classifier
    assert {m.p for m in model.modules() if isinstance(m, torch.nn.Dropout)} == {0.3}
    assert (model.config.hidden_dropout_prob, model.config.attention_probs_dropout_prob) == (0.3, 0.3)
    assert model.config.classifier_dropout is None  # None means "use hidden_dropout_prob"
    model.save_pretrained(tmp_path)
    loaded = transformers.BertForSequenceClassification.from_pretrained(tmp_path)
    assert loaded.config.hidden_dropout_prob == 0.3
    assert {m.p for m in loaded.modules() if isinstance(m, torch.nn.Dropout)} == {0.3}


def test_insert_dropout_finds_gelu_activation():
    model = tiny_bert()
    insert_dropout(model, 0.2)
    wrapped = [n for n, m in model.named_modules() if isinstance(m, DropoutAfter)]
    # the feed-forward GELUActivation of each layer, and the pooler's Tanh
    assert wrapped == [f"bert.encoder.layer.{i}.intermediate.intermediate_act_fn" for i in range(2)] + [
        "bert.pooler.activation"]
    assert type(model.bert.encoder.layer[0].intermediate.intermediate_act_fn[0]).__name__ == "GELUActivation"
    ids = torch.randint(0, 100, (2, 5))
    model.eval()
    assert model(input_ids=ids).logits.shape == (2, 3)


def test_model_output_logits_rule_and_study_retrofit_sentence():
    model = tiny_bert()
    ids = torch.randint(0, 100, (2, 5))
    wrapped = check_output(model, ids, 3, "classification", "hf:bert")
    assert isinstance(wrapped, LogitsOf)
    model.eval()
    assert torch.equal(wrapped(ids), model(ids).logits)
    _, notes = retrofit(model, dropout=0.2)
    assert notes == [
        "dropout=0.2: set the rate of the model's 8 dropout modules (bert.embeddings.dropout, "
        "bert.encoder.layer.0.attention.self.dropout, bert.encoder.layer.0.attention.output.dropout, "
        "bert.encoder.layer.0.output.dropout, bert.encoder.layer.1.attention.self.dropout, "
        "bert.encoder.layer.1.attention.output.dropout, bert.encoder.layer.1.output.dropout, dropout) from 0.1 to "
        "0.2; and config.hidden_dropout_prob, config.attention_probs_dropout_prob."
    ]
