"""Apply regularizers to a model reglab did not build: set or insert dropout, set DropPath rates.

>>> from torch import nn
>>> model = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 2))
>>> model = insert_dropout(model, 0.2)
>>> set_dropout_rate(model, 0.1)
1

The rules a study applies to a user's model (:func:`retrofit`, one sentence per rule applied is
stored with each run in ``final["retrofit"]`` and shown by the report):

* ``dropout=p`` (Srivastava et al. 2014) sets ``p`` on every existing dropout module
  (:func:`set_dropout_rate`: torch's and reglab's dropout family, so a ``forward`` that reads
  ``self.dropout.p`` sees it too), on float rate attributes of the model's own modules
  (``dropout``, ``attention_dropout``, ``dropout_prob`` ... as Hugging Face attention modules
  keep them) and on the dropout fields of a Hugging Face-style ``model.config``
  (:data:`CONFIG_DROPOUT_FIELDS`, so ``save_pretrained`` keeps the rate). A model without any
  dropout module gets a :class:`reglab.nn.Dropout` after each activation module that feeds a
  Linear layer (the next leaf module run after it, traced on a probe batch, or in registration
  order without one); the sentence names those activations. A model with neither stops with a
  ``ValueError`` naming it.
* ``drop_path=p`` (Huang et al. 2016) sets the rates of the existing DropPath/stochastic-depth
  modules (reglab's ``DropPath``, timm-style classes named ``...DropPath`` with ``drop_prob``,
  torchvision-style ``StochasticDepth`` with ``p``) with the linear depth rule
  (:func:`reglab.functional.drop_path_rates`: 0 for the first, ``p`` for the deepest, in module
  order), and ``config.drop_path_rate`` when there is one. A model without such modules stops
  with a ``ValueError`` naming it ("no residual blocks found"): reglab cannot find where the
  residual branches are.
* A rate of 0 leaves the model as its factory built it: the baseline of a user's model is that
  model, with its own dropout (the sentence says which modules keep which rates).

The other arms need no change to the model: weight decay goes through
:func:`reglab.penalties.param_groups` (no decay on biases, norms and embeddings), and label
smoothing, mixup/CutMix, input noise, max-norm, clipping and early stopping act on the loss, the
batch or the loop of any classifier.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from numbers import Real

import torch
from torch import nn

from reglab._validate import check_choice, check_probability
from reglab.errors import invalid_argument
from reglab.functional.drop_path import drop_path_rates
from reglab.functional.dropout import DROPOUT_MODES
from reglab.nn import AlphaDropout, Dropout, DropPath, GaussianDropout
from reglab.nn.stochastic import DROPOUT_FAMILY

__all__ = [
    "DropoutAfter", "dropout_modules", "set_dropout_rate", "insert_dropout", "is_activation",
    "drop_path_modules", "set_drop_path_rate", "retrofit", "CONFIG_DROPOUT_FIELDS", "ACTIVATION_TYPES",
]

#: Dropout-rate fields of Hugging Face-style ``config`` objects (BERT, RoBERTa, GPT-2, BART, T5,
#: DistilBERT, ViT, ...). Only fields holding a number are changed (``classifier_dropout=None``
#: means "use hidden_dropout_prob" and stays None).
CONFIG_DROPOUT_FIELDS = (
    "hidden_dropout_prob", "attention_probs_dropout_prob", "classifier_dropout", "dropout",
    "attention_dropout", "activation_dropout", "hidden_dropout", "classifier_dropout_prob",
    "attn_pdrop", "resid_pdrop", "embd_pdrop", "summary_first_dropout", "dropout_rate",
    "seq_classif_dropout", "qa_dropout", "final_dropout", "feat_proj_dropout",
)

#: Float attributes of a model's own modules that hold a rate applied in ``forward``
#: (``F.dropout(x, self.dropout)``, Hugging Face attention's ``self.attention_dropout``).
_RATE_ATTRIBUTES = ("dropout", "dropout_p", "dropout_prob", "attention_dropout", "attn_dropout",
                    "activation_dropout", "hidden_dropout")

#: Activation modules :func:`insert_dropout` follows by default, besides every class defined in
#: ``transformers.activations`` (``GELUActivation``, ``NewGELUActivation``, ...).
ACTIVATION_TYPES: tuple[type[nn.Module], ...] = (
    nn.ReLU, nn.ReLU6, nn.GELU, nn.SiLU, nn.Tanh, nn.Sigmoid, nn.ELU, nn.SELU, nn.CELU, nn.LeakyReLU,
    nn.PReLU, nn.Mish, nn.Hardswish, nn.Hardtanh, nn.Softplus, nn.GLU,
)

# reglab modules whose rate must stay below 1 (their math divides by 1 - p or needs p < 1).
_RATE_BELOW_ONE = (GaussianDropout, AlphaDropout)


class DropoutAfter(nn.Sequential):
    """``nn.Sequential(module, dropout)`` made by :func:`insert_dropout` (so it can recognise it)."""


def _check_types(name: str, types: object) -> tuple[type[nn.Module], ...]:
    if isinstance(types, type):
        types = (types,)
    if (
        not isinstance(types, Iterable)
        or isinstance(types, str)
        or not (types := tuple(types))  # type: ignore[assignment]
        or not all(isinstance(t, type) and issubclass(t, nn.Module) for t in types)
    ):
        raise ValueError(invalid_argument(name, "a non-empty tuple of torch.nn.Module subclasses", types))
    return types  # type: ignore[return-value]


def dropout_modules(
    model: nn.Module, types: Iterable[type[nn.Module]] | None = None
) -> list[tuple[str, nn.Module]]:
    """``(qualified name, module)`` of every dropout-family module in ``model`` (itself included).

    Args:
        model: any module.
        types: the module classes to find. Defaults to None: ``reglab.nn.DROPOUT_FAMILY`` —
            torch's ``nn.Dropout``, ``Dropout1d/2d/3d``, ``AlphaDropout``, ``FeatureAlphaDropout``
            and reglab's ``Dropout``, ``SpatialDropout``, ``GaussianDropout``, ``AlphaDropout``,
            ``LockedDropout``, ``DropConnect``. ``DropPath`` and ``DropBlock2d`` have their own
            per-depth/ramped rates and are only included when named here.
    """
    wanted = DROPOUT_FAMILY if types is None else _check_types("types", types)
    return [(name, module) for name, module in model.named_modules() if isinstance(module, wanted)]


def set_dropout_rate(
    model: nn.Module, p: float, types: Iterable[type[nn.Module]] | None = None
) -> int:
    """Set ``p`` on every dropout-family module of ``model``; return how many were changed.

    Used by rate schedules (e.g. early dropout, DropBlock's linear ramp). The rate is checked
    against every module first, so either all modules change or none: ``p = 1`` is refused when
    the model holds a ``GaussianDropout`` or ``AlphaDropout`` (their rate must be below 1).

    With ``types=None`` it also sets the float rate attributes of the model's own modules
    (``dropout``, ``attention_dropout``, ``dropout_prob`` ... of classes outside reglab, counted
    in the result) and the numeric dropout fields of a Hugging Face-style ``model.config``
    (:data:`CONFIG_DROPOUT_FIELDS`), so ``save_pretrained``/``from_pretrained`` keep the rate.

    Args:
        model: any module.
        p: the new rate, in [0, 1].
        types: which module classes to change; see :func:`dropout_modules`. Defaults to None
            (the dropout family).
    """
    p = check_probability("p", p)
    found = [module for _, module in dropout_modules(model, types)]
    if p == 1.0 and any(isinstance(m, _RATE_BELOW_ONE) for m in found):
        check_probability("p", p, allow_one=False)
    for module in found:
        module.p = p
    if types is not None:
        return len(found)
    attributes = _rate_attributes(model)
    for module, attr in attributes:
        setattr(module, attr, p)
    _set_config_fields(model, p)
    return len(found) + len(attributes)


def _rate_attributes(model: nn.Module) -> list[tuple[nn.Module, str]]:
    """(module, attribute) of float rate attributes of the model's own (non-reglab) modules."""
    found = []
    for module in model.modules():
        if isinstance(module, DROPOUT_FAMILY) or type(module).__module__.startswith("reglab."):
            continue
        for attr in _RATE_ATTRIBUTES:
            value = vars(module).get(attr)
            if isinstance(value, float) and 0.0 <= value <= 1.0:
                found.append((module, attr))
    return found


def _config_fields(model: nn.Module) -> list[str]:
    config = getattr(model, "config", None)
    if config is None:
        return []
    return [f for f in CONFIG_DROPOUT_FIELDS
            if isinstance(getattr(config, f, None), Real) and not isinstance(getattr(config, f), bool)]


def _set_config_fields(model: nn.Module, p: float) -> list[str]:
    """Set the numeric dropout fields of ``model.config`` (Hugging Face style); return their names."""
    fields = _config_fields(model)
    for f in fields:
        setattr(model.config, f, p)
    return fields


def is_activation(module: nn.Module) -> bool:
    """Whether ``module`` is an activation: one of :data:`ACTIVATION_TYPES` or a class defined in
    ``transformers.activations`` (Hugging Face models use ``GELUActivation``, not ``nn.GELU``)."""
    return isinstance(module, ACTIVATION_TYPES) or type(module).__module__ == "transformers.activations"


def insert_dropout(
    model: nn.Module,
    p: float,
    after: Iterable[type[nn.Module]] | None = None,
    mode: str = "inverted",
) -> nn.Module:
    """Put a :class:`reglab.nn.Dropout` after every activation module of the given types.

    Each matching child is replaced, in place, by ``DropoutAfter(activation, Dropout(p, mode))``.
    Activations already followed by a dropout-family module in an ``nn.Sequential``, and those
    wrapped by an earlier call, are left alone, so calling it twice inserts nothing new (change
    rates with :func:`set_dropout_rate`). Activations applied as functions in ``forward``
    (``F.relu``) are invisible to it. The state dict of a wrapped module gains a ``.0`` in its
    keys, so wrap only parameter-free modules if checkpoints must still load.

    Args:
        model: the model to modify (modified in place and returned).
        p: the dropout rate, in [0, 1].
        after: the activation classes to follow. Defaults to None: every activation
            (:func:`is_activation`: torch's activations and Hugging Face's ``GELUActivation``
            and the other classes of ``transformers.activations``).
        mode: ``"inverted"`` or ``"classic"`` (see :func:`reglab.functional.dropout`).
            Defaults to ``"inverted"``.

    Returns:
        ``model`` (or a new ``DropoutAfter`` when ``model`` itself is such an activation).
    """
    p = check_probability("p", p)
    mode = check_choice("mode", mode, DROPOUT_MODES)
    if after is None:
        matches: Callable[[nn.Module], bool] = is_activation
    else:
        types = _check_types("after", after)
        matches = lambda m: isinstance(m, types)  # noqa: E731
    if matches(model):
        return DropoutAfter(model, Dropout(p, mode))
    _insert(model, p, matches, mode)
    return model


def _insert(parent: nn.Module, p: float, matches: Callable[[nn.Module], bool], mode: str,
            prefix: str = "", only: set[str] | None = None) -> None:
    children = list(parent.named_children())
    for i, (name, child) in enumerate(children):
        if isinstance(child, DropoutAfter):
            continue
        qualified = f"{prefix}{name}"
        if matches(child) and (only is None or qualified in only):
            followed = (
                isinstance(parent, nn.Sequential)
                and i + 1 < len(children)
                and isinstance(children[i + 1][1], DROPOUT_FAMILY)
            )
            if not followed:
                setattr(parent, name, DropoutAfter(child, Dropout(p, mode)))
        else:
            _insert(child, p, matches, mode, f"{qualified}.", only)


def _leaf_order(model: nn.Module, probe: torch.Tensor | None) -> list[str]:
    """Names of the leaf modules in the order ``forward`` runs them on ``probe`` (eval mode, no
    gradient, global RNG untouched); registration order when ``probe`` is None or fails."""
    leaves = [(n, m) for n, m in model.named_modules() if not any(True for _ in m.children())]
    if probe is None:
        return [n for n, _ in leaves]
    order: list[str] = []
    handles = [m.register_forward_hook(lambda *_, name=n: order.append(name)) for n, m in leaves]
    was_training = model.training
    model.eval()
    try:
        with torch.no_grad(), torch.random.fork_rng(devices=[]):
            model(probe)
    except Exception:  # noqa: BLE001 - the caller's probe check reports a failing forward
        order = [n for n, _ in leaves]
    finally:
        model.train(was_training)
        for h in handles:
            h.remove()
    return order


def _activations_feeding_linear(model: nn.Module, probe: torch.Tensor | None) -> list[str]:
    modules = dict(model.named_modules())
    order = _leaf_order(model, probe)
    found: list[str] = []
    for name, following in zip(order, order[1:]):
        if is_activation(modules[name]) and isinstance(modules[following], nn.Linear) and name not in found:
            found.append(name)
    return found


# ----------------------------------------------------------------------------- drop path

def drop_path_modules(model: nn.Module) -> list[tuple[str, nn.Module, str]]:
    """``(name, module, rate attribute)`` of the stochastic-depth modules of ``model``, in module
    order: reglab's :class:`reglab.nn.DropPath` (``p``), classes whose name ends in ``DropPath``
    with ``drop_prob`` (timm) or ``p``, and classes named ``StochasticDepth`` with ``p``
    (torchvision)."""
    found: list[tuple[str, nn.Module, str]] = []
    for name, module in model.named_modules():
        cls = type(module).__name__
        if isinstance(module, DropPath):
            found.append((name, module, "p"))
        elif cls.endswith("DropPath") or cls == "StochasticDepth":
            for attr in ("drop_prob", "p"):
                if isinstance(getattr(module, attr, None), Real):
                    found.append((name, module, attr))
                    break
    return found


def set_drop_path_rate(model: nn.Module, p: float, schedule: str = "linear") -> list[tuple[str, float]]:
    """Set the rates of every stochastic-depth module of ``model`` with the depth rule.

    Args:
        model: any module.
        p: the deepest block's rate, in [0, 1].
        schedule: ``"linear"`` (Huang et al. 2016: 0 for the first block up to ``p`` for the
            last, in module order) or ``"uniform"``. Defaults to ``"linear"``.

    Returns:
        ``(module name, rate)`` per module set (empty when the model has none). A Hugging
        Face-style ``config.drop_path_rate`` is set to ``p`` as well.
    """
    p = check_probability("p", p)
    found = drop_path_modules(model)
    if not found:
        return []
    rates = drop_path_rates(p, len(found), schedule)
    for (_, module, attr), rate in zip(found, rates):
        setattr(module, attr, rate)
    config = getattr(model, "config", None)
    if config is not None and isinstance(getattr(config, "drop_path_rate", None), Real):
        config.drop_path_rate = p
    return [(name, rate) for (name, _, _), rate in zip(found, rates)]


# ----------------------------------------------------------------------------- a study's rules

def _names(names: Sequence[str], limit: int = 12) -> str:
    shown = ", ".join(n or "(the model itself)" for n in names[:limit])
    return shown + (f" and {len(names) - limit} more" if len(names) > limit else "")


def _p(module: nn.Module) -> float:
    return float(getattr(module, "p"))


def _rates(values: Iterable[float]) -> str:
    return "/".join(f"{v:g}" for v in dict.fromkeys(values))


def retrofit(model: nn.Module, *, dropout: float = 0.0, drop_path: float = 0.0, name: str = "model",
             probe: torch.Tensor | None = None) -> tuple[nn.Module, list[str]]:
    """Apply a study arm's ``dropout`` and ``drop_path`` to a model reglab did not build.

    The rules are the module docstring's. The model is changed in place.

    Args:
        model: the user's model.
        dropout: the arm's dropout rate, in [0, 1); 0 leaves the model's dropout as built.
            Defaults to 0.
        drop_path: the deepest block's drop-path rate, in [0, 1); 0 leaves it as built.
            Defaults to 0.
        name: how messages and sentences name the model (its import string). Defaults to
            ``"model"``.
        probe: a small input batch used to find which activations feed a Linear layer (the
            order ``forward`` runs the modules). Defaults to None: registration order.

    Returns:
        ``(model, sentences)``: the model and one sentence per rule applied.

    Raises:
        ValueError: ``drop_path > 0`` on a model without stochastic-depth modules, or
            ``dropout > 0`` on a model without dropout modules nor activations feeding a Linear.
    """
    dropout = check_probability("dropout", dropout, allow_one=False)
    drop_path = check_probability("drop_path", drop_path, allow_one=False)
    notes: list[str] = []
    existing = dropout_modules(model)
    if dropout > 0 and existing:
        before = _rates(_p(m) for _, m in existing)
        attributes = _rate_attributes(model)
        set_dropout_rate(model, dropout)
        text = (f"dropout={dropout:g}: set the rate of the model's {len(existing)} dropout module"
                f"{'s' if len(existing) != 1 else ''} ({_names([n for n, _ in existing])}) from {before} "
                f"to {dropout:g}")
        if attributes:
            owners = {id(m): n for n, m in model.named_modules()}
            text += (f"; also the rate attribute{'s' if len(attributes) != 1 else ''} "
                     + _names([f"{owners[id(m)] or 'model'}.{a}" for m, a in attributes]))
        fields = _config_fields(model)
        if fields:
            text += f"; and config.{', config.'.join(fields)}"
        notes.append(text + ".")
    elif dropout > 0:
        targets = _activations_feeding_linear(model, probe)
        if not targets:
            raise ValueError(invalid_argument(
                "dropout", f"a model with dropout modules or activation modules feeding a Linear layer "
                f"(none found in model {name!r})", dropout))
        _insert(model, dropout, is_activation, "inverted", only=set(targets))
        _set_config_fields(model, dropout)
        notes.append(f"dropout={dropout:g}: the model has no dropout module; inserted reglab.nn.Dropout"
                     f"({dropout:g}) after the {len(targets)} activation{'s' if len(targets) != 1 else ''} "
                     f"feeding a Linear layer: {_names(targets)}.")
    elif any(_p(m) > 0 for _, m in existing):
        many = len(existing) != 1
        notes.append(f"dropout not set by this arm: the model's own {len(existing)} dropout module"
                     f"{'s' if many else ''} ({_names([n for n, _ in existing])}) "
                     f"{'keep their rates' if many else 'keeps its rate'} ({_rates(_p(m) for _, m in existing)}).")
    paths = drop_path_modules(model)
    if drop_path > 0:
        if not paths:
            raise ValueError(invalid_argument(
                "drop_path", "a model with residual blocks holding DropPath/StochasticDepth modules (no "
                f"residual blocks found in model {name!r})", drop_path))
        set_rates = set_drop_path_rate(model, drop_path)
        notes.append(f"drop_path={drop_path:g}: set the model's {len(set_rates)} stochastic-depth module"
                     f"{'s' if len(set_rates) != 1 else ''} with the linear depth rule: "
                     + ", ".join(f"{n}={r:.3g}" for n, r in set_rates) + ".")
    elif any(float(getattr(m, a)) > 0 for _, m, a in paths):
        many = len(paths) != 1
        notes.append(f"drop_path not set by this arm: the model's own {len(paths)} stochastic-depth "
                     f"module{'s' if many else ''} {'keep their rates' if many else 'keeps its rate'} "
                     f"({_rates(float(getattr(m, a)) for _, m, a in paths)}).")
    return model, notes
