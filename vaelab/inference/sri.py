"""Short-run inference (SRI; Pang, Nijkamp, Han & Wu, EACL 2021): train a decoder with no encoder at all.

For each x, start at z_0 ~ N(0, I) and run K Langevin steps on log p(x, z) (vaelab.inference.langevin):
    z <- z + ½ s_i² ∇_z log p(x, z) + T s_i ε,   with s_i falling linearly from step_start to step_end.
The decoder then learns on -log p(x | z_K) with z_K held fixed (no gradient through the chain).
Defaults: 20 steps, sizes falling linearly from 0.8 to 0.05, T = 0.2. The official code (bpucla/sri_text,
train_sri.py) uses the same end points and T but a fixed list, vaelab.inference.langevin.SRI_STEP_SIZES
(0.8, 0.7, 0.6, 0.5, 0.2, 0.2, 0.1, 0.1, then 0.05 for 12 steps), and weights the prior term of the drift by a
warm-up β; a linear ramp lets K vary. With T = 0.2 the chain targets p(z|x)^25, not the posterior: closer to noisy
optimisation than to sampling (T = 1 samples the posterior). And a step s is stable only where the posterior's
standard deviation exceeds about s/2: the first steps of size 0.8 overshoot narrow posteriors.

With a latent EBM prior (model.prior, an EBMPrior; Pang, Han, Nijkamp, Zhu & Wu, NeurIPS 2020) the posterior chain
runs on log p_a(z) + log p(x|z), and the same loss also trains the prior: f_a(z_prior).mean() - f_a(z_K).mean(),
whose gradient is E_prior[∇f_a] - E_posterior[∇f_a] (vaelab.objectives.ebm), with z_prior drawn by the prior's
own short-run chain (model.prior.steps steps of size model.prior.step_size from N(0, I)).

stats: loss, rec = -log p(x|z_K) (batch mean, nats; *not* a bound on -log p(x)), and with an EBM prior ebm_loss,
f_post, f_prior. There is no KL: kl_weight (warm-up schedules) does not apply and is ignored.
"""
from __future__ import annotations

from functools import partial

from ..checks import check_float, check_int
from ..objectives.ebm import ebm_prior_loss
from ..objectives.objective import ObjectiveKind, Param
from .langevin import posterior_langevin, prior_langevin


def schedule(start: float, end: float):
    """The step sizes' schedule for vaelab.inference.langevin: constant when start == end, else linear."""
    return float(start) if start == end else ("linear", float(start), float(end))


def sri_loss(model, x, kl_weight: float = 1.0, *, langevin_steps: int = 20, langevin_step_start: float = 0.8,
             langevin_step_end: float = 0.05, langevin_temperature: float = 0.2, generator=None):
    """-log p(x | z_K) (batch mean) at short-run posterior samples z_K, plus the EBM prior's contrastive loss when
    the model has one: (loss, stats). See the module docstring."""
    del kl_weight                                     # no KL term
    sizes = schedule(langevin_step_start, langevin_step_end)
    chain = posterior_langevin(model, x, steps=langevin_steps, step_size=sizes, temperature=langevin_temperature,
                               prior=model.prior, generator=generator)
    rec = -model.decode(chain.z).log_prob(x).mean()
    loss, stats = rec, {}
    if model.prior is not None:
        prior = model.prior
        z_prior = prior_langevin(prior, x.shape[0], steps=prior.steps, step_size=prior.step_size,
                                 generator=generator).z
        ebm, stats = ebm_prior_loss(prior, chain.z, z_prior)
        loss = loss + ebm
    return loss, {"loss": loss.detach(), "rec": rec.detach(), **stats}


def _steps(name, value):
    return check_int(name, value, 1)


def _size(name, value):
    return check_float(name, value, 0.0, strict=True)


KIND = ObjectiveKind(
    "sri", {"langevin_steps": Param(20, _steps, "Langevin steps K >= 1 per example"),
            "langevin_step_start": Param(0.8, _size, "the first step size s_1 > 0"),
            "langevin_step_end": Param(0.05, _size, "the last step size s_K > 0 (linear in between)"),
            "langevin_temperature": Param(0.2, lambda n, v: check_float(n, v, 0.0),
                                          "T >= 0, multiplying the noise (T = 1: the exact posterior's chain)")},
    lambda **p: partial(sri_loss, **p), trains_encoder=False, compilable=False,
    doc="short-run inference: a decoder trained at Langevin posterior samples (Pang et al. 2021)")
