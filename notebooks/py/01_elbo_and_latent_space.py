# ---
# jupyter:
#   jupytext:
#     text_representation:
#       extension: .py
#       format_name: percent
#       format_version: '1.3'
#   kernelspec:
#     display_name: Python 3 (ipykernel)
#     language: python
#     name: python3
# ---

# %% [markdown]
# [![Open in Colab](https://colab.research.google.com/assets/colab-badge.svg)](https://colab.research.google.com/github/vaelab/vaelab/blob/main/notebooks/01_elbo_and_latent_space.ipynb)
#
# # 01 · The ELBO and the latent space
#
# **Notation:** [NOTATION.md](NOTATION.md) · **Student version:** [exercises/01_elbo_and_latent_space.ipynb](exercises/01_elbo_and_latent_space.ipynb)
#
# **Learning goals**
# - See why a gradient cannot pass through a random draw, and how the **reparameterization trick**
#   $z = \mu + \sigma\cdot\varepsilon$ lets it; compare its variance with the score-function (REINFORCE) estimator's.
# - Read the ELBO as *reconstruction* minus *KL*, and compute the KL term yourself.
# - See the **rate–distortion** trade-off: weighting the KL by β moves a model along a curve, from
#   detailed codes to no information at all.
# - Look inside a 2-D latent space: where digits land, what the decoder draws at any point, and what lies
#   between two examples.
#
# **Time:** about 40 minutes (the computations take seconds; the rest is looking and thinking).
#
# **Prerequisites:** notebook 00 runs. You know what a Gaussian is and have met the KL divergence; the
# formulas you need are restated here.

# %% tags=["colab-install"]
# On Google Colab only: install vaelab into this runtime and turn on its widget manager (no-op elsewhere).
import sys

if "google.colab" in sys.modules:
    get_ipython().run_line_magic("pip", "install -q 'vaelab @ git+https://github.com/vaelab/vaelab'")
    from google.colab import output
    output.enable_custom_widget_manager()

# %%
# %matplotlib inline
from dataclasses import replace

import torch

import vaelab
from vaelab import checks, metrics, plots, solutions, widgets, zoo
from vaelab.metrics.foundations import gradient_estimates
from vaelab.metrics.latent_paths import decoded_path, lerp
from vaelab.models import DiagGaussian, standard_normal_log_prob
from vaelab.runtime import is_quick
from vaelab.train import beta_sweep

# %% tags=["parameters"]
QUICK = is_quick()                    # VAELAB_QUICK=1 or CI set -> fewer models and epochs
DEVICE = "auto"
TORCH_THREADS = 1                     # tiny models: one thread is as fast and never fights other programs
# the 8-D VAE: digits, hidden [128, 128], 30 epochs (quick) or 150; the beta sweep below uses its settings.
# Change a knob with e.g. BASE = replace(zoo.config("vae-digits-8d"), epochs=60)
BASE = zoo.config("vae-digits-8d")
DATASET, LATENT_DIM, EPOCHS = BASE.dataset, BASE.latent_dim, BASE.epochs
BETAS = [0.1, 0.5, 1.0, 2.0, 4.0] if QUICK else [0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 4.0, 8.0]
MODEL_2D = zoo.config("vae-digits-2d")   # the 2-D model of sections 4-6: 100 epochs (quick) or 400
MC_SAMPLES = 20_000                   # Monte Carlo samples in exercise 3
GRAD_MU, GRAD_SIGMA = 2.0, 1.0        # section 1: d/dmu E[z^2] under N(mu, sigma^2) (exactly 2 mu)
GRAD_SAMPLES = 20_000                 # section 1: single-sample gradient estimates per estimator
N_SHOW = 8
SEED = 0

# %%
torch.set_num_threads(TORCH_THREADS)
device = vaelab.pick_device(DEVICE)
test = vaelab.load_dataset(DATASET, "test", binarize=BASE.binarize, seed=BASE.seed)   # binarized like training
x_test = test.x.to(device)

