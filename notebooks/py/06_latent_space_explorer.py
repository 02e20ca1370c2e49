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
# [![Open in Colab](https://colab.research.google.com/assets/colab-badge.svg)](https://colab.research.google.com/github/vaelab/vaelab/blob/main/notebooks/06_latent_space_explorer.ipynb)
#
# # 06 · A latent-space explorer
#
# **Notation:** [NOTATION.md](NOTATION.md) · **Student version:** [exercises/06_latent_space_explorer.ipynb](exercises/06_latent_space_explorer.ipynb)
#
# **Learning goals**
# - Read a latent space through its **map**: the test set's encoder means in 2-D (the latent itself, PCA or
#   t-SNE), coloured by label, with the posterior $q(z\mid x)$ of chosen examples drawn as ellipses.
# - **Decode** anywhere: sliders on the most used latent dimensions (ranked by their KL), traversals one
#   dimension at a time, linear and spherical paths between two examples, nearest neighbours, prior samples.
# - **Compare** models with the same tools: a VAE against an InfoVAE (MMD-VAE) and a β-VAE, and a collapsed
#   text VAE against a free-bits one, and check what you see on numbers.
#
# **Time:** about 30 minutes (models come from the zoo: seconds once `python -m vaelab zoo build --quick` has
# run, about a minute of training otherwise).
#
# **Prerequisites:** notebooks 01 (the ELBO, the 2-D latent map, interpolation), 02 (posterior collapse,
# free bits) and 04 (MMD and InfoVAE).
#
# **Data and likelihood:** the image models are the zoo's, trained on statically binarized 8x8 digits with a
# Bernoulli likelihood (binary pixels, so their nats are log-probabilities; notebook 00 says why), and the text
# models on synthetic sentences with a categorical likelihood per word.

# %% tags=["colab-install"]
# On Google Colab only: install vaelab into this runtime and turn on its widget manager (no-op elsewhere).
import sys

if "google.colab" in sys.modules:
    get_ipython().run_line_magic("pip", "install -q 'vaelab @ git+https://github.com/vaelab/vaelab'")
    from google.colab import output
    output.enable_custom_widget_manager()

# %%
# %matplotlib inline
import torch

import vaelab
from vaelab import checks, metrics, plots, solutions, widgets, zoo
from vaelab.data import vocabulary_of
from vaelab.metrics.likelihood import mean_se
from vaelab.runtime import is_quick
from vaelab.widgets import ipympl_available, map_labels

# %% tags=["parameters"]
QUICK = is_quick()                    # VAELAB_QUICK=1 or CI set -> the zoo's quick-mode models, fewer sentences
DEVICE = "auto"
TORCH_THREADS = 1                     # tiny models: one thread is as fast and never fights other programs
MODEL = "vae-digits-16d"              # the model the explorers start with: any name of zoo.names()
VAE_PAIR = ("infovae-digits/elbo", "infovae-digits/lam=10")   # 2-D VAE vs 2-D MMD-VAE (InfoVAE α=1, γ=10)
BETA_PAIR = ("vae-digits-8d", "beta-vae-digits/beta=4")       # 8-D VAE vs 8-D β-VAE (β=4)
TEXT_PAIR = ("remedy-text/none", "remedy-text/freebits")      # collapsed vs free-bits LSTM text VAE
N_TEST = 300 if QUICK else 1000       # test examples encoded per model (digits have 300 in all)
K_DIMS = 4                            # sliders / traversal rows: the K_DIMS most used latent dimensions
N_CODES = 16                          # prior codes for the decoder-sensitivity check of section 6
SEED = 0

# %%
torch.set_num_threads(TORCH_THREADS)
device = vaelab.pick_device(DEVICE)
print(f"device {device}; zoo models to pick from ({'quick' if QUICK else 'full'} mode):")
for name in zoo.names():
    print(f"  {name:28s} {zoo.entry(name).title}")

