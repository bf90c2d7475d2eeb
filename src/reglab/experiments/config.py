"""Typed, validated configuration of a study or a sweep; TOML in and out; CLI overrides.

A config holds the run settings every arm shares (the sections ``data``, ``model``, ``optimizer``
and ``regularization`` are the run spec's own classes, so a config field and a spec field are the
same thing), plus what to compare: ``arms`` for a study, ``grid`` for a sweep. Precedence, lowest
first: defaults, the TOML file, explicit CLI flags, ``--set field=value``.

Field names on the command line may be short (``dropout``, ``lr``, ``train_size``, ``dataset``,
``early_stopping.patience``) or full dotted paths (``regularization.dropout``,
``model.options.width``; ``model.width`` is short for ``model.options.width``). Unknown names,
values out of range and malformed TOML raise :class:`reglab.errors.ConfigError` with one line that
names the field, what it accepts and what it received.

TOML example (``reglab study --print-config`` prints the effective one)::

    name = "dropout-vs-wd"
    epochs = 60
    seeds = 3
    arms = ["baseline", "dropout", "weight_decay=0.05"]

    [data]
    name = "mnist1d"
    train_size = 1000

    [model]
    name = "mlp"

    [optimizer]
    lr = 0.01
"""

from __future__ import annotations

import itertools
import json
import math
import re
import sys
import types
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any, Literal, Union, get_args, get_origin

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_serializer, model_validator

from reglab._validate import format_choices
from reglab.errors import ConfigError, invalid_argument
from reglab.experiments.spec import (
    DataSpec,
    DistillationSpec,
    EarlyStoppingSpec,
    ModelSpec,
    OptimizerSpec,
    RegularizationSpec,
    RunSpec,
)
from reglab.techniques import DEFAULT_ARMS, TECHNIQUES, parse_arm, parse_number, technique_for_field

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

__all__ = [
    "DEFAULT_EPOCHS",
    "OutputsMixin",
    "check_study_name",
    "StudyConfig",
    "SweepConfig",
    "load_config",
    "config_error",
    "parse_value",
    "resolve_field",
    "parse_assignment",
    "base_spec_dict",
    "set_path",
    "to_toml",
]

#: Epochs of the default study. Measured (3 seeds, 2 shared cores, two runs of the benchmark on
#: successive versions of the engine): at 100 epochs the MLP's baseline overfits (train 100%,
#: test 62.5-63.1%) while dropout 0.2 gains +2.9 to +3.9 points (95% CIs above 0) and the stack
#: +4.0 to +4.6; at 60 epochs dropout gained only +2.2 [-0.8, +5.2]. ``benchmarks/default_study.py``
#: timed the whole command at 67-80 s on the loaded machine (limit: 5 minutes).
DEFAULT_EPOCHS = 100

_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")


def check_study_name(value: str) -> str:
    """A study name usable as a directory name: letters, digits, '_', '-', '.'; at most 100 characters."""
    if isinstance(value, str) and len(value) > 100:
        raise ValueError(invalid_argument("name", "at most 100 characters (it names a directory)", value,
                                          shown=f"a name of {len(value)} characters"))
    if not _NAME_RE.match(value):
        raise ValueError(
            invalid_argument("name", "letters, digits, '_', '-' or '.', starting with a letter or digit", value)
        )
    return value


class OutputsMixin:
    """Seeds and output directory of a config with ``name``, ``out``, ``seeds``, ``first_seed``.

    Methods only: annotations here would become pydantic fields and reorder the config's fields.
    """

    @property
    def seed_list(self) -> list[int]:
        return list(range(self.first_seed, self.first_seed + self.seeds))

    def out_dir(self) -> Path:
        """The output directory: ``out`` or ``reglab-out/<name>``."""
        return Path(self.out) if self.out is not None else Path("reglab-out") / self.name