# %% [markdown]
# ## 1. Sampling you can differentiate: the reparameterization trick
#
# Training a VAE climbs the ELBO by gradient steps in the decoder's weights θ *and* the encoder's weights φ. The
# reconstruction term is an expectation under the encoder's own distribution, $\mathbb E_{q_\phi(z\mid x)}[f(z)]$ with
# $f(z) = \log p_\theta(x\mid z)$, and it can only be estimated by drawing codes $z$. The trouble: φ moves the
# distribution the draws come from. A code drawn by a random-number generator is just a number; nothing connects it
# to φ, and autograd cannot differentiate through "draw from $\mathcal N(\mu, \sigma^2)$".
#
# Two ways out, both unbiased:
# - **Score function** (REINFORCE; Williams 1992): $\nabla_\phi \mathbb E_{q_\phi}[f(z)] = \mathbb E_{q_\phi}\big[f(z)\,\nabla_\phi \log q_\phi(z)\big]$.
#   Differentiate the density, not the draw. It works for any $f$, even one without a derivative, but the product
#   $f(z)\cdot\nabla_\phi\log q_\phi(z)$ swings widely from draw to draw.
# - **Reparameterization** (the pathwise gradient; Kingma & Welling 2014, Rezende et al. 2014): draw the noise first,
#   $\varepsilon \sim \mathcal N(0, 1)$, then compute $z = \mu + \sigma\cdot\varepsilon$. The randomness no longer depends
#   on φ, and $z$ is a differentiable function of $\mu$ and $\sigma$, hence of φ:
#   $\nabla_\phi \mathbb E_{q_\phi}[f(z)] = \mathbb E_{\varepsilon}\big[\nabla_\phi f(\mu_\phi + \sigma_\phi\varepsilon)\big]$. It needs a
#   differentiable $f$, which $\log p(x\mid z)$ is, and it uses $f$'s slope, not only its values.
#
# The figure compares the two on the simplest case: the derivative of $\mathbb E_{z\sim\mathcal N(\mu, \sigma^2)}[z^2] =
# \mu^2 + \sigma^2$ with respect to $\mu$, which is exactly $2\mu$. Each histogram holds `GRAD_SAMPLES` single-sample
# estimates from the same draws: pathwise $f'(z) = 2z$, score function $z^2\,(z-\mu)/\sigma^2$
# (`vaelab.metrics.foundations.gradient_estimates`, which takes both derivatives by autograd).

# %%
# GRAD_SAMPLES single-sample estimates of d/dmu E[z^2] at mu = GRAD_MU, sigma = GRAD_SIGMA, by each estimator
g = gradient_estimates(lambda z: z ** 2, GRAD_MU, GRAD_SIGMA, GRAD_SAMPLES, seed=SEED)
exact_grad = 2 * GRAD_MU
estimators = {"score function (REINFORCE): f(z)·(z − μ)/σ²": g["score"],
              "pathwise (reparameterized): f′(μ + σε)": g["pathwise"]}
summary = {name: (v, *metrics.mean_se(v)) for name, v in estimators.items()}
for name, (v, mean, se) in summary.items():
    print(f"{name:<46} mean {mean:6.3f} ± {se:.3f} (SE)   sd of one estimate {float(v.std()):5.2f}")
ratio = float(g["score"].var() / g["pathwise"].var())
print(f"exact: 2μ = {exact_grad:g}.  Variance of one estimate, score / pathwise: {ratio:.1f}")
plots.gradient_estimator_view(summary, exact_grad, title="Two unbiased estimators of one gradient",
                              xlabel=f"single-sample estimate of dE[z²]/dμ at μ = {GRAD_MU:g}, σ = {GRAD_SIGMA:g}")

# %%
# The claim, checked: both estimators are unbiased (each mean within 3 SE of 2 mu), and one pathwise estimate
# varies far less than one score-function estimate (here sd 2 sigma = 2 against about 9.3 in closed form).
for name, (v, mean, se) in summary.items():
    assert abs(mean - exact_grad) < 3 * se, f"{name}: mean {mean:.3f} ± {se:.3f}, exact {exact_grad:g}"