# %% [markdown]
# ## 1. Pick a model
# Every model in the zoo is a named, cached configuration (the ones notebooks 01–05 train). The picker
# loads one, with its test set, and **every explorer below follows it**: choose a model, press *load*,
# and the map, sliders, traversals and neighbours redraw for the new model. Loading a model that is not
# in the cache yet trains it first, hence the button. Start with the 16-D VAE on digits; come back here
# later and try the 2-D VAE, the β-VAE, the MMD-VAE or a text model.

# %%
picker = widgets.ModelPicker(value=MODEL, n_test=N_TEST, device=DEVICE)
model, test = picker.model, picker.data
display(picker)
plots.history_curves(picker.history, title=f"{picker.name}: training curves")

# %% [markdown]
# ## 2. The map
# Each dot is the encoder mean $\mathbb E_q[z\mid x]$ of one test example, coloured by its label (the
# digit; for text, the sentence's topic). With 2 latent dimensions the map *is* the latent space. With more,
# it is a picture of it:
# - **PCA** shows the plane through the codes' mean that keeps the most variance (the axis titles say how
#   much). It is linear, so every point of the map is a real code: the decoder can draw it, and a Gaussian
#   $q(z\mid x)$ stays a Gaussian on the map (its **ellipse**: the 1- and 2-σ contours, here for the examples
#   typed into *ellipses for examples*).
# - **t-SNE** (van der Maaten & Hinton 2008) keeps neighbourhoods instead of distances: clusters separate better, but the axes mean
#   nothing and there is no way back from a map point to a code (the decoder then draws the code of the
#   nearest test example).
#
# The cross is the point being decoded. Move it with the *map x / map y* sliders, or pick an example to
# jump to its code. Note how wide the ellipses are compared with the gaps between classes: $q(z\mid x)$ is
# not a point.

# %%
map_explorer = widgets.MapExplorer(model, test, index=0, selected=(0, 1, 2))
picker.link(map_explorer)
map_explorer

# %% [markdown]
# **Click to decode.** With ipympl installed (`make lab` installs it; else `pip install ipympl` and restart JupyterLab), the next cell adds a live map to the explorer: a click on it moves the cross there and decodes that point. It draws on its own interactive canvas, so the rest of the notebook keeps its ordinary figures. Without ipympl the map x / map y sliders above do the same job.

# %%
if ipympl_available():
    map_explorer.enable_clicks()
    print("click-to-decode is on: click the live map below the sliders")
    display(map_explorer)
else:
    print("ipympl is not installed: use the map x / map y sliders above")

# %% [markdown]
# ### Exercise 1 · nearest neighbours by hand  *(your turn)*
# Two examples are neighbours in latent space when their codes are close. Write `my_neighbours(mu, i, k)`:
# the indices of the `k` rows of `mu` (N, d) closest to row `i` in Euclidean distance, nearest first, **not**
# counting `i` itself. (Hint: `torch.cdist` or `(mu - mu[i]).norm(dim=1)`, then `torch.argsort`.)

# %% tags=["solution"]
mu, logvar = metrics.encode_all(model, test.x.to(model.device))
mu, logvar = mu.cpu(), logvar.cpu()

def my_neighbours(mu, i, k):
    # YOUR TURN: return a LongTensor of k indices, nearest first, without i.
    # BEGIN SOLUTION
    dist = (mu - mu[i]).norm(dim=1)
    dist[i] = float("inf")
    return torch.argsort(dist)[:k]
    # END SOLUTION

mine = checks.yours_or_reference(my_neighbours, solutions.nearest_indices, mu, 0, 5)
mine

# %%
# Self-check against the package.
expected, _ = metrics.nearest_neighbours(mu, 0, 5)
assert list(map(int, mine)) == expected.tolist(), (
    f"you have {list(map(int, mine))}, expected {expected.tolist()}: sort by distance, nearest first, "
    "and leave out example 0 itself")
checks.passed(my_neighbours, "Exercise 1 passed.")

# %% [markdown]
# Neighbours in latent space tend to share their label, although the VAE never saw a label: similar images
# need similar codes. The next cell measures it, for every test example, against the 10% that random digits
# would share.

# %%
labels = map_labels(test)
same = torch.stack([(labels[metrics.nearest_neighbours(mu, i, 5)[0]] == labels[i]).float().mean()
                    for i in range(len(mu))]).mean()