class _BaseConfig(OutputsMixin, BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)

    name: str = "default"  # study name; the output directory defaults to reglab-out/<name>
    out: str | None = None  # output directory (runs.sqlite, report.html, report.md)
    epochs: int = Field(default=DEFAULT_EPOCHS, ge=1)
    batch_size: int = Field(default=100, ge=1, le=2**31 - 1)
    seeds: int = Field(default=3, ge=1)  # seeds first_seed, first_seed + 1, ...
    first_seed: int = Field(default=0, ge=0)
    runner: Literal["auto", "vectorized", "processes", "ray"] = "auto"
    workers: int | None = Field(default=None, ge=1)  # None: one per CPU core
    # vectorized runs' dropout masks: "exact" (each member draws run_one's masks: the processes
    # runner's numbers up to float rounding, which long training amplifies) or "fast" (same
    # Bernoulli law, half the random draws, other numbers)
    masks: Literal["exact", "fast"] = "exact"
    # runner "ray": the cluster ("auto", "ray://head:10001"); None: $RAY_ADDRESS or a local instance
    ray_address: str | None = None
    data: DataSpec = Field(default_factory=DataSpec)
    model: ModelSpec = Field(default_factory=ModelSpec)
    optimizer: OptimizerSpec = Field(default_factory=OptimizerSpec)
    regularization: RegularizationSpec = Field(default_factory=RegularizationSpec)  # every arm
    # regression loss: "mse" or "gaussian_nll" (mean and log-variance outputs); None: the task's own
    loss: Literal["mse", "gaussian_nll"] | None = None

    @field_validator("name")
    @classmethod
    def _check_name(cls, value: str) -> str:
        return check_study_name(value)

    @field_validator("data")
    @classmethod
    def _check_dataset(cls, value: DataSpec) -> DataSpec:
        # built-in and registered names, files, image folders and module:loader strings; a
        # relative path becomes absolute here (plan time) so workers started elsewhere find it
        try:
            from reglab.data.user import resolve_name
        except ImportError:  # the data layer is optional at config time (e.g. a partial install)
            return value
        name = resolve_name(value.name, argument="data.name")
        return value if name == value.name else value.model_copy(update={"name": name})

    @field_validator("model")
    @classmethod
    def _check_model(cls, value: ModelSpec) -> ModelSpec:
        names = _model_names()
        if names is not None and value.name not in names and ":" not in value.name:
            raise ValueError(invalid_argument(
                "model.name", f"one of {format_choices(names)}, a registered model or an import string "
                "'package.module:factory'", value.name))
        return value



def _model_names() -> list[str] | None:
    try:
        from reglab.models import available, registered
    except ImportError:
        return None
    return list(available()) + [n for n in registered() if n not in available()]


class StudyConfig(_BaseConfig):
    """A study: each arm (a technique at its starting value) on the same base, over seeds.

    Defaults to the default study: MNIST-1D, the MLP, AdamW lr 1e-2, batch 100, 3 seeds, arms
    baseline, dropout, weight decay, early stopping and the recommended stack.
    """

    kind: Literal["study"] = "study"
    arms: list[str] = Field(default_factory=lambda: list(DEFAULT_ARMS), min_length=1)
    # what the distillation arms (distillation, ensemble_distillation, self_distillation, teacher,
    # born_again) start from: teacher model, temperature, alpha, teachers, teacher_epochs; an arm's
    # value is written over it. None: DistillationSpec's defaults. Left out of the dump when None.
    distillation: DistillationSpec | None = None

    @model_serializer(mode="wrap")
    def _omit_no_distillation(self, handler: Any) -> Any:
        data = handler(self)
        if isinstance(data, dict) and data.get("distillation", 0) is None:
            data.pop("distillation")
        return data

    @field_validator("arms")
    @classmethod
    def _check_arms(cls, value: list[str]) -> list[str]:
        for arm in value:
            if arm != "all":
                parse_arm(arm)
        if len(set(value)) != len(value):
            dup = next(a for a in value if value.count(a) > 1)
            raise ValueError(invalid_argument("arms", "each arm once", dup))
        return value


