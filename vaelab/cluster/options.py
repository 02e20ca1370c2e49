"""RayOptions: where the Ray runtime is and what each task reserves; validated on creation (no Ray needed)."""
from __future__ import annotations

import math
from dataclasses import dataclass

import torch

from ..checks import check_float, check_int

# the cluster extra of pyproject.toml: the Ray versions this project has tested (see the README)
RAY_REQUIREMENT = "ray>=2.44,<2.61"


@dataclass(frozen=True)
class RayOptions:
    """address: 'local' (start a Ray runtime in this process, stopped at the end), 'auto' (join the cluster this
    machine belongs to, e.g. started with `ray start`) or HOST:PORT / ray://HOST:PORT of a cluster's head.
    cpus_per_trial: CPUs each task reserves, and torch's threads in it (at least 1); a serial run gives the same
    numbers bit for bit when it runs with as many threads (OMP_NUM_THREADS, as in `make zoo`).
    gpus_per_trial: the fraction of a GPU each task reserves, in [0, 1] or a whole number: 0.25 lets four small
    VAEs share one card; 0 (default) keeps the tasks on CPUs. max_retries: how often a task whose worker died
    (killed, out of memory, node lost) is run again; an error raised by vaelab itself is never retried.
    num_cpus: CPUs the local runtime may use (default all; 'local' only). progress: a bar counting finished
    trials (None: unless VAELAB_PROGRESS=0)."""

    address: str = "local"
    cpus_per_trial: float = 1.0
    gpus_per_trial: float = 0.0
    max_retries: int = 3
    num_cpus: int | None = None
    progress: bool | None = None

    def __post_init__(self):
        if not isinstance(self.address, str) or not self.address.strip():
            raise ValueError(f"address={self.address!r} must be 'local', 'auto' or HOST:PORT of a Ray cluster's head")
        check_float("cpus_per_trial", self.cpus_per_trial, 0.0, strict=True)
        gpus = check_float("gpus_per_trial", self.gpus_per_trial, 0.0)
        if gpus > 1 and not float(gpus).is_integer():
            raise ValueError(f"gpus_per_trial must be a fraction in [0, 1] or a whole number of GPUs, got {gpus!r}")
        check_int("max_retries", self.max_retries, 0)
        if self.num_cpus is not None:
            check_int("num_cpus", self.num_cpus, 1)
            if self.address != "local":
                raise ValueError(f"num_cpus={self.num_cpus} applies to a local runtime only (address='local'), not "
                                 f"to address={self.address!r}: the cluster's CPUs are set where it is started")

    @property
    def threads(self) -> int:
        """torch threads in each task: its whole CPUs, at least 1."""
        return max(1, math.floor(self.cpus_per_trial))

    def worker_device(self, device=None) -> torch.device:
        """The device each task runs on: cuda (Ray's CUDA_VISIBLE_DEVICES names its share) when it reserves a GPU;
        else the CPU for None/'auto', or `device`, which must not be a GPU (Ray hides GPUs from tasks that reserve
        none). Not checked against this machine: the driver of a cluster may have no GPU of its own."""
        if self.gpus_per_trial > 0:
            return torch.device("cuda")
        if device is None or device == "auto":
            return torch.device("cpu")
        try:
            dev = torch.device(device)
        except (RuntimeError, TypeError) as err:
            raise ValueError(f"device={device!r} is not a device; use 'auto', 'cpu', 'cuda', 'cuda:N' or "
                             "'mps'") from err
        if dev.type == "cuda":
            raise ValueError(f"device={str(dev)!r} with Ray needs a GPU share per trial: set gpus_per_trial "
                             "(--ray-gpus-per-trial) to e.g. 0.25, or use device 'cpu'")
        return dev
