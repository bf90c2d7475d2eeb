"""`import reglab.analysis` stays light: no torch, numpy, scipy or matplotlib until needed."""

from __future__ import annotations

import subprocess
import sys


def test_import_is_light():
    code = ("import sys, reglab.analysis, reglab.report; "
            "print(sorted(m for m in ('torch', 'numpy', 'scipy', 'matplotlib') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