chance = float(((torch.bincount(labels) / len(labels)) ** 2).sum())
print(f"{picker.name}: {float(same):.0%} of the 5 nearest neighbours share the example's label (chance {chance:.0%})")
if picker.name == MODEL:
    assert float(same) > 3 * chance, "neighbours in latent space should share labels far above chance"

# %% [markdown]
# ## 3. Decode from sliders
# A 16-D latent has too many dimensions for one slider each, and most of them do little: the KL term pushes
# unneeded dimensions to the prior, where $q(z_j\mid x) = \mathcal N(0, 1)$ for every $x$ and the decoder
# learns to ignore them. So the sliders below are the **`K_DIMS` most used dimensions**, ranked by their average
# $\mathrm{KL}(q(z_j\mid x)\,\|\,\mathcal N(0,1))$ (in brackets, in nats). The other dimensions stay at the
# chosen example's code.

# %%
decoder = widgets.DecodeExplorer(model, test, k=K_DIMS, index=0)
picker.link(decoder)
decoder

# %% [markdown]
# The claim in numbers: walk the most used and the least used dimension over $[-3, 3]$ from example 0's code
# and measure how much the decoded image changes (mean absolute pixel change from the middle of the walk).

# %%
order, kl = metrics.rank_dims(mu, logvar)
top, bottom = int(order[0]), int(order[-1])
codes = metrics.traversal_codes(mu[0], [top, bottom], torch.linspace(-3, 3, 7))
if picker.data.meta["kind"] != "text":
    images = metrics.decode_mean(model, codes.reshape(-1, model.latent_dim)).cpu().reshape(2, 7, -1)
    change = (images - images[:, 3:4]).abs().mean((1, 2))
    print(f"z{top + 1} ({float(kl[top]):.2f} nats): the image changes by {float(change[0]):.3f} per pixel; "
          f"z{bottom + 1} ({float(kl[bottom]):.3f} nats): by {float(change[1]):.4f}")
    if picker.name == MODEL:
        assert change[0] > 5 * change[1], "the most used dimension should move the image far more than the least used"

# %% [markdown]
# ## 4. Traverse and interpolate
# **Traversal:** start at an example's code and move one dimension at a time (rows: the most used
# dimensions; columns: the value given to that dimension). In a VAE a dimension often mixes several
# properties (thickness, slant, which digit); a β-VAE with a larger β tends to separate them, at the price
# of blurrier images.

# %%
traversal = widgets.TraversalExplorer(model, test, k=K_DIMS, span=3.0, steps=7, index=0)
picker.link(traversal)
traversal

# %% [markdown]
# **Interpolation:** encode two examples and decode along the way between their codes, once on the straight
# line (linear) and once on the great circle (spherical: the norm changes linearly while the direction turns,
# see notebook 01). For a text model the rows are sentences.

# %%
paths = widgets.PathExplorer(model, test, a=0, b=1, steps=7)
picker.link(paths)
paths

# %% [markdown]
# Why the spherical path: in $d$ dimensions a code from $\mathcal N(0, I)$ has a norm of about $\sqrt d$, and
# the straight line's middle is shorter than both ends: a code the prior rarely draws. The great circle keeps
# the norm between the two ends' norms.

# %%
a_code, b_code = metrics.prior_codes(2, model.latent_dim, SEED)
mid_linear = metrics.lerp(a_code, b_code, 3)[1].norm()
mid_spherical = metrics.slerp(a_code, b_code, 3)[1].norm()
print(f"|z| at the ends {float(a_code.norm()):.2f} and {float(b_code.norm()):.2f} (sqrt(d) = {model.latent_dim ** 0.5:.2f}); "
      f"in the middle: linear {float(mid_linear):.2f}, spherical {float(mid_spherical):.2f}")
assert mid_spherical >= min(a_code.norm(), b_code.norm()) - 1e-5 and mid_linear < mid_spherical

