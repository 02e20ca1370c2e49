"""FLOP accounting and the matmul peak, measured in the same run as the figure it judges.

A GFLOP/s figure counts the multiply-adds of the model's matmuls only (2 FLOPs each), never the element-wise
work: so "% of peak" says how close a path is to a run that did nothing but its matmuls at the rate of the
best matmul this machine just did.
"""
from __future__ import annotations

import statistics
import time

import torch
from torch import nn

from _common import sync


def mlp_flops(module: nn.Module) -> int:
    """FLOPs of one row through every nn.Linear in `module` (2 per multiply-add), e.g. one code through a decoder."""
    return sum(2 * m.in_features * m.out_features for m in module.modules() if isinstance(m, nn.Linear))


def linear_shapes(module: nn.Module) -> list[tuple[int, int]]:
    return [(m.in_features, m.out_features) for m in module.modules() if isinstance(m, nn.Linear)]


def matmul_gflops(m: int, k: int, n: int, device, repeats: int = 5, dtype=torch.float32, clock=None) -> float:
    """Best of `repeats` timings of one (m, k) @ (k, n) matmul, in GFLOP/s (after a warm-up). clock: a
    seconds counter (default: time.process_time on a CPU, the run's own CPU time; the wall clock on a GPU),
    repeated until each timing spans >= 20 ms so that the counter's resolution does not matter."""
    clock = clock or (time.perf_counter if torch.device(device).type != "cpu" else time.process_time)
    a = torch.randn(m, k, device=device, dtype=dtype)
    b = torch.randn(k, n, device=device, dtype=dtype)
    out = torch.empty(m, n, device=device, dtype=dtype)
    torch.mm(a, b, out=out)
    sync(device)
    t0, inner = clock(), 1
    torch.mm(a, b, out=out)
    sync(device)
    inner = max(1, int(0.02 / max(clock() - t0, 1e-6)))
    best = float("inf")
    for _ in range(repeats):
        sync(device)
        t0 = clock()
        for _ in range(inner):
            torch.mm(a, b, out=out)
        sync(device)
        best = min(best, (clock() - t0) / inner)
    return 2 * m * k * n / best / 1e9


def matmul_peak(device, shapes=(), rows: int = 1000, size: int = 2048) -> dict:
    """{'square': GFLOP/s of a size^2 fp32 matmul, 'model_min'/'model_max': of the model's own layer shapes at
    `rows` rows, 'peak': the best of them}: the bound a GFLOP/s figure is read against. On a CPU the rates are per
    CPU-second of this process (see matmul_gflops), like the figures they judge."""
    square = matmul_gflops(size, size, size, device)
    per_layer = [matmul_gflops(rows, k, n, device) for k, n in shapes]
    return {"square": square, "model_min": min(per_layer, default=square), "model_max": max(per_layer, default=square),
            "peak": max([square, *per_layer])}


def spread(values) -> dict:
    """min / median / max of a list, the way every ratio in RESULTS.md is reported."""
    values = list(values)
    return {"min": min(values), "median": statistics.median(values), "max": max(values)}
