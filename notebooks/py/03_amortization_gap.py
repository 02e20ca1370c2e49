# ---
# jupyter:
#   jupytext:
#     text_representation:
#       extension: .py
#       format_name: percent
#       format_version: '1.3'
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# [![Open in Colab](https://colab.research.google.com/assets/colab-badge.svg)](https://colab.research.google.com/github/vaelab/vaelab/blob/main/notebooks/03_amortization_gap.ipynb)
#
# # 03 · The amortization gap
#
# **Notation:** [NOTATION.md](NOTATION.md) · **Student version:** [exercises/03_amortization_gap.ipynb](exercises/03_amortization_gap.ipynb)
#
# **Learning goals**
# - Split the gap between $\log p(x)$ and the encoder's ELBO into an **approximation gap** (the Gaussian family
#   is too simple) and an **amortization gap** (the encoder does not find the best Gaussian), following
#   Cremer, Li & Duvenaud (2018), *Inference suboptimality in variational autoencoders*.
# - See the true posterior $p(z\mid x)$ of a 2-D latent model, and how the encoder's $q$, the optimal diagonal
#   $q^*$ and a full-covariance $q^*$ sit on it.
# - Measure the gaps on a whole test set and see how they move with network size and training length.
#
# **Time:** about 45 minutes (quick mode computes everything in well under two minutes).
#
# **Prerequisites:** notebook 01 (the ELBO, the 2-D latent map). The importance-weighted bound $\mathcal L_S$ is
# restated below.

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

from IPython.display import Markdown, display

import torch

import vaelab
from vaelab import checks, metrics, plots, solutions, widgets, zoo
from vaelab.inference import posterior_grid, refine
from vaelab.metrics.likelihood import mean_se
from vaelab.runtime import is_quick, profile
from vaelab.zoo.table_gaps import gaps_markdown, gaps_table

# %% tags=["parameters"]
PROFILE = profile()                 # 'quick', 'lecture' (VAELAB_PROFILE=lecture) or 'full'
QUICK = is_quick()                    # VAELAB_QUICK=1 or CI set -> digits, fewer points and samples
DEVICE = "auto"
TORCH_THREADS = 1                     # tiny models: one thread is as fast and never fights other programs
FULL_DATA = (not QUICK) and vaelab.available_datasets().get("binarized_mnist") == "ready"
# the 2-D VAE (section 1) and the 8-D main model (sections 2-3), hidden [128, 128]: binarized MNIST for 20
# epochs, or statically binarized digits (grey: binarize once, like binarized MNIST) for 100 (quick) or 300.
# Change a knob with e.g. BASE = replace(zoo.config("vae-bdigits-2d"), epochs=200)
BASE = zoo.config("vae-bmnist-2d" if FULL_DATA else "vae-bdigits-2d")
MAIN = zoo.config("gap-bmnist/main" if FULL_DATA else "gap-bdigits/main")
DATASET, BINARIZE, HIDDEN = BASE.dataset, BASE.binarize, BASE.hidden
SMALL, LARGE = [32], [512, 512]       # section 3: encoder widths compared (decoder fixed at HIDDEN)
LARGE_DECODER = [256, 256]            # section 3: a larger decoder (encoder fixed at HIDDEN)
SHORT = 30 if QUICK else (5 if FULL_DATA else 60)   # a short training run, in epochs
N_POINTS = 300 if QUICK else 1000     # test points for the gap tables
IW_SAMPLES = 500 if QUICK else 5000   # S: importance samples for log p(x)
STEPS = 200 if QUICK else 500         # per-example optimisation steps for q*
# section 2b (lecture and full profiles): binarized MNIST, 3 seeds of the shipped 8-D model
MNIST_POINTS, MNIST_S = 300, 500
SEED = 0

# %%
torch.set_num_threads(TORCH_THREADS)
device = vaelab.pick_device(DEVICE)
test = vaelab.load_dataset(DATASET, "test", binarize=BINARIZE)
test = vaelab.data.subset(test, N_POINTS, seed=SEED)
x_test = test.x.to(device)
# # copy the repository's shipped quick-mode checkpoints of this notebook's models into the cache
# (trains nothing; `python -m vaelab zoo build --quick` builds the rest ahead of time)
zoo.prefetch("03_amortization_gap")
base = BASE
model2d, _ = vaelab.load_or_train(base, device=device)
print(f"device {device}; dataset {DATASET}; {len(test)} test points; a 2-D VAE trained for {base.epochs} epochs")

