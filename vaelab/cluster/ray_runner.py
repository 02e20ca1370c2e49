"""run_trials(): fn(*job) for every job as one Ray task, results in job order; the only module that imports ray."""
from __future__ import annotations

import os
from contextlib import contextmanager

from .options import RAY_REQUIREMENT, RayOptions


def require_ray(flag: str = "--ray"):
    """The ray module, or an ImportError that says how to install it."""
    try:
        import ray
    except ImportError as err:
        raise ImportError(f"{flag} needs Ray, an optional extra that is not installed in this environment: "
                          f"pip install \"vaelab[cluster]\" (that is, pip install '{RAY_REQUIREMENT}'); or run "
                          f"without {flag}") from err
    return ray


@contextmanager
def connected(options: RayOptions):
    """Ray, initialised for the duration: a local runtime (stopped afterwards) or the cluster at options.address.
    When Ray is already initialised in this process (a notebook, a test), that runtime is used and left running."""
    ray = require_ray()
    if ray.is_initialized():
        yield ray
        return
    if options.address == "local":
        ray.init(num_cpus=options.num_cpus, include_dashboard=False, logging_level="WARNING")
    else:
        ray.init(address=options.address, logging_level="WARNING")
    try:
        yield ray
    finally:
        ray.shutdown()


def _run_one(fn, job: tuple, threads: int, env: dict):
    """In the worker: the driver's VAELAB_* settings (cache, data, profile), torch's threads, then fn(*job)."""
    import torch

    os.environ.update(env)
    torch.set_num_threads(threads)
    return fn(*job)


def _show(options: RayOptions) -> bool:
    if options.progress is not None:
        return options.progress
    return "PYTEST_CURRENT_TEST" not in os.environ and os.environ.get("VAELAB_PROGRESS", "1") != "0"


def run_trials(fn, jobs: list, options: RayOptions, *, desc: str = "trials", on_result=None) -> list:
    """[fn(*job) for job in jobs], each as one Ray task reserving options.cpus_per_trial CPUs and
    options.gpus_per_trial of a GPU, retried up to options.max_retries times when its worker dies.

    fn must be picklable (a module-level function, or a closure over picklable values); it is shipped once.
    on_result(i, result) is called in the driver as each job finishes (in finishing order). A progress bar counts
    finished trials. The first error raised by a job cancels the jobs still pending and is raised here (the
    trainings finished before it are in the cache: a rerun loads them)."""
    from tqdm.auto import tqdm

    jobs = [tuple(job) for job in jobs]
    if not jobs:
        return []
    with connected(options) as ray:
        task = ray.remote(_run_one).options(num_cpus=options.cpus_per_trial, num_gpus=options.gpus_per_trial,
                                            max_retries=options.max_retries, retry_exceptions=False)
        env = {k: v for k, v in os.environ.items() if k.startswith("VAELAB_")}
        fn_ref = ray.put(fn)
        refs = [task.remote(fn_ref, job, options.threads, env) for job in jobs]
        index = {ref: i for i, ref in enumerate(refs)}
        results: list = [None] * len(jobs)
        pending = list(refs)
        with tqdm(total=len(jobs), desc=desc, unit="trial", disable=not _show(options)) as bar:
            try:
                while pending:
                    done, pending = ray.wait(pending, num_returns=1)
                    for ref in done:
                        results[index[ref]] = ray.get(ref)
                        bar.update(1)
                        if on_result is not None:
                            on_result(index[ref], results[index[ref]])
            except BaseException:
                for ref in pending:
                    ray.cancel(ref, force=True)
                raise
    return results
