"""fit(compile=True): the step fit calls, with the objective's loss and its backward run as generated kernels.

torch.compile(model) would do nothing here, because fit never calls model.forward: it calls the objective, which
calls model.encode and model.decode. So the objective's loss function is what gets compiled (TorchInductor; the
backward is compiled with it, by AOTAutograd). On a CUDA device the mode is "reduce-overhead": the small-model step
replays as a CUDA graph, without a kernel launch from Python per op. Fused Adam, the guard and the epoch sums stay
as they are.

What it costs and what changes:
- The first step of each batch shape compiles (about 10 s on this project's CPU, plus one more for a smaller last
  batch); judge it on a long run (benchmarks/bench_fit_vs_dataloader.py --compile).
- A CPU needs a C++ compiler on PATH (g++, clang++ or c++).
- Training is statistically the same, not bit for bit: the generated kernels fuse the element-wise work and so
  round differently, and they draw the reparameterization noise with Inductor's own generator (seeded from torch's,
  so one seed still gives one result on one machine).
- Objectives whose loss runs autograd itself (the SVI steps of SA-VAE and its modes, the Langevin chains of 'sri')
  and the 'aggressive' schedule (its own inner optimizer) are refused: they would split into many small graphs.
"""
from __future__ import annotations

import shutil

import torch

from ..objectives.objective import Objective

DEVICES = ("cpu", "cuda")
COMPILERS = ("g++", "clang++", "c++")


def check_compilable(objective: Objective, device: torch.device) -> None:
    """Raise ValueError, naming what to change, when fit(compile=True) cannot compile this objective here."""
    if not objective.compilable or objective.encoder_first:
        why = ("runs He et al.'s encoder-first inner loop with its own optimizer" if objective.encoder_first else
               "runs autograd inside its loss (SVI steps or Langevin chains)")
        raise ValueError(f"compile=True: objective={objective.name!r} {why}, which torch.compile cannot capture as "
                         "one graph; use compile=False for it (the objectives that compile: elbo, beta, iwae, "
                         "infovae, freebits, lm, or a plain callable loss)")
    if device.type not in DEVICES:
        raise ValueError(f"compile=True on device={str(device)!r}: compiled steps run on {' or '.join(DEVICES)} "
                         "only; use compile=False there")
    if device.type == "cpu" and not any(shutil.which(c) for c in COMPILERS):
        raise ValueError("compile=True on a CPU needs a C++ compiler on PATH (one of "
                         f"{', '.join(COMPILERS)}; e.g. apt install g++); none was found: use compile=False")


def compiled_loss(objective: Objective, device: torch.device):
    """(model, x, kl_weight) -> (loss, stats) as objective(...), compiled. kl_weight is passed as a 0-dim tensor
    (compiled_kl_weight), so that a warm-up schedule does not recompile at every new value."""
    check_compilable(objective, device)
    mode = "reduce-overhead" if device.type == "cuda" else None
    return torch.compile(objective.loss, mode=mode, dynamic=False)


class KLWeight:
    """The KL weight as one 0-dim tensor on the device, refilled each step (no host sync, one compiled graph)."""

    def __init__(self, device: torch.device):
        self.value = torch.zeros((), device=device)

    def __call__(self, w: float) -> torch.Tensor:
        self.value.fill_(w)
        return self.value
