"""Runners: turn a list of run specs into finished runs, yielding each as it completes.

- :func:`~reglab.experiments.runners.local.iter_local`: worker processes on this machine, one
  single-threaded worker per core (measured: small models are per-op-overhead bound).
- ``reglab.experiments.vectorized.run_vectorized``: arms of one architecture batched into one
  model (used through :func:`~reglab.studies.study.run_study` with ``runner="auto"``).
- :func:`~reglab.experiments.runners.ray_runner.iter_ray`: the same jobs as Ray tasks on a
  cluster (``runner="ray"``; optional dependency ``reglab[ray]``).
"""

from reglab.experiments.runners.local import Outcome, default_workers, iter_local

__all__ = ["Outcome", "iter_local", "default_workers"]
