""""Copy as code": a short PyTorch + reglab script that reproduces a demo's current settings.

The training snippets build the data, model, optimizer and Trainer in the same order and with
the same seeds as the lab's own demo code (:mod:`reglab.lab.demos`), so running a snippet prints
the numbers the page showed.
"""

from __future__ import annotations

from typing import Any

from reglab.lab.schemas import (
    DropoutMaskQuery,
    EarlyStoppingParams,
    MixQuery,
    OverfitParams,
    WeightDecayParams,
)

__all__ = ["snippet", "PARAMS"]

PARAMS: dict[str, type] = {
    "overfit": OverfitParams,
    "weight_decay": WeightDecayParams,
    "early_stopping": EarlyStoppingParams,
    "dropout": DropoutMaskQuery,
    "mixup": MixQuery,
}


def snippet(demo: str, params: dict[str, Any] | None = None) -> str:
    """The script for ``demo`` with ``params`` (validated; defaults fill the rest).

    Raises ``pydantic.ValidationError`` for invalid params and ``ValueError`` for an unknown demo.
    """
    from reglab._validate import check_choice

    check_choice("demo", demo, PARAMS)
    p = PARAMS[demo].model_validate(params or {})
    return {"overfit": _overfit, "weight_decay": _weight_decay, "early_stopping": _early_stopping,
            "dropout": _dropout, "mixup": _mixup}[demo](p)


def _data_and_model(p: Any) -> str:
    return (
        f"splits = reglab.data.load({p.dataset!r}, seed={p.seed}, train_size={p.train_size}, "
        f"label_noise={p.label_noise!r})\n"
        f"torch.manual_seed({p.seed})  # the initial weights\n"
        f'model = reglab.models.build("mlp", splits.info.input_shape, splits.info.num_classes, '
        f"width={p.width}, depth={p.depth})\n"
    )


def _loop(p: Any, model: str = "model", extra: str = "", indent: str = "") -> str:
    if getattr(p, "optimizer", "adam") == "sgd":
        optimizer = f"torch.optim.SGD({model}.parameters(), lr={p.lr!r}, momentum=0.9)"
    else:
        optimizer = f"torch.optim.Adam({model}.parameters(), lr={p.lr!r})"
    return (
        f"{indent}train_loader, val_loader, _ = splits.loaders({p.batch_size}, seed={p.seed})\n"
        f"{indent}optimizer = {optimizer}\n"
        f"{indent}trainer = Trainer({model}, optimizer, train_loader=train_loader, val_loader=val_loader,\n"
        f"{indent}                  epochs={p.epochs}, seed={p.seed}{extra})\n"
        f"{indent}history = trainer.fit().to_dict()\n"
    )


_HEADER = "import torch\n\nimport reglab.data\nimport reglab.models\n"


def _overfit(p: OverfitParams) -> str:
    return (
        f"# reglab lab, overfitting in action: {p.dataset}, {p.train_size} training samples, "
        f"{p.label_noise:.0%} label noise, MLP {p.width}x{p.depth}\n"
        + (f"# (the page also trains a regularized twin with {', '.join(p.regularizers())}; this script trains the "
           "unregularized model)\n" if p.regularizers() else "")
        + _HEADER
        + "from reglab.analysis import diagnose\nfrom reglab.training import Trainer\n\n"
        + "torch.set_num_threads(1)\n"
        + _data_and_model(p)
        + _loop(p)
        + 'print("best epoch:", history["best_epoch"], "final val_acc:", history["val_acc"][-1])\n'
        + "print(diagnose(history, num_classes=splits.info.num_classes).sentence)\n"
    )


def _weight_decay(p: WeightDecayParams) -> str:
    if p.penalty == "none" or p.lam == 0.0:
        penalty = "penalty = None  # no regularization: both models train the same way\n"
        penalties = "()"
        imports = ""
    else:
        fn = f"{p.penalty}_penalty"
        imports = f"from reglab.penalties import {fn}\n"
        penalty = (
            f"lam = {p.lam!r}\n\n\n"
            "def penalty(model: torch.nn.Module) -> torch.Tensor:\n"
            f"    return lam * {fn}([w for w in model.parameters() if w.dim() >= 2])  # weights, not biases\n\n\n"
        )
        penalties = "(penalty,)"
    return (
        f"# reglab lab, weight decay: {p.penalty} penalty (lambda={p.lam!r}) vs none on {p.dataset}\n"
        "import copy\n\n" + _HEADER + imports
        + "from reglab.training import Trainer\n\n"
        + "torch.set_num_threads(1)\n"
        + _data_and_model(p)
        + "baseline = copy.deepcopy(model)  # the same initial weights, unregularized\n"
        + penalty
        + f'for name, net, penalties in (("{p.penalty}", model, {penalties}), ("none", baseline, ())):\n'
        + _loop(p, model="net", extra=",\n                      penalties=penalties", indent="    ")
        + "    w = torch.cat([t.detach().flatten() for t in net.parameters() if t.dim() >= 2])\n"
        + f'    print(f"{{name}}: val_acc={{history[\'val_acc\'][-1]:.3f}} weight norm={{w.norm():.3f}} '
        + f'near zero={{int((w.abs() < {p.zero_tol!r}).sum())}}/{{w.numel()}}")\n'
    )


