"""One rank of the DDP test (run by tests/training/test_trainer_ddp.py as a subprocess).

Usage: python ddp_worker.py RANK WORLD PORT OUT_DIR
"""

from __future__ import annotations

import os
import sys

import torch
import torch.distributed as dist
from torch import nn
from torch.nn.parallel import DistributedDataParallel
from torch.utils.data import DataLoader, DistributedSampler, TensorDataset

from reglab.training import EarlyStopping, Trainer


class RecordingSampler(DistributedSampler):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.epochs: list[int] = []

    def set_epoch(self, epoch: int) -> None:
        self.epochs.append(epoch)
        super().set_epoch(epoch)


def main() -> None:
    rank, world, port, out = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3], sys.argv[4]
    torch.set_num_threads(1)
    os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=port)
    dist.init_process_group("gloo", rank=rank, world_size=world)
    g = torch.Generator().manual_seed(0)
    x = torch.randn(64, 6, generator=g)
    y = (x[:, 0] + 0.5 * x[:, 1] > 0).long()
    # Validation: rank 1's shard has flipped labels, so the ranks' own losses disagree.
    xv = torch.randn(32, 6, generator=g)
    yv = (xv[:, 0] > 0).long()
    yv[1::2] = 1 - yv[1::2]
    torch.manual_seed(0)
    model = DistributedDataParallel(nn.Sequential(nn.Linear(6, 16), nn.ReLU(), nn.Linear(16, 2)))
    sampler = RecordingSampler(TensorDataset(x, y), num_replicas=world, rank=rank, shuffle=True, seed=0)
    train = DataLoader(TensorDataset(x, y), batch_size=8, sampler=sampler)
    val = DataLoader(TensorDataset(xv, yv), batch_size=8,
                     sampler=DistributedSampler(TensorDataset(xv, yv), num_replicas=world, rank=rank, shuffle=False))
    stop = EarlyStopping(monitor="val_loss", patience=2)
    trainer = Trainer(model, torch.optim.SGD(model.parameters(), lr=0.5), train_loader=train, val_loader=val,
                      epochs=30, callbacks=[stop], seed=0)
    history = trainer.fit()
    torch.save({"stopped": history.stopped_epoch, "best": history.best_epoch, "reason": history.stop_reason,
                "val_loss": history.val_loss, "epochs": sampler.epochs,
                "weights": {k: v.clone() for k, v in model.module.state_dict().items()}},
               os.path.join(out, f"rank{rank}.pt"))
    dist.barrier()  # neither rank tears gloo down while the other still talks to it (an abort at exit)
    dist.destroy_process_group()


if __name__ == "__main__":
    main()
