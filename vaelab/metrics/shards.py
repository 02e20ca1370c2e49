"""log p(x) and the inference gaps over a test set split into shards, equal to the serial estimate.

A shard is a contiguous run of rows that starts on a batch boundary. Its estimator first advances its private
generators past the draws the serial run makes for the rows before it (likelihood.skip_iw_draws,
gaps._skip_gap_batch: the same draws, nothing decoded or optimised), so every example gets the same noise as in
the serial run and the joined per-example values are the serial ones, bit for bit (same device, same threads).
The serial estimators themselves are unchanged: their numbers do not move.

How the shards run is the caller's choice: `map_fn(fn, jobs)` -> [fn(*job) for job in jobs], in order. The default
is itertools.starmap (one after the other, here); vaelab.cluster.ray_map runs each shard as a Ray task on its own
worker.
Replaying the draws costs each shard the random numbers (not the decoder passes) of the rows before it.
"""
from __future__ import annotations

import inspect
import math
from itertools import starmap

import torch

from ..checks import check_int
from .gaps import CONVERGE_TOL, gap_columns, inference_gaps, summarise_gaps
from .likelihood import iw_log_px, skip_iw_draws


def shard_bounds(n: int, batch_size: int, shards: int) -> list[tuple[int, int]]:
    """Contiguous (start, stop) row ranges covering 0..n, each starting on a multiple of batch_size, as even as
    whole batches allow; at most one shard per batch (fewer shards than asked when n has fewer batches)."""
    check_int("n", n, 1)
    check_int("batch_size", batch_size, 1)
    check_int("shards", shards, 1)
    batches = math.ceil(n / batch_size)
    shards = min(shards, batches)
    sizes = [batches // shards + (i < batches % shards) for i in range(shards)]
    bounds, start = [], 0
    for size in sizes:
        stop = min(n, start + size * batch_size)
        bounds.append((start, stop))
        start = stop
    return bounds


def iw_log_px_rows(model, x: torch.Tensor, k: int, start: int, stop: int, batch_size: int = 500,
                   chunk: int | None = None, seed: int = 0, proposal=None, precision: str = "fp32") -> torch.Tensor:
    """iw_log_px(model, x, k, seed=seed, ...)[start:stop], computed on those rows only: (stop - start,) nats.
    start must be a multiple of batch_size (a shard_bounds start)."""
    if not (0 <= start < stop <= x.shape[0]) or start % check_int("batch_size", batch_size, 1):
        raise ValueError(f"(start, stop)=({start}, {stop}) must satisfy 0 <= start < stop <= {x.shape[0]} (the "
                         f"examples), start a multiple of batch_size={batch_size}")
    gen = torch.Generator(device=x.device).manual_seed(check_int("seed", seed, 0))
    skip_iw_draws(model, x[:start], k, gen, batch_size=batch_size, chunk=chunk, proposal=proposal,
                  precision=precision)
    rows = None if proposal is None else _rows(proposal, start, stop)
    return iw_log_px(model, x[start:stop], k, batch_size=batch_size, chunk=chunk, generator=gen, proposal=rows,
                     precision=precision)


def _rows(proposal, start, stop):
    from ..inference.families import rows_of
    return rows_of(proposal, slice(start, stop))


def sharded_iw_log_px(model, x: torch.Tensor, k: int, shards: int, batch_size: int = 500, chunk: int | None = None,
                      seed: int = 0, proposal=None, precision: str = "fp32", map_fn=starmap) -> torch.Tensor:
    """iw_log_px(model, x, k, batch_size=..., chunk=..., seed=...) computed in `shards` pieces (map_fn runs them):
    the same (N,) values."""
    bounds = shard_bounds(x.shape[0], batch_size, shards)
    jobs = [(model, x, k, a, b, batch_size, chunk, seed, proposal, precision) for a, b in bounds]
    return torch.cat([v.cpu() for v in map_fn(_iw_job, jobs)]).to(x.device)


def _iw_job(model, x, k, start, stop, batch_size, chunk, seed, proposal, precision):
    return iw_log_px_rows(model, x, k, start, stop, batch_size=batch_size, chunk=chunk, seed=seed, proposal=proposal,
                          precision=precision)


def sharded_inference_gaps(model, x: torch.Tensor, shards: int, map_fn=starmap, converge_tol: float = CONVERGE_TOL,
                           **kwargs) -> dict:
    """inference_gaps(model, x, **kwargs) computed in `shards` pieces (map_fn runs them): the same result.
    kwargs: inference_gaps's (iw_samples, steps, fullcov, batch_size, seed, ...); ais=True cannot be sharded."""
    if kwargs.get("ais") and shards > 1:
        raise ValueError(f"shards={shards} with ais=True: AIS cannot be sharded; use shards=1 or ais=False")
    bounds = shard_bounds(x.shape[0], {**_GAP_DEFAULTS, **kwargs}["batch_size"], shards)
    parts = list(map_fn(_gap_job, [(model, x, bounds_i, kwargs) for bounds_i in bounds]))
    per = {key: torch.cat([p[key] for p in parts]) for key in parts[0]}
    args = {**_GAP_DEFAULTS, **kwargs}
    return summarise_gaps(per, model.latent_dim, iw_samples=args["iw_samples"], steps=args["steps"],
                          fullcov_steps=args["fullcov_steps"], converge_tol=converge_tol)


_GAP_DEFAULTS = {k: p.default for k, p in inspect.signature(inference_gaps).parameters.items()
                 if p.default is not inspect.Parameter.empty}


def _gap_job(model, x, rows, kwargs):
    return gap_columns(model, x, rows=rows, **kwargs)