assert float(g["score"].std()) > 3 * float(g["pathwise"].std())
print(f"checked: both unbiased; the score function needs about {ratio:.0f}x as many samples for the same precision")

# %% [markdown]
# Both histograms centre on the exact value; the pathwise one is far narrower. To reach the same precision the score
# function needs as many times more samples as the printed variance ratio (about 20 here). (Baselines and other
# control variates shrink the score function's variance, and they are how it is used where no reparameterization
# exists, for discrete latents.) In a VAE the encoder outputs $\mu$ and $\log\sigma^2$, the code is
# $z = \mu + \exp(\tfrac12\log\sigma^2)\cdot\varepsilon$, and the gradient of the reconstruction term flows from the decoder
# through $z$ into the encoder. vaelab's `DiagGaussian.rsample` does exactly this in every training step of these
# notebooks.
#
# ### Exercise 1 · the reparameterized draw  *(your turn)*
# Write `my_reparam_sample(mu, logvar, eps)`: $z = \mu + \exp(\tfrac12 \log\sigma^2)\cdot\varepsilon$ for tensors of shape
# (5, 2), with `logvar` $= \log\sigma^2$. The self-check compares your $z$ with the package's sampler on the same noise,
# and checks that autograd carries gradients through it: $\partial z/\partial\mu = 1$ and
# $\partial z/\partial\log\sigma^2 = \tfrac12\sigma\varepsilon$.

# %% tags=["solution"]
gen = torch.Generator().manual_seed(SEED)
mu_ex = torch.randn(5, 2, generator=gen).requires_grad_(True)
logvar_ex = torch.randn(5, 2, generator=gen).requires_grad_(True)
eps_ex = torch.randn(5, 2, generator=torch.Generator().manual_seed(SEED + 1))   # the noise, drawn first

def my_reparam_sample(mu, logvar, eps):
    # YOUR TURN: return z = mu + sigma * eps, with sigma = exp(logvar / 2), shape (5, 2).
    # BEGIN SOLUTION
    return mu + torch.exp(0.5 * logvar) * eps
    # END SOLUTION

mine = checks.yours_or_reference(my_reparam_sample, solutions.reparam_sample, mu_ex, logvar_ex, eps_ex)
mine

# %%
# Self-check: the package's sampler, DiagGaussian.rsample, draws the same noise from the same seed.
expected = DiagGaussian(mu_ex, logvar_ex).rsample(generator=torch.Generator().manual_seed(SEED + 1))
assert tuple(mine.shape) == (5, 2), f"expected shape (5, 2), got {tuple(mine.shape)}"
assert torch.allclose(mine, expected, atol=1e-6), (
    "your z differs from DiagGaussian.rsample's: sigma is exp(logvar / 2), the square root of exp(logvar).")
assert mine.requires_grad, "your z carries no gradient: build it from mu and logvar with torch operations (no .detach())"
# the gradients of a loss through your z against autograd through the package's closed form
yours = torch.autograd.grad((mine ** 2).sum(), (mu_ex, logvar_ex))
theirs = torch.autograd.grad((expected ** 2).sum(), (mu_ex, logvar_ex))
assert all(torch.allclose(a, b, atol=1e-5) for a, b in zip(yours, theirs)), (
    "the values match but the gradients do not: compute z from mu and logvar directly, not from a copy.")
checks.passed(my_reparam_sample, "Exercise 1 passed: your z is the package's draw, and gradients flow through it.")

# %% [markdown]
# ## 2. Anatomy of the ELBO
#
# The rest of the notebook looks at trained models. The next cell loads the 8-D VAE (or trains it, once).

# %%
# # copy the repository's shipped quick-mode checkpoints of this notebook's models into the cache
# (trains nothing; `python -m vaelab zoo build --quick` builds the rest ahead of time)
zoo.prefetch("01_elbo_and_latent_space")
base = BASE
model, history = vaelab.load_or_train(base, device=device)
print(f"device {device}; a {LATENT_DIM}-D VAE trained for {len(history)} epochs; {len(test)} test digits")

