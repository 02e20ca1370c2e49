"""log p(x) estimates: the ELBO and importance sampling with many samples, chunked to bound memory."""
from __future__ import annotations

import math

import torch

from ..checks import check_finite, check_int
from ..inference.families import rows_of
from ..models.distributions import standard_normal_log_prob
from ..models.fused import fused_log_lik
from ..runtime import precision as arithmetic

# Elements of the largest (samples x batch x data) tensor one chunk may hold. On a GPU ~128 MB of float32 keeps
# the kernels large; on a CPU ~8 MB stays near the caches: same values, 1.55x (MLP), 1.17x (LSTM) and 3.8x
# (PixelCNN) faster than 128 MB with K=1000 on 300 test examples of the quick zoo models, one thread, 2 cores.
CHUNK_ELEMENTS = {"cuda": 2 ** 25, "cpu": 2 ** 21}


def samples_per_chunk(model, xb: torch.Tensor, k: int) -> int:
    """How many of the K samples iw_log_px scores at once for the batch xb: about CHUNK_ELEMENTS decoder outputs."""
    # autoregressive decoders hold several activations per data element (LSTM: a vocabulary of logits)
    width = max(1, xb[0].numel()) * getattr(model.decoder, "activations_per_element", 1)
    budget = CHUNK_ELEMENTS.get(xb.device.type, CHUNK_ELEMENTS["cuda"])
    return max(1, min(k, budget // (xb.shape[0] * width)))


def mean_se(t: torch.Tensor) -> tuple[float, float]:
    """(mean, standard error of the mean) of per-example values t (N,), N >= 2, as floats in t's units:
    se = std(t) / sqrt(N), std with Bessel's correction. For a difference of two quantities measured on the
    same examples (e.g. a gap, or two models), pass the per-example differences: that is the paired SE."""
    t = torch.as_tensor(t).detach().reshape(-1).double()
    if t.numel() < 2:
        raise ValueError(f"t must hold at least 2 values for a standard error, got {t.numel()}")
    return float(t.mean()), float(t.std() / math.sqrt(t.numel()))


@torch.inference_mode()
def decoder_only_nll(model, x: torch.Tensor, batch_size: int = 500) -> torch.Tensor:
    """-log p(x | z = 0) per example (N,), exact: the likelihood of a model trained with objective 'lm' (the
    decoder alone). For any other model it is only a decoder evaluated at the prior's mean, not a likelihood."""
    check_int("batch_size", batch_size, 1)
    out = []
    for i in range(0, x.shape[0], batch_size):
        xb = x[i:i + batch_size]
        z = torch.zeros(xb.shape[0], model.latent_dim, device=xb.device)
        out.append(-model.decode(z).log_prob(xb))
    return torch.cat(out) if out else torch.zeros(0, device=x.device)


@torch.inference_mode()
def iw_log_px(model, x: torch.Tensor, k: int, batch_size: int = 500, chunk: int | None = None, seed: int = 0,
              generator: torch.Generator | None = None, proposal=None, precision: str = "fp32",
              log_prior=None) -> torch.Tensor:
    """log p(x) ~ L_K = logsumexp_k log w_k - log K with z_k ~ q(z|x), per example: (N,) nats.

    proposal: None (the encoder's q(z|x)) or a batched proposal with N rows and rsample(n, generator) and
    log_prob: a DiagGaussian, an inference.FullGaussian (e.g. the per-example optimum q*) or, better, an
    inference.families.defensive_proposal(q*) (finite-variance weights): then w_k = p(x, z_k) / proposal(z_k).

    Randomness: every draw comes from `generator` (a torch.Generator on x's device), else from a private
    generator seeded with `seed`; torch's global random state is left alone. One generator runs through all
    batches and chunks, so examples get independent draws; the same seed gives the same numbers (for the
    same batch_size and chunk). Passing one generator to successive calls continues its stream.

    Memory is bounded by `batch_size` examples and `chunk` samples at a time (auto: about
    CHUNK_ELEMENTS[device] decoder outputs); the chunks are combined exactly with a running logsumexp,
    so the value does not depend on the chunking beyond Monte Carlo noise. MLP decoders with a Bernoulli likelihood
    (in fp32/tf32) take a fused log p(x|z) (vaelab.models.fused: no (chunk, batch, pixels) temporaries besides the
    logits, buffers reused): the same draws and the same values up to float rounding, and peak memory flat in K.

    log_prior: None (the N(0, I) prior) or a callable z (M, d) -> (M,) log prior density, e.g. an EBM prior's
    unnormalised log density (vaelab.metrics.encoder_free subtracts its log Z); needs an explicit `proposal`.

    precision: 'fp32' (default), 'tf32' or 'bf16' (autocast): faster where the hardware supports it; the
    -log p(x) of the zoo models moves by < 0.05 nats (tests/test_iw_agreement.py, benchmarks/bench_iwnll.py).
    """
    check_finite("x", x)
    check_int("k", k, 1)
    check_int("batch_size", batch_size, 1)
    if chunk is not None:
        check_int("chunk", chunk, 1)
    if log_prior is not None and proposal is None:
        raise ValueError("log_prior needs an explicit proposal: the encoder's q(z|x) was trained for the N(0, I) prior")
    if generator is None:
        generator = torch.Generator(device=x.device).manual_seed(check_int("seed", seed, 0))
    out = []
    with arithmetic(precision, x.device):
        for start in range(0, x.shape[0], batch_size):
            out.append(_iw_batch(model, x, start, batch_size, k, chunk, proposal, generator, log_prior))
    return torch.cat(out)


def _chunk_sizes(model, xb: torch.Tensor, k: int, chunk: int | None) -> list[int]:
    """The numbers of samples iw_log_px draws, one chunk after the other, for the batch xb."""
    step = chunk or samples_per_chunk(model, xb, k)
    return [min(step, k - done) for done in range(0, k, step)]


def _iw_batch(model, x, start, batch_size, k, chunk, proposal, generator, log_prior=None) -> torch.Tensor:
    xb = x[start:start + batch_size]
    # the proposal's rows for this batch: the encoder runs once per batch, not once per chunk
    q = model.encode(xb) if proposal is None else rows_of(proposal, slice(start, start + batch_size))
    # log p(x|z) without the (K', B, pixels) temporaries of decode(z).log_prob(xb) where the model allows it
    log_lik = fused_log_lik(model, xb) or (lambda z: model.decode(z).log_prob(xb))
    sizes = _chunk_sizes(model, xb, k, chunk)
    # one row per chunk, allocated at the first: the loop allocates nothing that outlives its chunk
    parts = None
    for i, n in enumerate(sizes):
        z = q.rsample(n, generator=generator)                                 # (K', B, d)
        prior = standard_normal_log_prob(z) if log_prior is None else \
            log_prior(z.reshape(-1, z.shape[-1])).view(z.shape[:-1])
        log_w = log_lik(z) - (q.log_prob(z) - prior)                        # as objectives.log_importance_weights
        log_w = log_w.to(torch.promote_types(log_w.dtype, torch.float32))   # bf16 -> fp32
        if parts is None:
            parts = log_w.new_empty(len(sizes), xb.shape[0])
        parts[i] = torch.logsumexp(log_w, 0)
    return torch.logsumexp(parts, 0) - math.log(k)


@torch.inference_mode()
def skip_iw_draws(model, x: torch.Tensor, k: int, generator: torch.Generator, batch_size: int = 500,
                  chunk: int | None = None, proposal=None, precision: str = "fp32") -> torch.Generator:
    """Advance `generator` exactly as iw_log_px(model, x, k, ...) with the same arguments would, without decoding:
    the same draws (shapes, dtypes, order) from the same proposals, values thrown away. Returns the generator.

    Why: a shard of the test set that starts at row s (a multiple of batch_size) then continues the serial stream
    where the serial run would be at row s, so its numbers are the serial ones (vaelab.metrics.shards). Every draw
    of a proposal (torch.randn/rand) consumes the generator by its shape alone, not by the values it makes."""
    with arithmetic(precision, x.device):
        for start in range(0, x.shape[0], batch_size):
            xb = x[start:start + batch_size]
            q = model.encode(xb) if proposal is None else rows_of(proposal, slice(start, start + batch_size))
            for n in _chunk_sizes(model, xb, k, chunk):
                q.rsample(n, generator=generator)
    return generator


@torch.inference_mode()
def elbo_parts(model, x: torch.Tensor, batch_size: int = 1000, generator: torch.Generator | None = None) -> dict:
    """One pass over x: rec (N,) = -log p(x|z), z ~ q (one sample); kl (N,) analytic; mu, logvar (N, d).
    generator: a torch.Generator on the model's device for the draws of z (None: torch's global generator)."""
    check_finite("x", x)
    check_int("batch_size", batch_size, 1)
    rec, mu, logvar = [], [], []
    for start in range(0, x.shape[0], batch_size):
        xb = x[start:start + batch_size]
        q = model.encode(xb)
        rec.append(-model.decode(q.rsample(generator=generator)).log_prob(xb))
        mu.append(q.mu)
        logvar.append(q.logvar)
    mu, logvar = torch.cat(mu), torch.cat(logvar)
    kl_dim = 0.5 * (mu ** 2 + logvar.exp() - 1 - logvar)
    return {"rec": torch.cat(rec), "kl": kl_dim.sum(-1), "kl_dim": kl_dim, "mu": mu, "logvar": logvar}