# %% [markdown]
# ## 1. The true posterior, and three Gaussians on it
#
# For one image $x$ the exact posterior is $p(z\mid x) = p(x\mid z)\,p(z)/p(x)$. With a 2-D latent we can evaluate
# $\log p(x, z)$ on a grid and normalise it numerically: a picture of the thing every $q$ tries to imitate (and,
# as a by-product, $\log p(x)$ by quadrature). On it we draw the 1- and 2-σ ellipses of
# - the **encoder's** $q(z\mid x)$ — one forward pass, *amortized* over all images;
# - the best **diagonal** Gaussian $q^*$ for this one image, found by gradient ascent on its own ELBO
#   (`vaelab.inference.refine`, started from the encoder);
# - the best **full-covariance** Gaussian (`refine_fullcov`): a richer family that can tilt.
#
# $$\log p(x) - \text{ELBO}[q] = \underbrace{\log p(x) - \text{ELBO}[q^*]}_{\text{approximation gap}}
# + \underbrace{\text{ELBO}[q^*] - \text{ELBO}[q]}_{\text{amortization gap}}$$
#
# First, the gaps of every test point in this 2-D model, so that we can go looking for an odd posterior.
# These per-example optimisations take a few seconds per model, so the notebook wraps them in `vaelab.memo`:
# each result is kept in the cache under the model's weights, the test points, the settings and the vaelab
# code, and a second run of the notebook loads it instead of recomputing it.

# %%
# vaelab.memo(f, ...) = f(...), computed once per model, data and settings, then loaded from the cache
gaps2d = vaelab.memo(metrics.inference_gaps, model2d, x_test, iw_samples=IW_SAMPLES, steps=STEPS, seed=SEED)
per = gaps2d["per_example"]
worst = int(per["approximation_gap"].argmax())
print({k: round(v, 3) for k, v in gaps2d.items() if isinstance(v, float) and not k.endswith("_se")})
print(f"standard errors over the {gaps2d['n']} points: approximation gap ± {gaps2d['approximation_gap_se']:.3f}, "
      f"amortization gap ± {gaps2d['amortization_gap_se']:.3f} nats; q* converged for {gaps2d['qstar_converged']:.0%}")
print(f"largest approximation gap: test point #{worst}, {float(per['approximation_gap'][worst]):.2f} nats "
      f"(median {float(per['approximation_gap'].median()):.3f})")

# %% [markdown]
# The widget starts at the example with the **largest approximation gap**: its posterior is the least Gaussian
# of the test points (skewed, banana-shaped or with two modes), so no Gaussian fits it well. Move the
# **refinement steps** slider to watch $q$ travel from the encoder's answer to $q^*$; the right panel shows the
# ELBO of $q$ at each step climbing towards, but never above, $\log p(x)$. Type other example numbers to compare
# with ordinary posteriors.

# %%
explorer = widgets.posterior_explorer(model2d, test, index=worst, steps=20, max_steps=STEPS)
explorer

# %%
# The claim of this section, checked: the full-covariance q* fits at least as well as the diagonal one,
# and the worst example's gap is far above the typical one.
assert gaps2d["approximation_gap_fullcov"] <= gaps2d["approximation_gap"] + 0.01
assert float(per["approximation_gap"][worst]) > 3 * float(per["approximation_gap"].median())
print("checked: richer family <= diagonal approximation gap; the worst posterior stands out")


# %% [markdown]
# ### Exercise 1 · decompose the gap yourself  *(your turn)*
# `per` holds, for each test point, `log_px`, `elbo_q` (encoder) and `elbo_qstar` (optimised diagonal Gaussian).
# Compute the mean approximation gap and the mean amortization gap over the test points.