# %% [markdown]
# For one image $x$, with encoder $q(z\mid x)$, decoder $p(x\mid z)$ and prior $p(z)=\mathcal N(0, I)$:
#
# $$
# \log p(x) \;\ge\; \text{ELBO}(x) \;=\; \underbrace{\mathbb E_{q(z\mid x)}\big[\log p(x\mid z)\big]}_{-\text{reconstruction cost}}
# \;-\; \underbrace{\mathrm{KL}\big(q(z\mid x)\,\|\,p(z)\big)}_{\text{rate}}
# $$
#
# - **Reconstruction cost** (also *distortion*): encode $x$, draw a code $z$, decode it; how many nats does
#   the decoder need to describe the actual $x$? Small when the code carries what matters about $x$.
# - **KL** (also *rate*; rate and distortion are the names of Alemi et al. 2018): how far the code distribution for this $x$ moves away from the prior. A code that
#   ignores $x$ costs 0. Averaged over the data, the KL is the information the code carries about $x$,
#   $I(x; z)$, *plus* how far the codes' overall distribution $q(z)$ strays from the prior,
#   $\mathrm{KL}(q(z)\,\|\,p(z))$ (Hoffman & Johnson 2016): an upper bound on that information, not the information itself (notebooks 02
#   and 04 use this split).
#
# Training minimises their sum, $-\text{ELBO}$, so the two pull against each other: every nat of
# information in $z$ must pay for itself with at least a nat less reconstruction cost.
# The bars below take the sum apart for a few test digits and for the test-set mean.
#
# **Which likelihood, and why.** The decoder outputs one probability per pixel: a *Bernoulli* likelihood. That is a true probability only for black-and-white pixels, so the digits are **binarized** once (each pixel becomes 1 with probability equal to its greyness, with a fixed seed). Then $-\log p(x\mid z)$ is a code length in nats, comparable with published numbers on binarized MNIST. On grey pixels the same formula is a cross-entropy, not a log-likelihood: vaelab refuses it and offers the *continuous Bernoulli* (`likelihood="cbernoulli"`, Loaiza-Ganem & Cunningham 2019), a normalised density on $[0, 1]$ that `TrainConfig` picks by itself for grey data. A density's values can be negative and compare only with other densities on the same data.

# %%
parts = metrics.elbo_parts(model, x_test)             # rec (N,), kl (N,): nats per image
rec, kl = parts["rec"].cpu(), parts["kl"].cpu()
show = [0, 1, 2, 3]
labels = [f"test #{i} (a {int(test.y[i])})" for i in show] + ["test-set mean"]
plots.elbo_anatomy([float(rec[i]) for i in show] + [float(rec.mean())],
                   [float(kl[i]) for i in show] + [float(kl.mean())], labels=labels)

# %% [markdown]
# Two things to notice. The reconstruction cost is most of the bill: describing 64 binary pixels is
# expensive. And the ELBO is **per image**: some digits cost many more nats than others (compare the
# rows with the mean). The KL is a few nats, and its mean bounds the information about each image that this model
# keeps in $z$ (section 2's split: $I(x;z)$ is at most the mean KL). A few nats are enough to redraw a recognisable digit.
#
# ### Exercise 2 · the KL term by hand  *(your turn — try before reading the cell)*
# For a diagonal Gaussian $q = \mathcal N(\mu, \operatorname{diag}\sigma^2)$ and $p=\mathcal N(0,I)$ the
# KL has a closed form (Kingma & Welling 2014, appendix B):
# $$\mathrm{KL}(q\,\|\,p) = \tfrac12 \sum_{j} \big(\mu_j^2 + \sigma_j^2 - 1 - \log \sigma_j^2\big).$$
# The encoder returns `q.mu` and `q.logvar` ($\log\sigma^2$), each of shape (5, 8) for five images.
# Write the body of `my_kl` (one line). The self-check below compares it with the package's closed form.

