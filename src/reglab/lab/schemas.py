"""Validated inputs of the lab's JSON API (pydantic) and the limits every request is held to.

Every request body and query of :mod:`reglab.lab.app` is one of these models, so a value outside
its range is refused with HTTP 422 and a message naming the field, before any training starts.
The limits keep one laptop responsive: a training job is a toy model on at most
:data:`MAX_TRAIN_SIZE` samples for at most :data:`MAX_EPOCHS` epochs, and at most
``LabLimits.max_jobs`` jobs train at once (more get HTTP 429).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Annotated, Any, Literal, Union

from pydantic import BaseModel, ConfigDict, Field, field_validator

__all__ = [
    "MAX_EPOCHS",
    "MAX_TRAIN_SIZE",
    "MAX_WIDTH",
    "MAX_DEPTH",
    "MAX_BATCH_SIZE",
    "GRID_SIZE",
    "DATASETS_2D",
    "DATASETS",
    "LabLimits",
    "OverfitParams",
    "WeightDecayParams",
    "EarlyStoppingParams",
    "OverfitJob",
    "WeightDecayJob",
    "EarlyStoppingJob",
    "McDropoutParams",
    "McDropoutJob",
    "StochasticDepthParams",
    "StochasticDepthJob",
    "DistillationParams",
    "DistillationJob",
    "JobRequest",
    "JobCreated",
    "JobStatus",
    "JobControl",
    "DropoutMaskQuery",
    "MixQuery",
    "AugmentQuery",
    "CodeRequest",
    "PARAMS_BY_DEMO",
]

MAX_EPOCHS = 500
MAX_TRAIN_SIZE = 5000
MAX_WIDTH = 256
MAX_DEPTH = 4
MAX_BATCH_SIZE = 1024
MAX_SEED = 2**31 - 1
MAX_DRAWN_UNITS = 16  # units per layer of the dropout demo's drawn network
GRID_SIZE = 50  # the decision-boundary heatmap is GRID_SIZE x GRID_SIZE points
FINE_GRID_SIZE = 80  # the weight-decay demo's finer grid, where a smoother boundary shows

DATASETS_2D = ("moons", "circles", "spirals", "xor", "blobs")
DATASETS = DATASETS_2D + ("digits", "mnist1d")

Dataset2D = Literal["moons", "circles", "spirals", "xor", "blobs"]
Dataset = Literal["moons", "circles", "spirals", "xor", "blobs", "digits", "mnist1d"]


@dataclass(frozen=True)
class LabLimits:
    """Server-wide limits that are not a property of one request.

    Args:
        max_jobs: training jobs allowed to run at once; one more is refused with HTTP 429.
            Defaults to 4.
        keep_finished: finished jobs kept (their events can still be replayed). Defaults to 64.
        keep_bytes: the most bytes of event text the finished jobs kept may hold together; the
            oldest are forgotten beyond it. Defaults to 64 MiB.
        unwatched_timeout: seconds a job may run before any page subscribes to its events;
            after that it is cancelled. Defaults to 15.0.
    """

    max_jobs: int = 4
    keep_finished: int = 64
    keep_bytes: int = 64 * 2**20
    unwatched_timeout: float = 15.0

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out.update(
            max_epochs=MAX_EPOCHS,
            max_train_size=MAX_TRAIN_SIZE,
            max_width=MAX_WIDTH,
            max_depth=MAX_DEPTH,
            max_batch_size=MAX_BATCH_SIZE,
            grid_size=GRID_SIZE,
        )
        return out


class _Params(BaseModel):
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)


class _TrainParams(_Params):
    train_size: int = Field(default=200, ge=10, le=MAX_TRAIN_SIZE, description="training samples")
    label_noise: float = Field(default=0.0, ge=0.0, le=0.5, description="fraction of train labels flipped")
    width: int = Field(default=64, ge=1, le=MAX_WIDTH, description="hidden units per layer")
    depth: int = Field(default=2, ge=1, le=MAX_DEPTH, description="hidden layers")
    epochs: int = Field(default=100, ge=1, le=MAX_EPOCHS)
    lr: float = Field(default=0.01, gt=0.0, le=1.0, description="Adam learning rate")
    batch_size: int = Field(default=32, ge=1, le=MAX_BATCH_SIZE)
    seed: int = Field(default=0, ge=0, le=MAX_SEED)


class OverfitParams(_TrainParams):
    """Demo 1, overfitting in action: data size, label noise and capacity against the val curve.

    Defaults to 60 moons with 10% of their labels flipped and a 128x3 MLP: on every seed 0-4 the
    validation loss bottoms out within the first 30 epochs and then climbs while the training loss
    keeps falling, and the train-validation accuracy gap turns positive and grows (the model
    memorizes the flipped labels). Validation labels are clean.
    """

    dataset: Dataset = "moons"
    train_size: int = Field(default=60, ge=10, le=MAX_TRAIN_SIZE, description="training samples")
    label_noise: float = Field(default=0.1, ge=0.0, le=0.5, description="fraction of train labels flipped")
    width: int = Field(default=128, ge=1, le=MAX_WIDTH, description="hidden units per layer")
    depth: int = Field(default=3, ge=1, le=MAX_DEPTH, description="hidden layers")
    epochs: int = Field(default=100, ge=1, le=MAX_EPOCHS)
    boundary_every: int = Field(default=5, ge=1, le=MAX_EPOCHS, description="epochs between heatmaps")
    dropout: float = Field(default=0.0, ge=0.0, le=0.8, description="regularized twin: dropout after each hidden layer")
    weight_decay: float = Field(default=0.0, ge=0.0, le=1.0, description="regularized twin: AdamW's decoupled decay")
    patience: int = Field(default=0, ge=0, le=MAX_EPOCHS,
                          description="regularized twin: early stopping patience (0: off), best weights restored")
    augment: float = Field(default=0.0, ge=0.0, le=1.0,
                           description="regularized twin: input jitter std (inputs are standardized)")
    label_smoothing: float = Field(default=0.0, ge=0.0, lt=1.0, description="regularized twin: label smoothing")
    mixup: float = Field(default=0.0, ge=0.0, le=10.0,
                         description="regularized twin: mixup's Beta(alpha, alpha) concentration (0: off)")

    def regularizers(self) -> list[str]:
        """The regularizers switched on, in words (empty: no twin is trained)."""
        out = []
        if self.dropout:
            out.append(f"dropout {self.dropout:g}")
        if self.weight_decay:
            out.append(f"weight decay {self.weight_decay:g}")
        if self.patience:
            out.append(f"early stopping (patience {self.patience})")
        if self.augment:
            out.append(f"input jitter {self.augment:g}")
        if self.label_smoothing:
            out.append(f"label smoothing {self.label_smoothing:g}")
        if self.mixup:
            out.append(f"mixup (alpha {self.mixup:g})")
        return out


class WeightDecayParams(_TrainParams):
    """Demo 3: an L1/L2 penalty's effect on the decision boundary next to an unregularized twin.

    Defaults to 60 moons with 10% of their labels flipped, L2 with lambda 0.003: on every seed 0-4
    the regularized twin ends with a higher validation accuracy than the unregularized one, whose
    boundary bends around the flipped points. Defaults to SGD with momentum 0.9 (as TensorFlow Playground): there an L2 penalty shrinks every
    weight in proportion and L1 drives many to zero. Under Adam the penalty's gradient is rescaled
    per weight, so coupled L2 also zeroes the weights of unused units (Loshchilov & Hutter 2019,
    "Decoupled Weight Decay Regularization", ICLR, arXiv:1711.05101).
    """

    dataset: Dataset2D = "moons"
    penalty: Literal["l2", "l1", "none"] = "l2"
    lam: float = Field(default=0.003, ge=0.0, le=1.0, description="penalty coefficient lambda")
    optimizer: Literal["sgd", "adam"] = Field(default="sgd", description="sgd: momentum 0.9; adam: defaults")
    lr: float = Field(default=0.1, gt=0.0, le=1.0, description="learning rate")
    train_size: int = Field(default=60, ge=10, le=MAX_TRAIN_SIZE, description="training samples")
    label_noise: float = Field(default=0.1, ge=0.0, le=0.5, description="fraction of train labels flipped")
    width: int = Field(default=128, ge=1, le=MAX_WIDTH, description="hidden units per layer")
    depth: int = Field(default=3, ge=1, le=MAX_DEPTH, description="hidden layers")
    epochs: int = Field(default=150, ge=1, le=MAX_EPOCHS)
    zero_tol: float = Field(default=0.001, gt=0.0, le=1.0, description="|w| below this counts as near zero")
    boundary_every: int = Field(default=5, ge=1, le=MAX_EPOCHS, description="epochs between heatmaps")


class EarlyStoppingParams(_TrainParams):
    """Demo 4: early stopping's patience/min_delta, the best epoch and the restored model.

    Defaults to 60 spiral points with 10% of their labels flipped and patience 20: the validation
    loss has one clear minimum and then climbs, so on every seed 0-4 the restored epoch is the best
    epoch of the whole run (``continue_past_stop`` shows it: nothing later beats it).
    """

    dataset: Dataset = "spirals"
    lr: float = Field(default=0.01, gt=0.0, le=1.0, description="Adam learning rate")
    train_size: int = Field(default=60, ge=10, le=MAX_TRAIN_SIZE, description="training samples")
    label_noise: float = Field(default=0.1, ge=0.0, le=0.5, description="fraction of train labels flipped")
    width: int = Field(default=128, ge=1, le=MAX_WIDTH, description="hidden units per layer")
    depth: int = Field(default=3, ge=1, le=MAX_DEPTH, description="hidden layers")
    epochs: int = Field(default=100, ge=1, le=MAX_EPOCHS, description="maximum epochs")
    patience: int = Field(default=20, ge=0, le=MAX_EPOCHS)
    min_delta: float = Field(default=0.0, ge=0.0, le=10.0)
    continue_past_stop: bool = Field(
        default=False, description="keep training past the stop to show what would have happened"
    )


class McDropoutParams(_TrainParams):
    """MC dropout: a dropout MLP's predictive mean and spread over the 2-D plane.

    After training, ``samples`` forward passes with dropout left on (Gal & Ghahramani 2016,
    "Dropout as a Bayesian Approximation", ICML, arXiv:1506.02142) give per grid cell the mean
    P(class 1) and its standard deviation over the passes: the spread is large where the data did
    not pin the model down. Defaults to 200 moons, dropout 0.3, 100 passes.
    """

    dataset: Literal["moons", "circles", "xor", "spirals"] = "moons"
    train_size: int = Field(default=200, ge=10, le=MAX_TRAIN_SIZE, description="training samples")
    dropout: float = Field(default=0.3, gt=0.0, le=0.8, description="dropout after each hidden layer")
    samples: int = Field(default=100, ge=2, le=500, description="stochastic forward passes per grid cell")
    epochs: int = Field(default=80, ge=1, le=MAX_EPOCHS)


class StochasticDepthParams(_TrainParams):
    """Stochastic depth: a residual MLP of ``blocks`` blocks, deeper blocks dropped more often.

    Defaults to 8 blocks of width 64 and a last-block drop rate of 0.5 (linear schedule), on 60
    moons with 10% of their labels flipped, beside the same net without drops.
    """

    dataset: Dataset2D = "moons"
    train_size: int = Field(default=60, ge=10, le=MAX_TRAIN_SIZE, description="training samples")
    label_noise: float = Field(default=0.1, ge=0.0, le=0.5, description="fraction of train labels flipped")
    width: int = Field(default=64, ge=1, le=MAX_WIDTH, description="units per block")
    blocks: int = Field(default=8, ge=1, le=16, description="residual blocks")
    max_rate: float = Field(default=0.5, ge=0.0, le=0.9, description="drop rate of the last block (linear schedule)")
    epochs: int = Field(default=100, ge=1, le=MAX_EPOCHS)


class DistillationParams(_Params):
    """Knowledge distillation: a teacher on ``teacher_size`` points, two small students on
    ``train_size`` of them (10% flipped), with and without the teacher's soft targets."""

    dataset: Dataset2D = "spirals"
    teacher_size: int = Field(default=600, ge=10, le=MAX_TRAIN_SIZE, description="the teacher's training points")
    teacher_epochs: int = Field(default=60, ge=1, le=MAX_EPOCHS)
    train_size: int = Field(default=60, ge=10, le=MAX_TRAIN_SIZE, description="the students' training points")
    label_noise: float = Field(default=0.1, ge=0.0, le=0.5, description="fraction of the students' labels flipped")
    student_width: int = Field(default=32, ge=1, le=MAX_WIDTH, description="the student's hidden units (1 layer)")
    temperature: float = Field(default=4.0, gt=0.0, le=50.0, description="softmax temperature T of the soft targets")
    alpha: float = Field(default=0.9, ge=0.0, le=1.0, description="weight of the T^2-scaled soft term")
    epochs: int = Field(default=300, ge=1, le=MAX_EPOCHS, description="the students' epochs")
    lr: float = Field(default=0.03, gt=0.0, le=1.0, description="Adam learning rate")
    batch_size: int = Field(default=32, ge=1, le=MAX_BATCH_SIZE)
    seed: int = Field(default=0, ge=0, le=MAX_SEED)


