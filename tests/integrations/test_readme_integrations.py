"""The README's integration examples (its ```py blocks) run as written on tiny models."""

from __future__ import annotations

import contextlib
import io
import re
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

README = Path(__file__).resolve().parents[2] / "README.md"
BLOCKS = re.findall(r"```py\n(.*?)```", README.read_text(), re.S)


def _loader(n: int = 32) -> DataLoader:
    g = torch.Generator().manual_seed(0)
    x = torch.randn(n, 4, generator=g)
    return DataLoader(TensorDataset(x, (x[:, 0] > 0).long()), batch_size=16)


def test_the_readme_has_the_three_integration_examples():
    assert [b.splitlines()[0] for b in BLOCKS] == [
        "import lightning.pytorch as pl",
        "from reglab.integrations.transformers import KeepBestCallback, DistillationTrainer, train_keeping_best",
        "from reglab.integrations.tracking import CSVLogger, TensorBoardLogger",
    ]


def test_lightning_example(monkeypatch, tmp_path):
    pl = pytest.importorskip("lightning.pytorch")
    monkeypatch.chdir(tmp_path)

    class Module(pl.LightningModule):
        def __init__(self):
            super().__init__()
            self.net = nn.Linear(4, 2)

        def training_step(self, batch, idx):
            return F.cross_entropy(self.net(batch[0]), batch[1])

        def validation_step(self, batch, idx):
            self.log("val_loss", F.cross_entropy(self.net(batch[0]), batch[1]))

        def configure_optimizers(self):
            return torch.optim.SGD(self.parameters(), lr=5.0)  # large: the loss bounces, patience fires

    namespace = {"module": Module(), "train_loader": _loader(), "val_loader": _loader(16)}
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        exec(BLOCKS[0].replace("max_epochs=50", "max_epochs=3"), namespace)
    assert out.getvalue().splitlines()[-1] == namespace["stop"].reason


def test_transformers_example(tmp_path):
    transformers = pytest.importorskip("transformers")
    pytest.importorskip("accelerate")
    from transformers import BertConfig, BertForSequenceClassification, TrainingArguments

    def bert(hidden):
        torch.manual_seed(0)
        return BertForSequenceClassification(BertConfig(vocab_size=32, hidden_size=hidden, num_hidden_layers=1,
                                                        num_attention_heads=2, intermediate_size=2 * hidden,
                                                        max_position_embeddings=8, num_labels=2))

    ids = torch.randint(1, 30, (24, 6), generator=torch.Generator().manual_seed(0))
    data = [{"input_ids": i, "labels": (i[0] > 15).long()} for i in ids]
    args = TrainingArguments(output_dir=str(tmp_path), num_train_epochs=2, eval_strategy="epoch", save_strategy="no",
                             report_to=[], use_cpu=True, disable_tqdm=True, logging_strategy="no")
    namespace = {"student": bert(16), "teacher": bert(32), "args": args, "train_set": data, "val_set": data[:8]}
    exec(BLOCKS[1], namespace)
    best = namespace["best"]
    assert best.best_epoch in (1, 2) and best.restored_epoch == best.best_epoch


def test_tracking_example(monkeypatch, tmp_path):
    pytest.importorskip("tensorboard")
    from reglab.training import Trainer

    monkeypatch.chdir(tmp_path)
    model = nn.Linear(4, 2)
    namespace = {"Trainer": Trainer, "model": model, "optimizer": torch.optim.SGD(model.parameters(), lr=0.1),
                 "train_loader": _loader(), "val_loader": _loader(16)}
    exec(BLOCKS[2], namespace)
    assert len((tmp_path / "log.csv").read_text().splitlines()) == 4  # header + 3 epochs
    assert any((tmp_path / "tb" / "mlp").iterdir())
