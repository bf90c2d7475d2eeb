"""A small user script that mypy checks against reglab's inline types (py.typed)."""

from __future__ import annotations

import torch
from torch import nn

import reglab.functional as RF
from reglab.nn import DropPath, Dropout
from reglab.penalties import param_groups
from reglab.training import EarlyStopping, History, Trainer

model: nn.Module = nn.Sequential(nn.Linear(4, 8), Dropout(0.1), DropPath(0.1), nn.Linear(8, 2))
optimizer = torch.optim.AdamW(param_groups(model, weight_decay=0.01), lr=1e-3)
x: torch.Tensor = RF.dropout(torch.ones(2, 4), 0.5, training=True)
loader = [(torch.randn(8, 4), torch.randint(0, 2, (8,)))]
stop = EarlyStopping(monitor="val_loss", patience=3)
history: History = Trainer(model, optimizer, train_loader=loader, val_loader=loader, epochs=1, callbacks=[stop]).fit()
best: int | None = history.best_epoch