PARAMS_BY_DEMO: dict[str, type[_Params]] = {
    "overfit": OverfitParams,
    "weight_decay": WeightDecayParams,
    "early_stopping": EarlyStoppingParams,
    "mc_dropout": McDropoutParams,
    "stochastic_depth": StochasticDepthParams,
    "distillation": DistillationParams,
}


class OverfitJob(_Params):
    """A training job of the overfitting demo."""

    demo: Literal["overfit"]
    params: OverfitParams = Field(default_factory=OverfitParams)


class WeightDecayJob(_Params):
    """A training job of the weight-decay demo."""

    demo: Literal["weight_decay"]
    params: WeightDecayParams = Field(default_factory=WeightDecayParams)


class EarlyStoppingJob(_Params):
    """A training job of the early-stopping demo."""

    demo: Literal["early_stopping"]
    params: EarlyStoppingParams = Field(default_factory=EarlyStoppingParams)


class McDropoutJob(_Params):
    """A training job of the MC dropout demo."""

    demo: Literal["mc_dropout"]
    params: McDropoutParams = Field(default_factory=McDropoutParams)


class StochasticDepthJob(_Params):
    """A training job of the stochastic depth demo."""

    demo: Literal["stochastic_depth"]
    params: StochasticDepthParams = Field(default_factory=StochasticDepthParams)