class SweepConfig(_BaseConfig):
    """A sweep: the grid (every combination of the listed values) crossed with the seeds.

    ``grid`` maps field names (short or dotted, see the module docstring) to lists of values.
    """

    kind: Literal["sweep"] = "sweep"
    name: str = "sweep"
    grid: dict[str, list[Any]] = Field(min_length=1)

    @field_validator("grid", mode="before")
    @classmethod
    def _flatten_grid(cls, value: Any) -> Any:
        if isinstance(value, Mapping):
            return dict(_flatten(value))
        return value

    @model_validator(mode="after")
    def _check_grid(self) -> SweepConfig:
        base = base_spec_dict(self)
        for key, values in self.grid.items():
            path = resolve_field(key, root="spec", argument="grid")
            if not values:
                raise ValueError(invalid_argument("grid", f"at least one value for {key!r}", f"{key}="))
            seen: list[Any] = []
            for value in values:
                if value in seen:
                    raise ValueError(invalid_argument("grid", f"distinct values for {key!r}", value,
                                                      shown=f"{key}={value!r} twice"))
                seen.append(value)
                spec = json.loads(json.dumps(base))
                set_path(spec, path, value)
                validate_spec(spec)
        return self

    def grid_points(self) -> list[dict[str, Any]]:
        """Every combination of grid values, in order (the last field varies fastest)."""
        keys = list(self.grid)
        return [dict(zip(keys, combo)) for combo in itertools.product(*(self.grid[k] for k in keys))]


def _flatten(mapping: Mapping[str, Any], prefix: str = "") -> Iterable[tuple[str, Any]]:
    for key, value in mapping.items():
        if isinstance(value, Mapping):
            yield from _flatten(value, f"{prefix}{key}.")
        else:
            yield f"{prefix}{key}", value


# ----------------------------------------------------------------------------- field names

def _short_names() -> dict[str, tuple[str, ...]]:
    names: dict[str, tuple[str, ...]] = {"epochs": ("epochs",), "batch_size": ("batch_size",), "loss": ("loss",)}
    for field in RegularizationSpec.model_fields:
        if field != "custom":
            names[field] = ("regularization", field)
    for field in EarlyStoppingSpec.model_fields:
        names[f"early_stopping.{field}"] = ("regularization", "early_stopping", field)
    for field in DistillationSpec.model_fields:
        names[f"distillation.{field}"] = ("regularization", "distillation", field)
    names.update(
        lr=("optimizer", "lr"),
        momentum=("optimizer", "momentum"),
        lr_schedule=("optimizer", "schedule"),
        warmup_epochs=("optimizer", "warmup_epochs"),
        lr_step_size=("optimizer", "step_size"),
        lr_gamma=("optimizer", "gamma"),
        optimizer=("optimizer", "name"),
        dataset=("data", "name"),
        train_size=("data", "train_size"),
        label_noise=("data", "label_noise"),
        val_fraction=("data", "val_fraction"),
        data_seed=("data", "seed"),
        model=("model", "name"),
    )
    return names


_SHORT = _short_names()
_SECTIONS: dict[str, type[BaseModel]] = {
    "data": DataSpec,
    "model": ModelSpec,
    "optimizer": OptimizerSpec,
    "regularization": RegularizationSpec,
}
_CONFIG_ONLY = ("name", "out", "seeds", "first_seed", "runner", "workers", "masks", "ray_address", "arms")