# %% [markdown]
# ## 5. Neighbours and samples
# The nearest test examples of a chosen one, by the distance between their codes (the distance is under each),
# and then a grid of **prior samples**: codes drawn from $\mathcal N(0, I)$ and decoded. Samples are only as good
# as the match between the prior and where the encoder actually puts codes, which is what section 6 compares.

# %%
neighbours = widgets.NeighbourExplorer(model, test, index=0, k=8)
picker.link(neighbours)
neighbours

# %%
samples = widgets.SampleExplorer(model, test, n=16, seed=SEED)
picker.link(samples)
samples

# %% [markdown]
# ## 6. Compare two models
# ### VAE and InfoVAE maps
# Both models below have a 2-D latent and were trained on the same digits. The MMD-VAE (InfoVAE with α = 1,
# γ = 10, notebook 04; Zhao et al. 2019) has no per-example KL term: only the *aggregate* of its codes is pulled
# to the prior, by an MMD² penalty. Look at the two maps: both spread their codes over roughly the prior's disc, with the digits in
# clusters; from the dots alone the two are hard to tell apart.

# %% [markdown]
# ### Predict, then check · how wide is q(z|x)?  *(your turn, 2 minutes)*
# The VAE pays a KL for every single $q(z\mid x)$; the MMD-VAE pays nothing per example, only for where its codes
# sit as a whole. Before you look at the maps and the numbers below: **will the MMD-VAE's posteriors $q(z\mid x)$ be
# wider than the VAE's, narrower, or about as wide** (by their mean variance over the test digits)? Write
# `"wider"`, `"narrower"` or `"about as wide"` in the next cell. A check after the numbers compares.

# %%
MY_GUESS = ""      # "wider", "narrower" or "about as wide"

# %%
pair = {name: (zoo.load(name, device=DEVICE)[0], zoo.test_data(name, n=N_TEST)) for name in VAE_PAIR}
compare_maps = widgets.CompareExplorer(pair, view="maps")
compare_maps

# %% [markdown]
# The ellipses tell the difference the dots hide. A VAE's KL term rewards wide posteriors (a point mass would
# cost infinite KL), so each $q(z\mid x)$ covers a good part of the map; the MMD-VAE pays nothing for narrow
# ones, and its posteriors shrink to near points. Both spread their *means* over about the prior's variance.

# %%
stats = {}
for name, (m, data) in pair.items():
    mu_m, logvar_m = metrics.encode_all(m, data.x.to(m.device))
    stats[name] = {"posterior variance": float(logvar_m.exp().mean()), "variance of the means": float(mu_m.var(0).mean())}
    print(f"{name:22s} mean posterior variance {stats[name]['posterior variance']:.4f}   "
          f"variance of the means {stats[name]['variance of the means']:.3f}  (prior: 1)")
vae, mmd = (stats[n] for n in VAE_PAIR)
assert mmd["posterior variance"] < 0.2 * vae["posterior variance"], "the MMD-VAE's posteriors should be far narrower"
assert 0.5 < vae["variance of the means"] < 1.5 and 0.5 < mmd["variance of the means"] < 1.5

# %%
# Predict, then check: the mean posterior variance of the MMD-VAE against the VAE's, ± SE over the test digits
# (the unpaired SE of the difference: conservative)
WIDTHS = ("wider", "narrower", "about as wide")
post_var = {name: metrics.encode_all(m, data.x.to(m.device))[1].exp().mean(1).cpu()   # per digit
            for name, (m, data) in pair.items()}
(v_vae, se_vae), (v_mmd, se_mmd) = (mean_se(post_var[n]) for n in VAE_PAIR)
outcome = checks.direction(v_mmd - v_vae, (se_vae ** 2 + se_mmd ** 2) ** 0.5, labels=WIDTHS)
seen = f"Mean posterior variance: MMD-VAE {v_mmd:.4f} ± {se_mmd:.4f}, VAE {v_vae:.4f} ± {se_vae:.4f} (prior: 1)."
other = " Look at the ellipses below, and at what each objective charges for a narrow q(z|x)."
checks.check_prediction(MY_GUESS, outcome, {
    "narrower": seen + f" About {v_vae / v_mmd:.0f} times narrower: with no per-example KL nothing pays for width, "
                "and a narrow q(z|x) reconstructs better. The ellipses below show it: the MMD-VAE's are nearly points.",
    "wider": seen + other, "about as wide": seen + other}, choices=WIDTHS)