class DistillationJob(_Params):
    """A training job of the distillation demo."""

    demo: Literal["distillation"]
    params: DistillationParams = Field(default_factory=DistillationParams)


JobRequest = Annotated[Union[OverfitJob, WeightDecayJob, EarlyStoppingJob, McDropoutJob, StochasticDepthJob,
                             DistillationJob], Field(discriminator="demo")]


class JobCreated(BaseModel):
    id: str
    demo: str
    params: dict[str, Any]
    events: str  # URL of the event stream


class JobStatus(BaseModel):
    id: str
    demo: str
    state: Literal["running", "done", "error", "cancelled"]
    events: int  # events emitted so far
    error: str | None = None
    paused: bool = False


class JobControl(_Params):
    """``POST /api/jobs/{id}/control``: pause after the current epoch, resume, or train one more epoch."""

    action: Literal["pause", "resume", "step"]


class DropoutMaskQuery(_Params):
    """Demo 2: one real dropout mask over a small drawn network."""

    p: float = Field(default=0.5, ge=0.0, lt=1.0, description="drop probability")
    seed: int = Field(default=0, ge=0, le=MAX_SEED)
    mode: Literal["train", "eval"] = "train"
    scaling: Literal["inverted", "classic"] = Field(
        default="inverted",
        description="inverted: scale kept units by 1/(1-p) in training; classic: scale by (1-p) at inference",
    )
    layers: str = Field(
        default="4,8,8,2",
        pattern=r"^\d{1,2}(,\d{1,2}){1,5}$",
        description="units per layer, comma-separated (2 to 6 layers of 1 to 16 units)",
    )
    samples: int = Field(default=2000, ge=2, le=20000, description="masks averaged for the expectation panel")

    @field_validator("layers")
    @classmethod
    def _layer_sizes(cls, value: str) -> str:
        sizes = [int(s) for s in value.split(",")]
        if any(not 1 <= s <= MAX_DRAWN_UNITS for s in sizes):
            raise ValueError(f"every layer needs 1 to {MAX_DRAWN_UNITS} units, got {value}")
        return value

    def sizes(self) -> list[int]:
        return [int(s) for s in self.layers.split(",")]


class MixQuery(_Params):
    """Demo 5: two digits mixed by mixup or CutMix, and label-smoothed targets."""

    method: Literal["mixup", "cutmix"] = "mixup"
    alpha: float = Field(default=1.0, gt=0.0, le=10.0, description="Beta(alpha, alpha); 1.0: lambda uniform")
    smoothing: float = Field(default=0.1, ge=0.0, lt=1.0)
    seed: int = Field(default=0, ge=0, le=MAX_SEED)


class AugmentQuery(_Params):
    """The augmentation view: original training samples beside augmented copies."""

    dataset: Literal["moons", "mnist1d", "digits"] = "moons"
    strength: float = Field(default=0.3, ge=0.0, le=1.0,
                            description="moons: jitter std; mnist1d: shift of up to 10x this; digits: crop of up to 2x this")
    seed: int = Field(default=0, ge=0, le=MAX_SEED)


class CodeRequest(_Params):
    """``POST /api/code``: the "copy as code" snippet of a demo's settings."""

    demo: Literal["overfit", "weight_decay", "early_stopping", "dropout", "mixup"]
    params: dict[str, Any] = Field(default_factory=dict)