def _model_class(annotation: Any) -> type[BaseModel] | None:
    """The pydantic model inside ``annotation`` (``X``, ``X | None``)."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    if get_origin(annotation) in (Union, types.UnionType):
        for arg in get_args(annotation):
            found = _model_class(arg)
            if found is not None:
                return found
    return None


def _technique_field(key: str) -> tuple[str, ...] | None:
    """The path of a technique's field named by the technique (``mixup`` -> ``mixup_alpha``) or by
    a field of a technique registered outside the catalogue (``regularization.custom``)."""
    names = {t.name: t for t in TECHNIQUES.values() if t.sweepable}
    names.update({a: t for t in names.values() for a in t.aliases})
    field = names[key].field if key in names else key
    if field in RegularizationSpec.model_fields and field != "custom":
        return ("regularization", field)
    if technique_for_field(field) is not None:
        return ("regularization", "custom", field)
    return None


def _unknown_field(key: str, root: str, argument: str) -> ConfigError:
    if root == "spec" and key in ("seed", "arm"):
        return ConfigError(
            invalid_argument(argument, "a run field other than 'seed' and 'arm' (every grid point "
                             "runs with every seed: use --seeds)", key)
        )
    names = sorted(n for n in _SHORT if "." not in n) + (sorted(_CONFIG_ONLY) if root == "config" else [])
    expected = (
        f"a field among {format_choices(names)} or a dotted path such as "
        "'early_stopping.patience' or 'model.options.width'"
    )
    return ConfigError(invalid_argument(argument, expected, key))


def resolve_field(key: str, *, root: Literal["spec", "config"] = "spec", argument: str = "set") -> tuple[str, ...]:
    """The full path of a field name: ``"dropout"`` -> ``("regularization", "dropout")``.

    ``root="spec"`` resolves inside a :class:`RunSpec` (grids; ``seed`` and ``arm`` are not
    allowed: use ``seeds``), ``root="config"`` inside a config (``--set``).
    """
    key = key.strip()
    if key in _SHORT:
        return _SHORT[key]
    technique = _technique_field(key)
    if technique is not None:
        return technique
    if root == "config" and key in _CONFIG_ONLY:
        return (key,)
    parts = tuple(p for p in key.split("."))
    if not parts or any(not p for p in parts) or parts[0] not in _SECTIONS:
        raise _unknown_field(key, root, argument)
    cls: type[BaseModel] | None = _SECTIONS[parts[0]]
    path = [parts[0]]
    for i, part in enumerate(parts[1:], start=1):
        if cls is None:  # inside a free-form options dict
            path.append(part)
            continue
        if part in cls.model_fields:
            path.append(part)
            info = cls.model_fields[part]
            cls = _model_class(info.annotation)
            if cls is None and get_origin(info.annotation) is not dict and i < len(parts) - 1:
                raise _unknown_field(key, root, argument)
        elif "options" in cls.model_fields:  # model.width -> model.options.width
            path += ["options", part]
            cls = None
        else:
            raise _unknown_field(key, root, argument)
    if len(path) == 1:
        raise _unknown_field(key, root, argument)
    return tuple(path)


_SPEC_VALUED = {("regularization", "early_stopping"), ("regularization", "distillation")}


def parse_value(text: str) -> Any:
    """A CLI value: ``none``/``null`` -> None, ``true``/``false`` -> bool, numbers, else the string."""
    text = text.strip()
    low = text.lower()
    if low in ("none", "null"):
        return None
    if low in ("true", "false"):
        return low == "true"
    return parse_number(text)


def _coerce(path: tuple[str, ...], value: Any) -> Any:
    """``early_stopping=off|on|<patience>`` and ``distillation=off|on`` on the command line."""
    if tuple(path[-2:]) in _SPEC_VALUED and len(path) == 2:
        if value is None or value is False or (isinstance(value, str) and value.lower() in ("off", "no")):
            return None
        if value is True or (isinstance(value, str) and value.lower() in ("on", "yes")):
            return {}
        if path[-1] == "early_stopping" and isinstance(value, int) and not isinstance(value, bool):
            return {"patience": value}
    return value


def set_path(target: dict[str, Any], path: tuple[str, ...], value: Any) -> None:
    """Set ``target[path[0]][path[1]]... = value``, creating tables (also over ``None``)."""
    node = target
    for part in path[:-1]:
        child = node.get(part)
        if not isinstance(child, dict):
            child = {}
            node[part] = child
        node = child
    node[path[-1]] = _coerce(path, value)


def parse_assignment(text: str, *, argument: str, root: Literal["spec", "config"], many: bool) -> tuple[tuple[str, ...], str, Any]:
    """``"dropout=0.1"`` -> (path, key, value); with ``many`` the value is a list ``v1,v2,...``."""
    key, sep, raw = text.partition("=")
    form = "field=v1,v2,..." if many else "field=value"
    if not sep or not key.strip():
        raise ConfigError(invalid_argument(argument, form, text))
    path = resolve_field(key, root=root, argument=argument)
    if many:
        items = [item for item in raw.split(",")]
        if not raw.strip() or any(not item.strip() for item in items):
            raise ConfigError(invalid_argument(argument, f"{form} with at least one value and no empty value", text))
        return path, key.strip(), [parse_value(item) for item in items]
    return path, key.strip(), parse_value(raw)


# ----------------------------------------------------------------------------- validation errors

def _interval(metadata: list[Any], integer: bool) -> str:
    bounds = {type(m).__name__: getattr(m, type(m).__name__.lower()) for m in metadata
              if type(m).__name__ in ("Ge", "Gt", "Le", "Lt")}
    lo_name = "Ge" if "Ge" in bounds else "Gt" if "Gt" in bounds else None
    hi_name = "Le" if "Le" in bounds else "Lt" if "Lt" in bounds else None
    fmt = lambda v: str(int(v)) if float(v).is_integer() else repr(v)  # noqa: E731
    if integer:
        parts = []
        if lo_name:
            parts.append(f">= {fmt(bounds[lo_name])}" if lo_name == "Ge" else f"> {fmt(bounds[lo_name])}")
        if hi_name:
            parts.append(f"<= {fmt(bounds[hi_name])}" if hi_name == "Le" else f"< {fmt(bounds[hi_name])}")
        return "an integer" + (" " + " and ".join(parts) if parts else "")
    if not lo_name and not hi_name:
        return "a number"
    lo = "(-inf" if not lo_name else ("[" if lo_name == "Ge" else "(") + fmt(bounds[lo_name])
    hi = "inf)" if not hi_name else fmt(bounds[hi_name]) + ("]" if hi_name == "Le" else ")")
    return f"a number in {lo}, {hi}"


def _expected(info: Any) -> str:
    annotation = info.annotation
    is_union = get_origin(annotation) in (Union, types.UnionType)
    args = get_args(annotation) if is_union else ()
    optional = type(None) in args
    core = [a for a in args if a is not type(None)] if is_union else [annotation]
    target = core[0] if len(core) == 1 else annotation
    if get_origin(target) is Literal:
        text = f"one of {format_choices(get_args(target))}"
    elif target is bool:
        text = "true or false"
    elif target is int:
        text = _interval(info.metadata, integer=True)
    elif target is float:
        text = _interval(info.metadata, integer=False)
    elif target is str:
        text = "a string"
    elif _model_class(target) is not None:
        text = f"a table of {_model_class(target).__name__} fields"
    elif get_origin(target) is dict:
        text = "a table"
    elif get_origin(target) is list:
        text = "a list"
    else:
        text = "a valid value"
    return text + (" (or none)" if optional else "")


def _field_info(root: type[BaseModel], loc: tuple[Any, ...]) -> tuple[Any, type[BaseModel] | None]:
    """(FieldInfo of ``loc``, the model class holding it)."""
    cls: type[BaseModel] | None = root
    info = None
    parent = None
    for part in loc:
        if cls is None or not isinstance(part, str) or part not in cls.model_fields:
            if isinstance(part, int) or cls is None:
                continue
            return None, cls
        parent = cls
        info = cls.model_fields[part]
        cls = _model_class(info.annotation)
    return info, parent


def config_error(exc: ValidationError, root: type[BaseModel]) -> ConfigError:
    """One readable line for the first problem pydantic found (naming field, range and value)."""
    errors = exc.errors()
    first = errors[0]
    loc = tuple(p for p in first["loc"] if not (isinstance(p, str) and p.startswith("function-")))
    loc = tuple(p for p in loc if p not in ("dict[str,any]", "list[any]"))
    name = ".".join(str(p) for p in loc) or root.__name__
    value = first.get("input")
    kind = first["type"]
    more = f" ({len(errors) - 1} more problem{'s' if len(errors) > 2 else ''})" if len(errors) > 1 else ""
    if kind == "value_error" and "error" in first.get("ctx", {}):
        return ConfigError(str(first["ctx"]["error"]) + more)
    if kind == "extra_forbidden":
        _, parent = _field_info(root, loc[:-1] + ("__none__",))
        holder = _holder(root, loc[:-1])
        known = format_choices(holder.model_fields) if holder is not None else ""
        section = ".".join(str(p) for p in loc[:-1]) or "the config"
        return ConfigError(
            f"Unknown field `{name}`. Expected one of {known} in {section}. Received: {name}={value!r}{more}"
        )
    if kind == "missing":
        return ConfigError(f"Missing field `{name}`. Expected a value for it. Received: nothing{more}")
    info, _ = _field_info(root, loc)
    expected = _expected(info) if info is not None else first["msg"].lower()
    if kind == "too_short":
        n = first.get("ctx", {}).get("min_length", 1)
        expected += f" with at least {n} item{'s' if n != 1 else ''}"
    return ConfigError(invalid_argument(name, expected, value) + more)


def _holder(root: type[BaseModel], loc: tuple[Any, ...]) -> type[BaseModel] | None:
    cls: type[BaseModel] | None = root
    for part in loc:
        if cls is None or not isinstance(part, str) or part not in cls.model_fields:
            return None
        cls = _model_class(cls.model_fields[part].annotation)
    return cls


def validate_spec(data: dict[str, Any]) -> RunSpec:
    """``RunSpec.model_validate`` with errors turned into :class:`ConfigError`."""
    try:
        return RunSpec.model_validate(data)
    except ValidationError as exc:
        raise config_error(exc, RunSpec) from None


# ----------------------------------------------------------------------------- loading

def read_toml(path: str | Path) -> dict[str, Any]:
    """The TOML file as a dict; unreadable or malformed files raise :class:`ConfigError`."""
    path = Path(path)
    try:
        with path.open("rb") as fh:
            return tomllib.load(fh)
    except FileNotFoundError:
        raise ConfigError(f"Cannot read the config file {str(path)!r}. Expected an existing TOML file. "
                          f"Received: a path that does not exist") from None
    except IsADirectoryError:
        raise ConfigError(f"Cannot read the config file {str(path)!r}. Expected a TOML file. "
                          f"Received: a directory") from None
    except OSError as exc:
        raise ConfigError(f"Cannot read the config file {str(path)!r}: {exc.strerror}") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(f"Cannot parse the config file {str(path)!r}. Expected valid TOML. "
                          f"Received: {exc}") from None


def load_config(
    kind: Literal["study", "sweep"] = "study",
    *,
    path: str | Path | None = None,
    overrides: Mapping[str, Any] | None = None,
    sets: Iterable[str] = (),
    grid: Iterable[str] = (),
    base: Mapping[str, Any] | None = None,
) -> StudyConfig | SweepConfig:
    """Build the effective config: defaults < ``base`` < TOML file ``path`` < ``overrides`` < ``sets``.

    Args:
        kind: ``"study"`` or ``"sweep"``.
        path: a TOML file (optional).
        overrides: explicit values by field name (short or dotted), e.g. ``{"epochs": 10}`` from
            CLI flags; ``None`` values are ignored (flag not given).
        sets: ``"field=value"`` strings (``--set``).
        grid: ``"field=v1,v2"`` strings (``--grid``, sweeps only); replace the file's grid.
        base: config values under the file's (a command's own defaults, e.g. ``reglab distill``'s);
            a table of the file replaces the same table of ``base`` whole.
    """
    data: dict[str, Any] = read_toml(path) if path is not None else {}
    cls = SweepConfig if kind == "sweep" else StudyConfig
    if data:
        # The file on its own: a wrong type there is refused even when a flag replaces the field.
        _validate_file(cls, data, kind)
    data = {**json.loads(json.dumps(dict(base or {}))), **data}
    file_kind = data.get("kind")
    if file_kind is not None and file_kind != kind:
        raise ConfigError(invalid_argument("kind", f"{kind!r} for `reglab {kind}`", file_kind))
    data.setdefault("kind", kind)
    for key, value in (overrides or {}).items():
        if value is not None:
            set_path(data, resolve_field(key, root="config", argument=key), value)
    for text in sets:
        path_, _, value = parse_assignment(text, argument="--set", root="config", many=False)
        set_path(data, path_, value)
    grid = list(grid)
    if grid:
        if kind != "sweep":
            raise ConfigError(invalid_argument("grid", "no grid for a study (use `reglab sweep`)", grid[0]))
        data["grid"] = {}
        for text in grid:
            _, key, values = parse_assignment(text, argument="--grid", root="spec", many=True)
            if key in data["grid"]:
                raise ConfigError(invalid_argument("--grid", f"each field once, {key!r} is repeated", text))
            data["grid"][key] = values
    if kind == "sweep" and not data.get("grid"):
        raise ConfigError(
            invalid_argument("--grid", "at least one --grid field=v1,v2,... (or a [grid] table)", None,
                             shown="no grid")
        )
    try:
        return cls.model_validate(data)
    except ValidationError as exc:
        raise config_error(exc, cls) from None


def _validate_file(cls: type[BaseModel], data: dict[str, Any], kind: str) -> None:
    """Validate a TOML file's own values (a grid may come from ``--grid`` instead)."""
    if data.get("kind", kind) != kind:
        return  # reported by load_config with its own message
    probe = {**data, "kind": kind}
    if kind == "sweep" and not probe.get("grid"):
        probe["grid"] = {"dropout": [0.0]}
    try:
        cls.model_validate(probe)
    except ValidationError as exc:
        raise config_error(exc, cls) from None