# %% tags=["solution"]
q = model.encode(x_test[:5])

def my_kl(mu, logvar):
    # YOUR TURN: return the KL of each row to N(0, I), shape (5,).
    # BEGIN SOLUTION
    return 0.5 * (mu ** 2 + logvar.exp() - 1 - logvar).sum(-1)
    # END SOLUTION

# your my_kl; while it is still the stub, the reference in vaelab.solutions (a note says so)
mine = checks.yours_or_reference(my_kl, solutions.kl_to_standard_normal, q.mu.detach(), q.logvar.detach())
mine

# %%
# Self-check: compares with the package's closed form.
expected = q.kl_standard().detach()
assert mine.shape == expected.shape, f"my_kl should return one number per image, shape {tuple(expected.shape)}; got {tuple(mine.shape)}"
assert torch.allclose(mine, expected, atol=1e-4), (
    f"not quite: you have {mine.tolist()}, expected {expected.tolist()}. "
    "Check that you sum over the latent dimension and use exp(logvar) for sigma^2.")
checks.passed(my_kl, "Exercise 2 passed: your KL matches q.kl_standard().")

# %% [markdown]
# ### Exercise 3 · the KL is an expectation  *(your turn)*
# The closed form is a shortcut. By definition $\mathrm{KL}(q\,\|\,p) = \mathbb E_{z\sim q}\big[\log q(z) - \log p(z)\big]$,
# which you can estimate by averaging over samples. This is what an IWAE or any model without a closed-form
# KL has to do. Use `q.rsample(n)` (shape (n, 5, 8)), `q.log_prob(z)` and `standard_normal_log_prob(z)`.

# %% tags=["solution"]
torch.manual_seed(SEED)

def my_mc_kl(q, n):
    # YOUR TURN: a Monte Carlo estimate of KL(q || N(0, I)) per image from n samples, shape (5,).
    # BEGIN SOLUTION
    z = q.rsample(n)
    return (q.log_prob(z) - standard_normal_log_prob(z)).mean(0)
    # END SOLUTION

mc = checks.yours_or_reference(my_mc_kl, solutions.monte_carlo_kl, q, MC_SAMPLES).detach()
mc

# %%
# Self-check: within Monte Carlo error of the closed form (0.1 nats is about 10 standard errors here).
exact = q.kl_standard().detach()
gap = (mc - exact).abs().max()
assert gap < 0.1, (f"your estimate is {gap:.3f} nats from the closed form {exact.tolist()}. "
                   "Average log q(z) - log p(z) over the sample dimension (dim 0), not over images.")
checks.passed(my_mc_kl, f"Exercise 3 passed: Monte Carlo and closed form agree to {gap:.4f} nats.")

# %% [markdown]
# ## 3. Rate and distortion: the β-VAE
#
# Put a weight β on the KL: minimise $\text{reconstruction} + \beta\cdot\text{KL}$, the β-VAE objective
# (Higgins et al. 2017, who use β > 1 to push the code's dimensions towards independent factors). At β = 1 this is the
# ELBO. With β < 1 information in $z$ is cheap, so the model uses more of it: **higher rate, lower
# distortion**. With β > 1 information is expensive: **lower rate, higher distortion**. For large enough β
# the code carries nothing at all (rate ≈ 0): *posterior collapse*, the subject of a later notebook.
# Alemi et al. (2018) read the whole family this way: each β picks one point of a rate–distortion curve, and
# β < 1 is as legitimate a choice as β > 1; which point is best depends on what the model is for.
#
# The next cell trains one model per β (or loads them from the cache), then measures rate and distortion
# on the test set. The slider below only *selects* among these finished models.

# %%
sweep = beta_sweep(BETAS, base, device=device)
for r in sweep:
    print(f"beta {r['beta']:5g}   rate {r['rate']:6.2f} ± {r['rate_se']:.2f}   distortion {r['distortion']:6.2f} ± "
          f"{r['distortion_se']:.2f}   -ELBO {-r['elbo']:6.2f} ± {r['elbo_se']:.2f}  nats (± SE over test digits)")

