"""``reuse_freed_memory``: glibc serves large tensors from the heap and keeps them when freed."""

from __future__ import annotations

import ctypes
import ctypes.util

import pytest
import torch

from reglab.experiments.vectorized import reuse_freed_memory


class _MallInfo2(ctypes.Structure):
    _fields_ = [(name, ctypes.c_size_t) for name in
                ("arena", "ordblks", "smblks", "hblks", "hblkhd", "usmblks", "fsmblks", "uordblks", "fordblks",
                 "keepcost")]


def _libc():
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        libc.mallinfo2.restype = _MallInfo2
    except (OSError, AttributeError):
        pytest.skip("needs glibc >= 2.33 (mallinfo2)")
    return libc


def test_freed_tensor_memory_stays_in_the_heap_inside_the_block():
    libc = _libc()
    size = 8 * 2**20  # 8 MiB: above glibc's default mmap threshold, below 32 MiB
    with reuse_freed_memory() as applied:
        assert applied is True
        t = torch.empty(size // 4, dtype=torch.float32)
        t.fill_(1.0)
        mapped_before = libc.mallinfo2().hblkhd
        del t
        info = libc.mallinfo2()
        assert info.fordblks >= size  # the freed block is kept as free heap memory...
        assert info.hblkhd == mapped_before  # ...it was never a separate mmap