def _early_stopping(p: EarlyStoppingParams) -> str:
    stopper = (
        f'stopper = EarlyStopping(monitor="val_loss", mode="min", patience={p.patience}, '
        f"min_delta={p.min_delta!r}, restore_best=True)\n"
    )
    code = (
        f"# reglab lab, early stopping: patience {p.patience}, min_delta {p.min_delta!r}, "
        f"at most {p.epochs} epochs on {p.dataset}\n"
        + _HEADER
        + "from reglab.training import EarlyStopping, Trainer\n\n"
        + "torch.set_num_threads(1)\n"
        + _data_and_model(p)
        + stopper
        + _loop(p, extra=", callbacks=[stopper]")
        + 'print("stopped at epoch", history["stopped_epoch"], "best epoch", history["best_epoch"])\n'
        + 'print("restored model:", trainer.evaluate(val_loader))  # the best epoch\'s weights\n'
    )
    if p.continue_past_stop:
        code += (
            "\n# What would have happened: the same seed trained for every epoch, no early stopping.\n"
            + _data_and_model(p)
            + _loop(p)
            + 'print("val_loss at the last epoch:", history["val_loss"][-1])\n'
        )
    return code


def _dropout(p: DropoutMaskQuery) -> str:
    n = p.sizes()[1] if len(p.sizes()) > 2 else p.sizes()[0]
    return (
        f"# reglab lab, dropout: p={p.p!r}, {p.scaling} scaling, {p.mode} mode\n"
        "import torch\n\nfrom reglab.functional import dropout\n\n"
        f"generator = torch.Generator().manual_seed({p.seed})\n"
        f"units = torch.ones({n})\n"
        f'print("training: ", dropout(units, {p.p!r}, {p.scaling!r}, training=True, generator=generator))\n'
        f'print("inference:", dropout(units, {p.p!r}, {p.scaling!r}, training=False))\n\n'
        "# The expected training activation equals the inference activation:\n"
        f"activation = torch.linspace(0.2, 1.0, {n})\n"
        f"masks = dropout(activation.expand({p.samples}, {n}), {p.p!r}, {p.scaling!r}, training=True,\n"
        f"                generator=torch.Generator().manual_seed({p.seed + 1}))\n"
        'print("mean over masks:", masks.mean(dim=0))\n'
        f'print("inference:      ", dropout(activation, {p.p!r}, {p.scaling!r}, training=False))\n'
    )


def _mixup(p: MixQuery) -> str:
    return (
        f"# reglab lab, {p.method} (alpha={p.alpha!r}) and label smoothing {p.smoothing!r} on digits\n"
        "import torch\n\nimport reglab.data\n"
        f"from reglab.augment import {p.method}\n"
        "from reglab.losses import label_smoothing_cross_entropy\n\n"
        'splits = reglab.data.load("digits", seed=0)\n'
        f"idx = torch.randperm(len(splits.x_train), generator=torch.Generator().manual_seed({p.seed}))[:6]\n"
        "x, y = splits.x_train[idx].reshape(6, 1, 8, 8), splits.y_train[idx]\n"
        f"mixed, soft = {p.method}(x, y, alpha={p.alpha!r}, num_classes=10,\n"
        f"{' ' * (len(p.method) + 15)}generator=torch.Generator().manual_seed({p.seed}))\n"
        'print("labels:", y.tolist())\n'
        'print("soft targets:", soft)\n'
        f'print("smoothed:", (1 - {p.smoothing!r}) * soft + {p.smoothing!r} / 10)\n'
        "logits = torch.zeros(6, 10)\n"
        f'print("loss at uniform logits:", label_smoothing_cross_entropy(logits, soft, {p.smoothing!r}))\n'
    )