# %%
# The claim of this section, checked on the numbers above.
low, high = sweep[0], sweep[-1]
# each difference against its noise (unpaired: conservative, the two models see the same digits)
rate_se = (low["rate_se"] ** 2 + high["rate_se"] ** 2) ** 0.5
dist_se = (low["distortion_se"] ** 2 + high["distortion_se"] ** 2) ** 0.5
assert low["rate"] - high["rate"] > 3 * rate_se and high["distortion"] - low["distortion"] > 3 * dist_se, (
    "expected the smallest beta to have the higher rate and the lower distortion; "
    "train longer (EPOCHS) if this fails")
print(f"beta {low['beta']:g} -> {high['beta']:g}: rate {low['rate']:.2f} -> {high['rate']:.2f}, "
      f"distortion {low['distortion']:.2f} -> {high['distortion']:.2f} nats")

# %%
explorer = widgets.beta_sweep_explorer(sweep, x_test, n_show=N_SHOW, beta=1.0)
explorer

# %% [markdown]
# **Things to try with the slider**
# - Move to the largest β. The rate is about 0, so the decoder gets no information about the image: every
#   reconstruction is the same "average digit", and samples look alike.
# - Move to the smallest β. Reconstructions follow their inputs closely, but samples from the prior tend to
#   get blotchier: the codes have spread out to places the prior $\mathcal N(0, I)$ rarely draws from, and
#   the decoder has never learned what to draw where the prior *does* look.
# - The dashed green line joins all points with the **same** −ELBO as the selected model. Points below it
#   have a better ELBO. Which β is best by the ELBO? Is that also the model you would pick to *sample* from?

# %% [markdown]
# ## 4. A 2-D latent map
#
# With only two latent dimensions we can *look* at the code space. Each dot below is the encoder's mean
# $\mathbb E_q[z\mid x]$ for one test digit, coloured by its label (which the VAE never saw).

# %%
model2d, history2d = vaelab.load_or_train(MODEL_2D, device=device)
mu2d, _ = metrics.encode_all(model2d, x_test)
plots.latent_scatter(mu2d, test.y, title="Test digits in a 2-D latent space (colour = true label)")

# %% [markdown]
# Digits of one class gather without any label in the loss: drawing similar images needs similar codes.
# The cloud is squeezed into roughly $[-3, 3]^2$ by the KL term, which pulls every $q(z\mid x)$ towards
# $\mathcal N(0, I)$. Classes that look alike overlap (look for 3, 8 and 9): two numbers are not enough to
# keep them all apart.
#
# ## 5. What the decoder draws
# Move the sliders to choose a point $z$; the decoder draws the mean of $p(x\mid z)$ there. The cross on
# the map shows where you are. Try the middle of a cluster, the border between two clusters, and far
# outside the cloud (e.g. $z=(3, 3)$): what does the decoder do where it was never trained?

# %%
decoder = widgets.decoder_explorer(model2d, background=mu2d, labels=test.y)
decoder

# %% [markdown]
# ## 6. Walking between two digits
# Encode two test digits, walk in a straight line between their codes, and decode each step. The path is
# drawn on the map, then decoded below. A smooth morph means the decoder is smooth between the two clusters.

# %%
a = int((test.y == 0).nonzero()[0])       # the first 0 in the test set
b = int((test.y == 7).nonzero()[0])       # the first 7
path = decoded_path(model2d, test.x[a], test.x[b], steps=N_SHOW)
plots.latent_scatter(mu2d, test.y, highlight=[a, b], path=path["z"], title="A straight path from a 0 to a 7")

# %%
walk = widgets.interpolation_explorer(model2d, test, a=a, b=b, steps=N_SHOW)
walk


