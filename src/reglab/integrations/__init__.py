"""Adapters that bring reglab to the loops users already train with.

Each submodule imports its framework when it is imported, and fails with one line naming the extra
to install when the framework is missing:

- :mod:`reglab.integrations.lightning` (extra ``lightning``): restore-best early stopping,
  gradient-norm logging, max-norm, gradient noise, regularization schedules and batch transforms
  as Lightning callbacks.
- :mod:`reglab.integrations.transformers` (extra ``transformers``): keep-best-in-memory callback
  and a distillation ``Trainer`` for the Hugging Face ``Trainer``.
- :mod:`reglab.integrations.tracking` (extra ``tracking``): TensorBoard, MLflow and CSV callbacks
  for reglab's own ``Trainer``, and the export of finished studies to them.

Nothing here is imported by ``import reglab``.
"""