# %%
index = 0
fig_pair = []
for name, (m, data) in pair.items():
    mu_m, logvar_m = metrics.encode_all(m, data.x.to(m.device))
    proj = metrics.latent_map(mu_m)["projection"]
    ell = list(zip(*metrics.project_gaussian(mu_m[:3], logvar_m[:3], proj)))
    fig_pair.append({"points": mu_m, "labels": map_labels(data), "highlight": [0, 1, 2], "ellipses": ell,
                     "title": f"{name}: q(z|x) of examples 0-2"})
plots.compare_maps(fig_pair)      # shared axes: the two maps on one scale

# %% [markdown]
# ### A β-VAE map
# With β = 4 (a β-VAE, Higgins et al. 2017) the KL costs four times as much. On these small digits that is too much: in the quick-mode zoo
# model every dimension gives up, the map shrinks to a dot at the origin, and every example decodes to the
# same average digit. (Full-mode models keep a few dimensions.)

# %%
beta_pair = {name: (zoo.load(name, device=DEVICE)[0], zoo.test_data(name, n=N_TEST)) for name in BETA_PAIR}
compare_beta = widgets.CompareExplorer(beta_pair, view="maps")
spread = {n: float(compare_beta.side(n).mu.var(0).sum()) for n in BETA_PAIR}
kl_total = {n: float(compare_beta.side(n).kl.sum()) for n in BETA_PAIR}
print("total variance of the means:", {n: round(v, 4) for n, v in spread.items()}, " KL (nats):",
      {n: round(v, 3) for n, v in kl_total.items()})
assert spread[BETA_PAIR[1]] < 0.1 * spread[BETA_PAIR[0]], "the β-VAE's map should be much tighter than the VAE's"
compare_beta

# %% [markdown]
# ### Collapsed vs free-bits text
# Notebook 02 trained an LSTM text VAE that **collapsed**: KL ≈ 0, the decoder is a language model that does
# not need $z$. Its encoder sends every sentence to (almost) the same code, so the greedy decodings of all test
# sentences are one and the same sentence. The free-bits model (Kingma et al. 2016) must keep some KL in each dimension, so its
# codes spread out and its decoder has a reason to read them. Compare their decodings along the straight path between two test sentences (*path*) and
# their maps (*maps*).

# %%
text_pair = {name: (zoo.load(name, device=DEVICE)[0], zoo.test_data(name, n=N_TEST)) for name in TEXT_PAIR}
compare_text = widgets.CompareExplorer(text_pair, view="path", a=0, b=1, steps=6)
compare_text

# %% [markdown]
# Two numbers back the story. (1) The collapsed encoder: its reconstructions of all test sentences.
# (2) The decoder: for each test sentence $x$, how much does $\log p(x\mid z)$ move when $z$ is drawn from the
# prior? A decoder that ignores $z$ gives each sentence the same probability wherever $z$ is.

# %%
collapsed, free = TEXT_PAIR
recon = {}
sensitivity = {}
z_prior = metrics.prior_codes(N_CODES, text_pair[collapsed][0].latent_dim, SEED)
for name, (m, data) in text_pair.items():
    side = compare_text.side(name)
    recon[name] = metrics.decode_items(m, side.mu, side.vocab)
    sensitivity[name] = float(metrics.conditional_log_probs(m, data.x[:200], z_prior).std(0).mean())
    print(f"{name:22s} {len(set(recon[name])):3d} distinct reconstructions of {len(recon[name])} sentences; "
          f"log p(x|z) moves by {sensitivity[name]:.3f} nats across z (std, mean over x)")
print(f"the collapsed model's one sentence: “{recon[collapsed][0]}”")
assert len(set(recon[collapsed])) == 1, "the collapsed model should decode every test sentence to the same sentence"
assert sensitivity[collapsed] < sensitivity[free] / 3, "the collapsed decoder should be far less sensitive to z"