# %% [markdown]
# With the **spherical** path the walk keeps (about) the same distance from the origin instead of cutting
# across it. In high dimensions this matters: under $\mathcal N(0, I)$ almost all codes lie near a sphere of
# radius $\sqrt d$, and a straight line's midpoint is closer to the centre than typical codes are.
#
# ### Exercise 4 · a straight line in code space  *(your turn)*
# Write the points $z(u) = (1-u)\,z_a + u\,z_b$ for `steps` values of $u$ evenly spaced from 0 to 1 (both ends
# included), as a tensor of shape (steps, d). In the code, $z_a$ and $z_b$ are `z0` and `z1`.

# %% tags=["solution"]
def my_lerp(z0, z1, steps):
    # YOUR TURN: return (steps, d).
    # BEGIN SOLUTION
    t = torch.linspace(0, 1, steps)[:, None]
    return (1 - t) * z0 + t * z1
    # END SOLUTION

z0, z1 = path["z"][0], path["z"][-1]
mine = checks.yours_or_reference(my_lerp, lerp, z0, z1, 5)

# %%
# Self-check against the package's interpolation.
expected = lerp(z0, z1, 5)
assert tuple(mine.shape) == tuple(expected.shape), f"expected shape {tuple(expected.shape)}, got {tuple(mine.shape)}"
assert torch.allclose(mine, expected, atol=1e-5), (
    "the points differ: the first row must be z0, the last z1, and the steps evenly spaced.")
checks.passed(my_lerp, "Exercise 4 passed.")

# %% [markdown]
# ## Summary
# - A draw from $q$ is differentiable once it is written $z = \mu + \sigma\cdot\varepsilon$ with the noise drawn first: the
#   pathwise gradient, far less noisy here than the score function (REINFORCE), which differentiates the density.
# - $-\text{ELBO}$ = reconstruction cost + KL: distortion plus rate, in nats per image.
# - Weighting the KL by β moves a model along a rate–distortion curve; β = 1 is the ELBO, large β collapses
#   the posterior to the prior and the code carries nothing.
# - A 2-D latent map shows structure the model found without labels; the decoder is defined everywhere in
#   $z$, and paths between codes decode to (mostly) smooth morphs.
#
# **Next:** when and why does a VAE *ignore* its latent code, even at β = 1? That is posterior collapse.

# %%
# The summary figure: section 3's β-VAEs, each one point of a rate-distortion curve (dashed: equal -ELBO)
plots.rate_distortion([r["rate"] for r in sweep], [r["distortion"] for r in sweep], [r["beta"] for r in sweep],
                      title="Summary: β picks a point on the rate-distortion curve")

# %% [markdown]
# ## References
#
# - Alemi, A. A., Poole, B., Fischer, I., Dillon, J. V., Saurous, R. A. & Murphy, K. (2018). Fixing a broken ELBO. *International Conference on Machine Learning (ICML)*. arXiv:1711.00464.
# - Higgins, I., Matthey, L., Pal, A., Burgess, C., Glorot, X., Botvinick, M., Mohamed, S. & Lerchner, A. (2017). β-VAE: learning basic visual concepts with a constrained variational framework. *ICLR*. No arXiv version (openreview.net/forum?id=Sy2fzU9gl).
# - Hoffman, M. D. & Johnson, M. J. (2016). ELBO surgery: yet another way to carve up the variational evidence lower bound. *NIPS 2016 Workshop on Advances in Approximate Bayesian Inference*. No arXiv version.
# - Kingma, D. P. & Welling, M. (2014). Auto-encoding variational Bayes. *International Conference on Learning Representations (ICLR)*. arXiv:1312.6114.
# - Loaiza-Ganem, G. & Cunningham, J. P. (2019). The continuous Bernoulli: fixing a pervasive error in variational autoencoders. *Advances in Neural Information Processing Systems (NeurIPS)*. arXiv:1907.06845.
# - Rezende, D. J., Mohamed, S. & Wierstra, D. (2014). Stochastic backpropagation and approximate inference in deep generative models. *International Conference on Machine Learning (ICML)*. arXiv:1401.4082.
# - Williams, R. J. (1992). Simple statistical gradient-following algorithms for connectionist reinforcement learning. *Machine Learning*, 8, 229–256. No arXiv version.