# %% tags=["solution"]
def my_gaps(log_px, elbo_q, elbo_qstar):
    # YOUR TURN: return (approximation_gap, amortization_gap), each the mean over examples (floats).
    # BEGIN SOLUTION
    return float((log_px - elbo_qstar).mean()), float((elbo_qstar - elbo_q).mean())
    # END SOLUTION

mine = checks.yours_or_reference(my_gaps, solutions.mean_gaps, per["log_px"], per["elbo_q"], per["elbo_qstar"])
mine

# %%
# Self-check against the package.
expected = (gaps2d["approximation_gap"], gaps2d["amortization_gap"])
assert all(abs(a - b) < 1e-4 for a, b in zip(mine, expected)), (
    f"you have {mine}, expected {expected}: approximation = log p(x) - ELBO[q*], amortization = ELBO[q*] - ELBO[q]")
checks.passed(my_gaps, "Exercise 1 passed.")

# %% [markdown]
# ### Exercise 2 · log p(x) by counting squares  *(your turn)*
# `posterior_grid` returns `log_joint` $=\log p(x, z)$ on a grid with axes `z1`, `z2`. Since
# $p(x) = \int p(x, z)\,dz$, a Riemann sum over the grid estimates $\log p(x)$: use `torch.logsumexp` over all
# grid cells plus the log of one cell's area. Compare with the importance-sampled value.

# %% tags=["solution"]
typical = int((per["approximation_gap"] - per["approximation_gap"].median()).abs().argmin())   # a typical example
grid = posterior_grid(model2d, test.x[typical])

def my_log_px(grid):
    # YOUR TURN: return log p(x) in nats, a float.
    # BEGIN SOLUTION
    area = float((grid["z1"][1] - grid["z1"][0]) * (grid["z2"][1] - grid["z2"][0]))
    return float(torch.logsumexp(grid["log_joint"].flatten(), 0)) + torch.log(torch.tensor(area)).item()
    # END SOLUTION

mine = checks.yours_or_reference(my_log_px, solutions.grid_log_px, grid)
mine

# %%
# Self-check: quadrature and importance sampling (S draws from q*) agree for a 2-D latent.
iw = float(per["log_px"][typical])
assert abs(mine - grid["log_px"]) < 1e-3, f"you have {mine:.3f}, the grid gives {grid['log_px']:.3f}: did you add log(area)?"
assert abs(mine - iw) < 0.1, f"quadrature {mine:.3f} vs importance sampling {iw:.3f}"
checks.passed(my_log_px, f"Exercise 2 passed: quadrature {mine:.3f}, importance sampling {iw:.3f} nats")

# %% [markdown]
# ## 2. The decomposition on a test set
#
# Now an 8-D latent model. `vaelab.metrics.inference_gaps` optimises a $q^*$ for every test point in one
# batch (each example has its own Adam state; nothing couples them), estimates $\log p(x)$ by importance
# sampling with $S$ draws from the full-covariance $q^*$ as the proposal $r$, and reports the means. The
# importance-weighted bound (Burda et al. 2016)
#
# $$\mathcal L_S(x) = \mathbb E\Big[\log \frac1S \sum_{s=1}^S \frac{p(x, z_s)}{r(z_s\mid x)}\Big] \le \log p(x),\qquad z_s \sim r(z\mid x),$$
#
# is the ELBO of $r$ at $S = 1$ and climbs towards $\log p(x)$ as $S$ grows; with $S$ = `IW_SAMPLES` draws from a
# proposal as close as $q^*$ it serves as $\log p(x)$. On the command line the same
# table is `python -m vaelab gap RUN_DIR --json`. In quick mode this runs on the digits; with binarized MNIST
# downloaded, full mode uses it.

# %%
import time

def gap_row(cfg):
    m, _ = vaelab.load_or_train(cfg, device=device)
    return vaelab.memo(metrics.inference_gaps, m, x_test, iw_samples=IW_SAMPLES, steps=STEPS, seed=SEED)

t0 = time.perf_counter()
main_cfg = MAIN
main = gap_row(main_cfg)
keys = ["log_px", "elbo_qstar_fullcov", "elbo_qstar", "elbo_q", "approximation_gap_fullcov", "approximation_gap",
        "amortization_gap"]