# %% [markdown]
# In quick mode (10 epochs on 2000 sentences) greedy decoding hides the difference: the free-bits model's
# ~2 nats of KL barely change the most likely words, so its reconstructions, too, may all be one sentence and
# the two columns of the path view look alike (full-mode models, trained longer on more text, differ more).
# The log-probabilities show the difference anyway: the free-bits decoder listens to $z$ several times more.
# And the collapsed decoder is not *exactly* deaf: far from the encoder's single code, near-ties between
# equally likely words can flip a greedy decoding (try the traversal with `remedy-text/none` in the picker).
#
# ### Exercise 2 · how much does the decoder listen to z?  *(your turn)*
# Compute the matrix behind the sensitivity number: `my_log_probs(m, x, z)` returns $\log p(x_n\mid z)$ for
# every code $z$ (a row of `z`) and every sentence $x_n$ (N of them): shape (len(z), N). `m.decode(codes)` gives the decoder's
# distribution for a batch of codes (one per sentence) and `.log_prob(x)` scores the sentences under it.

# %% tags=["solution"]
def my_log_probs(m, x, z):
    # YOUR TURN: return a (K, N) tensor of log p(x_n | z_k).
    # BEGIN SOLUTION
    with torch.no_grad():
        return torch.stack([m.decode(zk.expand(len(x), -1)).log_prob(x) for zk in z])
    # END SOLUTION

m_free, data_free = text_pair[free]
mine = checks.yours_or_reference(my_log_probs, metrics.conditional_log_probs, m_free, data_free.x[:20], z_prior[:4])
mine.shape

# %%
# Self-check against the package's batched version.
expected = metrics.conditional_log_probs(m_free, data_free.x[:20], z_prior[:4])
assert tuple(mine.shape) == tuple(expected.shape), f"expected shape {tuple(expected.shape)}, got {tuple(mine.shape)}"
assert torch.allclose(mine, expected, atol=1e-3), "the values differ: row k should score every sentence under code z_k"
checks.passed(my_log_probs, f"Exercise 2 passed. Spread over the 4 codes, mean over 20 sentences: {float(mine.std(0).mean()):.3f} nats.")

# %% [markdown]
# ## Summary
# - A **map** of the encoder means shows what the code keeps: labels cluster without ever being seen. PCA maps
#   are linear (every point decodes, Gaussians stay ellipses); t-SNE separates clusters but cannot be inverted.
# - Only the dimensions with KL carry anything: sliders and traversals on the **top-KL dimensions** move the
#   decoding; the others barely do.
# - The spherical path keeps codes at a typical norm; the straight one dips towards the origin.
# - The same tools tell models apart: the MMD-VAE's posteriors are nearly points where the VAE's are wide; a
#   too-large β collapses the map to a dot; a collapsed text VAE sends every sentence to one code, and its decoder
#   gives each sentence (almost) the same probability wherever $z$ is, while a free-bits decoder listens to $z$.
#
# **Next:** pick any model in section 1 and go through the sections again. Which model has the most useful
# traversals? Which one's prior samples look most like the data, and does its map explain why?

# %% [markdown]
# ## References
#
# - Higgins, I., Matthey, L., Pal, A., Burgess, C., Glorot, X., Botvinick, M., Mohamed, S. & Lerchner, A. (2017). β-VAE: learning basic visual concepts with a constrained variational framework. *ICLR*. No arXiv version (openreview.net/forum?id=Sy2fzU9gl).
# - Kingma, D. P., Salimans, T., Jozefowicz, R., Chen, X., Sutskever, I. & Welling, M. (2016). Improved variational inference with inverse autoregressive flow. *Advances in Neural Information Processing Systems (NIPS)*. arXiv:1606.04934.
# - van der Maaten, L. & Hinton, G. (2008). Visualizing data using t-SNE. *Journal of Machine Learning Research* 9, 2579–2605.
# - Zhao, S., Song, J. & Ermon, S. (2019). InfoVAE: balancing learning and inference in variational autoencoders. *AAAI Conference on Artificial Intelligence*. arXiv:1706.02262.
