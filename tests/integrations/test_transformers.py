"""reglab's Hugging Face adapters on a real ``transformers.Trainer`` (tiny BERT from a config)."""

from __future__ import annotations

import math

import pytest
import torch

transformers = pytest.importorskip("transformers")
pytest.importorskip("accelerate")

from transformers import BertConfig, BertForSequenceClassification, TrainerCallback, TrainingArguments  # noqa: E402

from reglab.integrations.transformers import DistillationTrainer, KeepBestCallback, train_keeping_best  # noqa: E402
from reglab.losses import distillation_loss  # noqa: E402


class Pairs(torch.utils.data.Dataset):
    def __init__(self, n: int = 32):
        g = torch.Generator().manual_seed(0)
        self.ids = torch.randint(1, 30, (n, 6), generator=g)
        self.labels = (self.ids[:, 0] > 15).long()

    def __len__(self):
        return len(self.labels)

    def __getitem__(self, i):
        return {"input_ids": self.ids[i], "labels": self.labels[i]}


def _model(seed: int = 0, hidden: int = 16):
    torch.manual_seed(seed)
    config = BertConfig(vocab_size=32, hidden_size=hidden, num_hidden_layers=1, num_attention_heads=2,
                        intermediate_size=2 * hidden, max_position_embeddings=8, num_labels=2)
    return BertForSequenceClassification(config)


class Recorder(TrainerCallback):
    """Copies the weights at each evaluation; optionally raises at an epoch start."""

    def __init__(self, fail_at: int | None = None, error: type[BaseException] = RuntimeError):
        self.weights: dict[int, dict[str, torch.Tensor]] = {}
        self.fail_at, self.error = fail_at, error

    def on_evaluate(self, args, state, control, model=None, **kwargs):
        self.weights[len(self.weights) + 1] = {k: v.detach().clone() for k, v in model.state_dict().items()}

    def on_epoch_begin(self, args, state, control, **kwargs):
        if self.fail_at is not None and round(state.epoch) + 1 == self.fail_at:
            raise self.error("boom")


def _trainer(tmp_path, script, callbacks, epochs: int = 6, cls=transformers.Trainer, **kwargs):
    calls = iter(script)
    args = TrainingArguments(
        output_dir=str(tmp_path), num_train_epochs=epochs, eval_strategy="epoch", save_strategy="no",
        report_to=[], per_device_train_batch_size=8, per_device_eval_batch_size=16, learning_rate=5e-3,
        logging_strategy="no", use_cpu=True, disable_tqdm=True, seed=0,
    )
    return cls(model=kwargs.pop("model", None) or _model(), args=args, train_dataset=Pairs(), eval_dataset=Pairs(16),
               compute_metrics=lambda pred: {"scripted": next(calls)}, callbacks=callbacks, **kwargs)


def _same(a, b):
    return a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


def test_early_stop_keeps_and_restores_the_best_weights_in_memory(tmp_path):
    rec, cb = Recorder(), KeepBestCallback(monitor="eval_scripted", patience=2)
    trainer = _trainer(tmp_path, [3, 2, 1, 2, 3, 4], [rec, cb])
    trainer.train()
    assert len(rec.weights) == 5  # stopped after the 5th evaluation
    assert cb.reason == "Stopped at epoch 5: eval_scripted did not improve for 2 epochs (best 1 at epoch 3)."
    assert cb.restored_epoch == 3
    assert _same(trainer.model.state_dict(), rec.weights[3])
    assert not any(p.name.startswith("checkpoint") for p in tmp_path.iterdir())  # no checkpoint per evaluation


def test_last_epoch_restores_the_best_weights(tmp_path):
    rec, cb = Recorder(), KeepBestCallback(monitor="eval_scripted")
    trainer = _trainer(tmp_path, [3, 1, 2, 2], [rec, cb], epochs=4)
    trainer.train()
    assert (cb.best_epoch, cb.stopped_epoch, cb.restored_epoch) == (2, None, 2)
    assert _same(trainer.model.state_dict(), rec.weights[2])


@pytest.mark.parametrize("error", [RuntimeError, KeyboardInterrupt])
def test_an_exception_restores_the_best_weights_and_propagates(tmp_path, error):
    rec, cb = Recorder(fail_at=4, error=error), KeepBestCallback(monitor="eval_scripted")
    trainer = _trainer(tmp_path, [3, 1, 2, 2, 2], [rec, cb])
    with pytest.raises(error, match="boom"):
        train_keeping_best(trainer)
    assert cb.reason == f"Interrupted by {error.__name__}; restored the weights of epoch 2."
    assert _same(trainer.model.state_dict(), rec.weights[2])


def test_a_non_finite_metric_stops_even_without_patience(tmp_path):
    rec, cb = Recorder(), KeepBestCallback(monitor="eval_scripted")
    trainer = _trainer(tmp_path, [2, 1, math.inf, 0.5], [rec, cb])
    trainer.train()
    assert cb.reason == "Stopped at epoch 3: eval_scripted became inf (non-finite; best 1 at epoch 2)."
    assert _same(trainer.model.state_dict(), rec.weights[2])


def test_a_wrong_monitor_names_the_metrics(tmp_path):
    trainer = _trainer(tmp_path, [1], [KeepBestCallback(monitor="eval_acc")], epochs=1)
    with pytest.raises(ValueError) as info:
        trainer.train()
    assert str(info.value).startswith("Invalid value for argument `monitor`. Expected one of the logged metrics ")
    assert "'eval_loss'" in str(info.value) and str(info.value).endswith("Received: monitor='eval_acc'")


def test_distillation_trainer_loss_is_reglabs_distillation_loss(tmp_path):
    teacher = _model(seed=1, hidden=32)
    trainer = _trainer(tmp_path, [1], [], epochs=1, cls=DistillationTrainer, teacher=teacher, temperature=2.0, alpha=0.7)
    batch = Pairs()[0:4]
    inputs = {"input_ids": batch["input_ids"], "labels": batch["labels"]}
    loss = trainer.compute_loss(trainer.model.eval(), dict(inputs))
    with torch.no_grad():
        expected = distillation_loss(
            trainer.model(input_ids=inputs["input_ids"]).logits, teacher(input_ids=inputs["input_ids"]).logits,
            inputs["labels"], 2.0, 0.7,
        )
    torch.testing.assert_close(loss, expected)
    assert not any(p.requires_grad for p in teacher.parameters())


def test_distillation_trainer_trains_and_restores_on_an_exception(tmp_path):
    rec, cb = Recorder(fail_at=3), KeepBestCallback(monitor="eval_scripted")
    trainer = _trainer(tmp_path, [2, 1, 3], [rec, cb], cls=DistillationTrainer, teacher=_model(seed=1))
    with pytest.raises(RuntimeError, match="boom"):
        trainer.train()
    assert _same(trainer.model.state_dict(), rec.weights[2])