for k in keys:
    print(f"{k:<28} {main[k]:9.3f} ± {main[k + '_se']:.3f} nats")      # ± standard error over the test points
print(f"convergence: q* {main['qstar_converged']:.0%} and full-covariance q* {main['qstar_fullcov_converged']:.0%} "
      f"of the points (a restarted last 20% of the {STEPS} steps moved their ELBO by less than "
      f"{main['qstar_tol']:.2g} and {main['qstar_fullcov_tol']:.2g} nats)")
print(f"({main['n']} points, S = {IW_SAMPLES}, {STEPS} steps: {time.perf_counter() - t0:.1f} s; "
      "milliseconds once cached)")

# %% [markdown]
# ### 2b. At lecture size: binarized MNIST, three seeds  *(lecture profile)*
#
# The same decomposition on **binarized MNIST** (28×28; the data Cremer et al. 2018 use), for the 8-D main model
# trained for 20 epochs with seeds 0, 1 and 2. Its checkpoints ship with vaelab, so in the lecture profile
# (`VAELAB_PROFILE=lecture`, with the data downloaded once) nothing trains here; the per-example optimisations take
# about a minute and are then cached. Each number is the mean ± standard error **across the 3 seeds**; the table
# under it gives Cremer et al.'s figures for orientation. `python -m vaelab table gaps --profile lecture` computes
# it on 1000 test images with S = 1000 importance samples, beside a small and a large encoder (benchmarks/RESULTS.md).

# %%
if PROFILE == "quick":
    mnist = None
    print("Quick mode (offline): this section runs in the lecture profile. Start the lab with VAELAB_PROFILE=lecture "
          "(binarized MNIST downloads once, or set VAELAB_DATA_DIR to a copy) to see it.")
else:
    mnist = gaps_table("lecture", seeds=3, rows=("main",), device=device, progress=False, n_test=MNIST_POINTS,
                       iw_samples=MNIST_S)
    display(Markdown(gaps_markdown(mnist)))
    m = mnist["summary"]["main"]
    display(plots.gap_bars([{"label": "this 8-D VAE\n(3 seeds)", "approx": m["approximation_gap"][0],
                             "approx_se": m["approximation_gap"][1], "amort": m["amortization_gap"][0],
                             "amort_se": m["amortization_gap"][1]},
                            {"label": "Cremer et al.\n(latent 50)", "approx": 1.4, "amort": 1.3}],
                           title="Binarized MNIST: where the ELBO loses against log p(x)", unit="nats per image"))

# %% [markdown]
# Read it (measured with these shipped models: 300 test images, S = 500):
# - **Both gaps are real and the amortization gap dominates**: approximation 0.57 ± 0.02 nats, amortization
#   3.14 ± 0.02 nats per image, the same for each seed to within a few hundredths. The encoder, not the Gaussian
#   family, is what costs this model most of its ELBO.
# - **Beside Cremer et al.** (approximation ≈ 1.4, amortization ≈ 1.3 nats for a latent-50 VAE trained for thousands
#   of epochs): with 8 latent dimensions the factorised family has little to miss, and 20 epochs leave the encoder far
#   from its decoder's posteriors. Section 3 shows what moves each gap; on binarized MNIST, `vaelab table gaps
#   --profile lecture` measures a small encoder [32] widening the amortization gap by 2.2 nats (16 standard errors)
#   while the approximation gap hardly moves.

# %%
# The claims of this section, checked against their uncertainty (lecture and full profiles only): both gaps are
# positive by far more than 3 standard errors (the larger of the seeds' spread and the test points' SE), and q*
# converged for nearly every point.
if mnist is not None:
    m = mnist["summary"]["main"]
    for gap in ("approximation_gap", "amortization_gap"):
        mean, seed_se = m[gap]
        assert mean > 3 * max(seed_se, m[gap + "_se"][0]), (gap, m[gap], m[gap + "_se"])
    assert m["qstar_converged"][0] > 0.95, m["qstar_converged"]
    # on this model the amortization gap is the larger of the two
    assert m["amortization_gap"][0] - m["approximation_gap"][0] > 3 * (m["amortization_gap"][1] + m["approximation_gap"][1])
    print("Binarized MNIST: all claims hold (3 seeds).")

