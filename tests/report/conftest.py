"""Fixtures for the report tests: scripted runs (see scripted_runs.py)."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest


def load_scripted():
    name = "reglab_tests_scripted_runs"
    if name not in sys.modules:
        spec = importlib.util.spec_from_file_location(name, Path(__file__).with_name("scripted_runs.py"))
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
    return sys.modules[name]


@pytest.fixture(scope="session")
def scripted():
    return load_scripted()


@pytest.fixture
def study_runs(scripted):
    return scripted.build_study_runs()
