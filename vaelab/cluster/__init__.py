"""vaelab's many small independent jobs (one training and scoring per config and seed, one shard of an evaluation)
run as Ray tasks: `vaelab table|zoo build ... --ray [ADDRESS]`, and ray= in collect, build, the sweeps.

Ray is an optional extra (pip install "vaelab[cluster]"). Only ray_runner imports it, and only when a job is run
on Ray: `import vaelab` never does. Nothing here schedules: Ray places each task on a worker with the CPUs and the
(fractional) GPU it declares, and retries it when its worker dies.

Where results go: each task writes its trained model into the cache ($VAELAB_CACHE, load_or_train's atomic
writes), and returns its scores by value to the driver, which assembles the table in the serial order. On a
cluster, every node therefore needs the same vaelab installed and $VAELAB_CACHE on shared storage (NFS, a
Lustre or GPFS scratch folder, a Kubernetes ReadWriteMany volume).
"""
from __future__ import annotations

from .options import RAY_REQUIREMENT, RayOptions


def ray_map(options: RayOptions, desc: str = "shards"):
    """A map_fn for vaelab.metrics.shards: map_fn(fn, jobs) runs fn(*job) for every job as one Ray task."""
    def map_fn(fn, jobs):
        from .ray_runner import run_trials
        return run_trials(fn, list(jobs), options, desc=desc)
    return map_fn


__all__ = ["RAY_REQUIREMENT", "RayOptions", "ray_map"]
