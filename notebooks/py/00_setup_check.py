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
# [![Open in Colab](https://colab.research.google.com/assets/colab-badge.svg)](https://colab.research.google.com/github/vaelab/vaelab/blob/main/notebooks/00_setup_check.ipynb)
#
# # 00 · Set-up check
#
# **Notation:** [NOTATION.md](NOTATION.md)
#
# **Learning goals**
# - Confirm that Python, PyTorch and `vaelab` are installed and which device will do the work.
# - See which datasets work offline.
# - Check that interactive widgets respond in this Jupyter.
# - Train your first variational autoencoder (VAE) on handwritten digits, in well under a minute on a laptop CPU.
#
# **Time:** about 5 minutes (the training cell takes a few seconds; a second run loads it from the cache).
#
# **Prerequisites:** the environment from the README (`make lab`). No GPU and no network are needed.
#
# Run the cells from top to bottom (*Run → Run All Cells* works too). If a cell fails, its error message says what to do next.

# %% tags=["colab-install"]
# On Google Colab only: install vaelab into this runtime and turn on its widget manager (no-op elsewhere).
import sys

if "google.colab" in sys.modules:
    get_ipython().run_line_magic("pip", "install -q 'vaelab @ git+https://github.com/vaelab/vaelab'")
    from google.colab import output
    output.enable_custom_widget_manager()

# %%
# %matplotlib inline
import platform
import sys
import time

import torch

import vaelab
from vaelab import plots, widgets
from vaelab.runtime import is_quick

# %% [markdown]
# ### Parameters
# Every knob of this notebook lives in the next cell. Quick mode (`VAELAB_QUICK=1`, or any CI) shrinks the
# training so the whole notebook runs in seconds; the story stays the same.

# %% tags=["parameters"]
QUICK = is_quick()              # VAELAB_QUICK=1 or CI set -> smaller, faster runs
DEVICE = "auto"                 # 'auto' picks cuda, then mps, then cpu; or say 'cpu'
TORCH_THREADS = 1               # these models are tiny: one CPU thread is as fast and never fights other programs
DATASET = "digits"              # scikit-learn's 8x8 digits: built in, works offline
BINARIZE = "static"             # black-and-white pixels, so the Bernoulli likelihood is a real probability
LATENT_DIM = 8                  # size of the code z
HIDDEN = [128, 128]             # widths of the encoder's and decoder's hidden layers
EPOCHS = 20 if QUICK else 100   # passes over the 1297 training images
SEED = 0
N_SHOW = 10                     # images in the reconstruction figure

# %% [markdown]
# ## 1. Versions and device

# %%
torch.set_num_threads(TORCH_THREADS)
device = vaelab.pick_device(DEVICE)
print(f"python  {platform.python_version()}  ({sys.executable})")
print(f"torch   {torch.__version__}")
print(f"vaelab  {vaelab.__version__}")
print(f"device  {device}   quick mode: {QUICK}")

# %% [markdown]
# ## 2. Datasets
# `built-in` datasets never need a network. `ready` means a prepared file is already in your data folder;
# `download` means the first use will fetch it (about 30–80 MB, checked by SHA-256).

# %%
for name, status in vaelab.available_datasets().items():
    print(f"{name:16s} {status}")

# %% [markdown]
# ## 3. Does a widget respond?
# Click the button. The counter should go up and the next digit should appear. If you see text such as
# `VBox(children=...)` instead of a button, the widget front-end is missing: see *Troubleshooting* in the README.

# %%
test = vaelab.load_dataset(DATASET, "test", binarize=BINARIZE, seed=SEED)
demo = widgets.ClickCounterDemo(test.x, test.y)
demo

# %% [markdown]
# ## 4. Your first VAE
# A VAE has two networks. The **encoder** maps an image $x$ to a distribution $q(z\mid x)$ over a short code
# $z$ (here 8 numbers). The **decoder** maps a code back to a distribution $p(x\mid z)$ over images. Training
# maximises the ELBO, a lower bound on $\log p(x)$; notebook 01 takes it apart. For now: the loss should fall.
#
# **Which likelihood, and why.** The decoder outputs one probability per pixel: a *Bernoulli* likelihood. That is a true probability only for black-and-white pixels, so the digits are **binarized** once (each pixel becomes 1 with probability equal to its greyness, with a fixed seed). Then $-\log p(x\mid z)$ is a code length in nats, comparable with published numbers on binarized MNIST. On grey pixels the same formula is a cross-entropy, not a log-likelihood: vaelab refuses it and offers the *continuous Bernoulli* (`likelihood="cbernoulli"`, Loaiza-Ganem & Cunningham 2019), a normalised density on $[0, 1]$ that `TrainConfig` picks by itself for grey data. A density's values can be negative and compare only with other densities on the same data.
#
# `load_or_train` trains once and caches the result, so running this cell again takes a fraction of a second.

# %%
config = vaelab.TrainConfig(dataset=DATASET, binarize=BINARIZE, latent_dim=LATENT_DIM, hidden=HIDDEN, epochs=EPOCHS,
                            seed=SEED)
start = time.perf_counter()
model, history = vaelab.load_or_train(config, device=device)
print(f"{len(history)} epochs, ready in {time.perf_counter() - start:.1f} s; final loss {history[-1]['loss']:.2f} nats")

# %%
plots.history_curves(history, title="Training on digits: loss = reconstruction + KL")

# %% [markdown]
# The loss is $-\text{ELBO}$ per image, in nats. It splits into a **reconstruction** cost (how badly the
# decoder redraws the image from its code) and a **KL** term (how far the codes stray from the prior
# $\mathcal N(0, I)$). Early on the KL can rise: the encoder learns to put information into $z$, which costs
# KL but buys a better reconstruction.
#
# Below: test images the model has never seen (top) and what the decoder makes of their codes (bottom).

# %%
x = test.x[:N_SHOW].to(device)
plots.reconstruction_rows(x, model.reconstruct(x), title="Unseen test digits and their reconstructions")

# %% [markdown]
# ### Self-check
# The cell below fails with a message if training did not work.

# %%
first, last = history[0]["loss"], history[-1]["loss"]
assert last < first, f"the loss did not fall ({first:.2f} -> {last:.2f}); rerun, or report your versions above"
print(f"All set: the loss fell from {first:.1f} to {last:.1f} nats. Next: 01_elbo_and_latent_space.")

# %% [markdown]
# ## References
#
# - Loaiza-Ganem, G. & Cunningham, J. P. (2019). The continuous Bernoulli: fixing a pervasive error in variational autoencoders. *Advances in Neural Information Processing Systems (NeurIPS)*. arXiv:1907.06845.
