"""One rank of the Lightning DDP test (tests/integrations/test_lightning_ddp.py starts two).

Usage: python lightning_ddp_worker.py OUT_DIR   (rank and port in LOCAL_RANK, NODE_RANK, ... env)
"""

from __future__ import annotations

import os
import sys

import lightning.pytorch as pl
import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

from reglab.integrations.lightning import RestoreBestEarlyStopping


class Module(pl.LightningModule):
    def __init__(self):
        super().__init__()
        torch.manual_seed(0)
        self.net = nn.Sequential(nn.Linear(6, 16), nn.ReLU(), nn.Linear(16, 2))

    def training_step(self, batch, idx):
        return F.cross_entropy(self.net(batch[0]), batch[1])

    def validation_step(self, batch, idx):
        # Each rank logs its own shard's loss, unsynced: the callback must agree across ranks itself.
        self.log("val_loss", F.cross_entropy(self.net(batch[0]), batch[1]))

    def configure_optimizers(self):
        return torch.optim.SGD(self.parameters(), lr=2.0)


def main() -> None:
    out = sys.argv[1]
    torch.set_num_threads(1)
    g = torch.Generator().manual_seed(0)
    x = torch.randn(64, 6, generator=g)
    y = (x[:, 0] + 0.5 * x[:, 1] > 0).long()
    yv = y.clone()
    yv[1::2] = 1 - yv[1::2]  # the val shards disagree
    stop = RestoreBestEarlyStopping(patience=2)
    trainer = pl.Trainer(max_epochs=30, accelerator="cpu", devices=2, strategy="ddp", logger=False,
                         enable_checkpointing=False, enable_progress_bar=False, enable_model_summary=False,
                         num_sanity_val_steps=0, callbacks=[stop])
    module = Module()
    trainer.fit(module, DataLoader(TensorDataset(x, y), batch_size=16), DataLoader(TensorDataset(x, yv), batch_size=16))
    torch.save({"epoch": trainer.current_epoch, "reason": stop.reason, "best": stop.best_epoch,
                "weights": {k: v.clone() for k, v in module.state_dict().items()}},
               os.path.join(out, f"rank{trainer.global_rank}.pt"))
    import torch.distributed as dist

    if dist.is_initialized():  # neither rank tears gloo down while the other still talks to it
        dist.barrier()
        dist.destroy_process_group()


if __name__ == "__main__":
    main()