def base_spec_dict(config: _BaseConfig) -> dict[str, Any]:
    """The run spec every arm / grid point starts from (arm ``baseline``, the first seed)."""
    return {
        "arm": "baseline",
        "seed": config.first_seed,
        "epochs": config.epochs,
        "batch_size": config.batch_size,
        "data": config.data.model_dump(mode="json"),
        "model": config.model.model_dump(mode="json"),
        "optimizer": config.optimizer.model_dump(mode="json"),
        "regularization": config.regularization.model_dump(mode="json"),
        **({} if config.loss is None else {"loss": config.loss}),
    }


# ----------------------------------------------------------------------------- TOML out

def _toml_key(key: str) -> str:
    return key if re.match(r"^[A-Za-z0-9_-]+$", key) else json.dumps(key)


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if math.isnan(value):
            return "nan"
        if math.isinf(value):
            return "inf" if value > 0 else "-inf"
        return repr(value)
    if isinstance(value, str):
        return json.dumps(value)
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    if isinstance(value, Mapping):
        inner = ", ".join(f"{_toml_key(k)} = {_toml_value(v)}" for k, v in value.items() if v is not None)
        return "{" + (" " + inner + " " if inner else "") + "}"
    raise TypeError(f"cannot write {type(value).__name__} to TOML")


def _toml_table(mapping: Mapping[str, Any], prefix: str, lines: list[str]) -> None:
    scalars = [(k, v) for k, v in mapping.items() if v is not None and not isinstance(v, Mapping)]
    tables = [(k, v) for k, v in mapping.items() if isinstance(v, Mapping)]
    if prefix:
        lines.append("")
        lines.append(f"[{prefix}]")
    for key, value in scalars:
        lines.append(f"{_toml_key(key)} = {_toml_value(value)}")
    for key, value in tables:
        _toml_table(value, f"{prefix}.{_toml_key(key)}" if prefix else _toml_key(key), lines)


def to_toml(config: _BaseConfig) -> str:
    """The config as TOML; ``load_config(kind, path=<that file>) == config``. ``None`` is omitted
    (every optional field defaults to ``None``)."""
    data = config.model_dump(mode="json")
    lines: list[str] = []
    _toml_table(data, "", lines)
    return "\n".join(lines).lstrip("\n") + "\n"