# %% [markdown]
# ## 3. What moves the gaps?
#
# Cremer et al. report that the **amortization gap often dominates** and that a **larger encoder shrinks it**.
# We vary one thing at a time around the main model: the encoder's width with the decoder fixed
# (`TrainConfig(encoder_hidden=...)`), the decoder's size with the encoder fixed, and the training length.

# %%
rows = {f"encoder {SMALL}": gap_row(replace(main_cfg, encoder_hidden=SMALL)),
        f"main: encoder = decoder {HIDDEN}": main,
        f"encoder {LARGE}": gap_row(replace(main_cfg, encoder_hidden=LARGE)),
        f"decoder {LARGE_DECODER}": gap_row(replace(main_cfg, hidden=LARGE_DECODER, encoder_hidden=HIDDEN)),
        f"main, {SHORT} epochs": gap_row(replace(main_cfg, epochs=SHORT))}
print(f"{'model':<36}{'log p(x)':>10}{'approx. ± SE':>15}{'approx.(full)':>14}{'amort. ± SE':>15}")
for name, g in rows.items():
    print(f"{name:<36}{g['log_px']:10.2f}{g['approximation_gap']:8.3f} ± {g['approximation_gap_se']:.3f}"
          f"{g['approximation_gap_fullcov']:14.3f}{g['amortization_gap']:8.3f} ± {g['amortization_gap_se']:.3f}")

# %%
# What the numbers robustly show in quick mode (checked; see the discussion below).
short, long_ = rows[f"main, {SHORT} epochs"], main
# the same test points for both models: the paired standard error of the difference
longer, longer_se = mean_se(long_["per_example"]["amortization_gap"] - short["per_example"]["amortization_gap"])
assert longer > 3 * longer_se, f"expected a larger amortization gap after longer training ({longer:+.3f} ± {longer_se:.3f})"
for g in rows.values():
    assert g["approximation_gap_fullcov"] <= g["approximation_gap"] + 0.01
    assert g["approximation_gap"] > -0.05 and g["amortization_gap"] > -0.05
print("checked: longer training -> larger amortization gap; full covariance never worse than diagonal")

# %% [markdown]
# **Reading the table.** Gaps here are fractions of a nat out of tens: on 8×8 digits a small VAE's posterior
# is close to Gaussian. Compare with Cremer et al. for yourself:
# - *Does the amortization gap dominate?* Compare the last column with the approximation gap, row by row. For
#   the well-trained models it is the larger of the two, as Cremer et al. found.
# - *Does a larger encoder shrink it?* Not reliably at this scale. In our quick-mode runs (300 test digits)
#   the amortization gap went 0.33 → 0.29 → 0.32 nats from the [32] to the [128, 128] to the [512, 512] encoder,
#   and 0.27 → 0.25 → 0.28 on 300 *training* digits, where over-fitting cannot explain it. Encoder and decoder are
#   trained together, so a larger encoder also changes the decoder (note the higher $\log p(x)$), and with it
#   the posteriors the encoder must predict. Cremer et al. trained far larger models on MNIST for thousands of
#   epochs; run full mode before you draw a conclusion.
# - *A larger decoder* fits the data better; compare its amortization gap with the main model's.
# - *Training longer* grows the amortization gap: the decoder keeps improving, and the encoder lags behind it.
#
# ## Summary
# - $\log p(x) - \text{ELBO}[q]$ = approximation gap (family too simple) + amortization gap (encoder not optimal).
# - Per-example optimisation finds $q^*$; a full-covariance $q^*$ shrinks the approximation gap.
# - Where the posterior is skewed or multimodal no Gaussian fits; where it is nearly Gaussian, most of the
#   loss comes from the encoder.
#
# **Next:** SA-VAE uses exactly this per-example refinement during training.

# %% [markdown]
# ## References
#
# - Burda, Y., Grosse, R. & Salakhutdinov, R. (2016). Importance weighted autoencoders. *ICLR*. arXiv:1509.00519.
# - Cremer, C., Li, X. & Duvenaud, D. (2018). Inference suboptimality in variational autoencoders. *ICML*. arXiv:1801.03558.
