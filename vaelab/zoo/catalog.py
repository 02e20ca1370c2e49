"""The zoo's named configurations: exactly the TrainConfigs that notebooks 01-05 and 07 train, quick and full.

Naming: a principal model has a plain name ("vae-digits-2d"); a member of a sweep or a comparison is named
"family/setting" ("beta-vae-digits/beta=0.5", "remedy-text/freebits"). `names()` lists the principal models
(for a dropdown); `members()` lists every entry, sweep members included (what `zoo build` builds).
An entry may exist in one mode only: the binarized-MNIST entries are full-mode only (quick mode never
downloads), some sweep members are full-mode only, and asking for a missing mode raises a ValueError.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from ..runtime import is_quick
from ..train.experiment import TrainConfig
from ..train.remedies import remedy_config

NB01, NB02, NB03 = "01_elbo_and_latent_space", "02_posterior_collapse", "03_amortization_gap"
NB04, NB05 = "04_mmd_infovae", "05_semi_amortized_vae"
NB07 = "07_langevin_inference"
KINDS = ("image", "text")
TEXT_DATASETS = ("synthetic_text",)


@dataclass(frozen=True)
class ZooEntry:
    """One named model: `make(quick: bool)` gives its TrainConfig, or None where that mode has none."""

    name: str
    title: str                      # one line, for a dropdown
    kind: str                       # 'image' or 'text'
    notebooks: tuple                # stems of the notebooks that train it (01-05)
    make: Callable = None
    principal: bool = False
    shipped: bool = False           # its quick-mode checkpoint ships in vaelab/zoo/shipped (every principal one)

    def available(self, quick: bool | None = None) -> bool:
        return self.make(is_quick() if quick is None else bool(quick)) is not None

    def config(self, quick: bool | None = None) -> TrainConfig:
        """A fresh TrainConfig (safe to edit); quick=None means vaelab.runtime.is_quick()."""
        q = is_quick() if quick is None else bool(quick)
        cfg = self.make(q)
        if cfg is None:
            mode, other = ("quick", "full") if q else ("full", "quick")
            raise ValueError(f"zoo entry {self.name!r} has no {mode}-mode config (it exists in {other} mode only); "
                             f"pass quick={not q} or pick one of zoo.members(quick={q})")
        return cfg


_ENTRIES: dict[str, ZooEntry] = {}


def _add(name, title, kind, notebooks, make, principal=False, shipped=None):
    assert name not in _ENTRIES, name
    _ENTRIES[name] = ZooEntry(name, title, kind, tuple(notebooks), make, principal,
                              principal if shipped is None else shipped)


def _only(mode_ok: Callable, make: Callable) -> Callable:
    return lambda q: make(q) if mode_ok(q) else None


def _g(v) -> str:
    return f"{v:g}"


# -- notebook 01: the 8-D VAE, its β sweep, the 2-D VAE (digits, statically binarized) -------------------------
# Binarized, so that the Bernoulli likelihood is a real probability and every "nats" a code length (grey
# pixels would need a density, e.g. the continuous Bernoulli, whose values are not comparable with these).
# Seed 1 (notebook 04: seed 2): notebook 03's models have the same sizes on the same binarized digits; another
# seed (of the training and of the static binarization) keeps every zoo entry a model of its own.
def nb01_base(q: bool) -> TrainConfig:
    return TrainConfig(dataset="digits", binarize="static", latent_dim=8, hidden=[128, 128],
                       epochs=30 if q else 150, seed=1)


BETAS_QUICK, BETAS_FULL = [0.1, 0.5, 1.0, 2.0, 4.0], [0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 4.0, 8.0]
_add("vae-digits-8d", "VAE, 8-D latent, binarized 8x8 digits", "image", [NB01], nb01_base, True)
_add("vae-digits-2d", "VAE, 2-D latent, binarized 8x8 digits (notebook 01)", "image", [NB01],
     lambda q: nb01_base(q).variant(latent_dim=2, epochs=100 if q else 400), True)
_add("vae-digits-16d", "VAE, 16-D latent, binarized 8x8 digits", "image", [],
     lambda q: nb01_base(q).variant(latent_dim=16), True)
for _b in BETAS_FULL:
    _add(f"beta-vae-digits/beta={_g(_b)}", f"β-VAE (β={_g(_b)}), 8-D latent, binarized 8x8 digits", "image", [NB01],
         _only(lambda q, b=_b: b in (BETAS_QUICK if q else BETAS_FULL),
               lambda q, b=_b: nb01_base(q).variant(objective="beta", beta=float(b))), _b == 4.0)

# -- notebook 02: posterior-collapse remedies, LSTM text and PixelCNN/MLP on binarized digits -------------------
REMEDIES = ["none", "kl_warmup", "cyclical", "beta", "freebits", "word_dropout", "aggressive"]


def nb02_text(q: bool) -> TrainConfig:
    return TrainConfig(dataset="synthetic_text", model="lstm", latent_dim=8, hidden=[64], epochs=10 if q else 40,
                       batch_size=64, train_size=2000 if q else 10000, seed=0, diagnostics=True)


def nb02_image(q: bool) -> TrainConfig:
    return TrainConfig(dataset="digits", binarize="static", model="pixelcnn", conditioning="global", layers=2,
                       latent_dim=8, hidden=[128], epochs=12 if q else 60, batch_size=64, seed=0, diagnostics=True)


_REMEDY_TITLES = {"none": "plain ELBO", "kl_warmup": "KL warm-up", "cyclical": "cyclical KL", "beta": "β=0.3",
                  "freebits": "free bits", "word_dropout": "word dropout", "aggressive": "aggressive encoder"}
for _r in REMEDIES:
    _add(f"remedy-text/{_r}", f"LSTM text VAE, {_REMEDY_TITLES[_r]}" + (" (collapses)" if _r == "none" else ""),
         "text", [NB02], lambda q, r=_r: remedy_config(nb02_text(q), r), _r in ("none", "freebits"))
for _r in [r for r in REMEDIES if r != "word_dropout"]:
    _add(f"remedy-pixelcnn/{_r}", f"PixelCNN (z via biases) VAE, {_REMEDY_TITLES[_r]}, binarized digits",
         "image", [NB02], lambda q, r=_r: remedy_config(nb02_image(q), r), _r == "none")
    _add(f"remedy-mlp/{_r}", f"MLP-decoder VAE, {_REMEDY_TITLES[_r]}, binarized digits", "image", [NB02],
         lambda q, r=_r: remedy_config(nb02_image(q).variant(model="mlp"), r))


# -- notebook 03: the amortization gap; the 2-D model is also notebook 05's -------------------------------------
def nb03_base(q: bool, bmnist: bool) -> TrainConfig | None:
    if bmnist:
        return None if q else TrainConfig(dataset="binarized_mnist", latent_dim=2, hidden=[128, 128], epochs=20,
                                          binarize=None, seed=0)
    return TrainConfig(dataset="digits", latent_dim=2, hidden=[128, 128], epochs=100 if q else 300,
                       binarize="static", seed=0)


def nb03_gap(q: bool, bmnist: bool, what: str) -> TrainConfig | None:
    base = nb03_base(q, bmnist)
    if base is None:
        return None
    main = base.variant(latent_dim=8, epochs=20 if bmnist else base.epochs)
    short = 5 if bmnist else (30 if q else 60)
    return {"main": main, "encoder=32": main.variant(encoder_hidden=[32]),
            "encoder=512x512": main.variant(encoder_hidden=[512, 512]),
            "decoder=256x256": main.variant(hidden=[256, 256], encoder_hidden=[128, 128]),
            "short": main.variant(epochs=short)}[what]


_GAP_TITLES = {"main": "8-D VAE", "encoder=32": "8-D VAE, small encoder [32]",
               "encoder=512x512": "8-D VAE, large encoder [512, 512]",
               "decoder=256x256": "8-D VAE, large decoder [256, 256]", "short": "8-D VAE, short training"}
_add("vae-bdigits-2d", "VAE, 2-D latent, binarized 8x8 digits", "image", [NB03, NB05, NB07],
     lambda q: nb03_base(q, False), True)
_add("vae-bmnist-2d", "VAE, 2-D latent, binarized MNIST (full mode)", "image", [NB03],
     lambda q: nb03_base(q, True), True)
for _w in _GAP_TITLES:
    _add(f"gap-bdigits/{_w}", f"{_GAP_TITLES[_w]}, binarized digits", "image", [NB03],
         lambda q, w=_w: nb03_gap(q, False, w))
    _add(f"gap-bmnist/{_w}", f"{_GAP_TITLES[_w]}, binarized MNIST (full mode)", "image", [NB03],
         lambda q, w=_w: nb03_gap(q, True, w), _w == "main")


# -- notebook 04: MMD / InfoVAE on binarized digits (2-D), and strong decoders on them (8-D) --------------------
def nb04_base(q: bool) -> TrainConfig:
    return TrainConfig(dataset="digits", binarize="static", latent_dim=2, hidden=[128, 128],
                       epochs=60 if q else 300, seed=2)


LAMBDAS_QUICK, LAMBDAS_FULL = [0.0, 1.0, 10.0, 100.0], [0.0, 1.0, 3.0, 10.0, 30.0, 100.0, 1000.0]
_add("infovae-digits/elbo", "ELBO-VAE, 2-D latent, binarized digits (InfoVAE's baseline)", "image", [NB04],
     lambda q: nb04_base(q).variant(objective="elbo"), True)
for _l in LAMBDAS_FULL:
    _add(f"infovae-digits/lam={_g(_l)}", ("autoencoder (MMD-VAE γ=0)" if _l == 0 else f"MMD-VAE (α=1, γ={_g(_l)})")
         + ", 2-D latent, binarized digits", "image", [NB04],
         _only(lambda q, v=_l: v in (LAMBDAS_QUICK if q else LAMBDAS_FULL),
               lambda q, v=_l: nb04_base(q).variant(objective="infovae", alpha=1.0, lam=float(v))), _l == 10.0)


def nb04_strong(q: bool, what: str) -> TrainConfig:
    s = nb04_base(q).variant(latent_dim=8, binarize="static", epochs=40 if q else 150)
    mmd = {"objective": "infovae", "alpha": 1.0, "lam": 10.0}
    return {"elbo-mlp": s.variant(model="mlp"), "elbo-pixelcnn": s.variant(model="pixelcnn", layers=6),
            "mmd-pixelcnn": s.variant(model="pixelcnn", layers=6, **mmd),
            "elbo-pixelcnn-biases": s.variant(model="pixelcnn", layers=2, conditioning="global"),
            "mmd-pixelcnn-biases": s.variant(model="pixelcnn", layers=2, conditioning="global", **mmd)}[what]


_STRONG_TITLES = {"elbo-mlp": "ELBO, MLP decoder", "elbo-pixelcnn": "ELBO, PixelCNN decoder (6 layers)",
                  "mmd-pixelcnn": "MMD-VAE (γ=10), PixelCNN decoder (6 layers)",
                  "elbo-pixelcnn-biases": "ELBO, PixelCNN (z via biases)",
                  "mmd-pixelcnn-biases": "MMD-VAE (γ=10), PixelCNN (z via biases)"}
for _s, _t in _STRONG_TITLES.items():
    _add(f"infovae-bdigits/{_s}", f"{_t}, 8-D latent, binarized digits", "image", [NB04],
         lambda q, s=_s: nb04_strong(q, s))

# -- notebook 05: the five SA-VAE training modes on text and on PixelCNN images (bMNIST: full mode only) -------
MODES = ("elbo", "svi", "vae+svi", "vae+svi+kl", "savae")


def nb05_text(q: bool) -> TrainConfig:
    k = 5 if q else 20
    return TrainConfig(dataset="synthetic_text", model="lstm", objective="savae", latent_dim=8, hidden=[64],
                       epochs=10 if q else 40, batch_size=50, train_size=2000 if q else 10000, kl_warmup=3 if q else 10, seed=0,
                       svi_steps=k, svi_lr=0.5, svi_momentum=0.5, svi_clip=None, hvp="fd")


def _with_objective(cfg: TrainConfig | None, objective: str) -> TrainConfig | None:
    return None if cfg is None else cfg.variant(objective=objective)


def nb05_image(q: bool, dataset: str) -> TrainConfig | None:
    """The same config in both modes; in quick mode on the 8x8 digits only (their five checkpoints are shipped)."""
    if q and dataset != "digits":
        return None
    return TrainConfig(dataset=dataset, binarize="static", model="pixelcnn", objective="savae", conditioning="global",
                       layers=3, latent_dim=8, hidden=[128], epochs=20, batch_size=64, kl_warmup=10, seed=0, svi_steps=20,
                       svi_lr=0.05, svi_momentum=0.5, svi_clip=5.0, hvp="fd")


for _m in MODES:
    _add(f"savae-text/{_m}", f"LSTM text VAE trained with mode '{_m}' (SA-VAE lab)", "text", [NB05],
         lambda q, m=_m: nb05_text(q).variant(objective=m), _m == "savae")
    for _d, _short in (("binarized_mnist", "bmnist"), ("digits", "bdigits")):
        _add(f"savae-pixelcnn-{_short}/{_m}", f"PixelCNN VAE trained with mode '{_m}', {_short}"
             + (" (full mode)" if _short == "bmnist" else " (shipped: 100 s of SA-VAE training on a CPU)"),
             "image", [NB05] + ([NB07] if (_short, _m) in (("bdigits", "elbo"), ("bdigits", "savae")) else []),
             lambda q, m=_m, d=_d: _with_objective(nb05_image(q, d), m),
             principal=(_short, _m) == ("bdigits", "savae"), shipped=_short == "bdigits")


# -- notebook 07: inference without an encoder (SRI) beside VAE and SA-VAE on notebook 05's PixelCNN images, seeds
# 0-2 (seed 0 of the VAE and SA-VAE are notebook 05's models); the latent EBM prior on the 2-D pinwheel. None is
# principal: an encoder-free model has no q(z|x) for the latent-space explorers' dropdowns. ---------------------
LAB07_SEEDS = (0, 1, 2)


def nb07_image(q: bool, objective: str, seed: int) -> TrainConfig | None:
    """Notebook 05's PixelCNN config (8x8 digits, both modes) with `objective` ('elbo', 'savae' or 'sri') and seed;
    'sri' keeps the training length and uses the SRI code's Langevin settings (20 steps, 0.8 -> 0.05, T = 0.2)."""
    return nb05_image(q, "digits").variant(objective=objective, seed=seed)   # 'sri' drops the KL warm-up


def nb07_pinwheel(q: bool, prior: str) -> TrainConfig:
    """SRI with an MLP decoder (Gaussian likelihood) on the 2-D pinwheel, 2-D latent, a Gaussian or an EBM prior."""
    cfg = TrainConfig(dataset="pinwheel", objective="sri", latent_dim=2, hidden=[64, 64], epochs=40 if q else 200,
                      batch_size=100, seed=0)
    return cfg.variant(prior="ebm", prior_hidden=[64, 64]) if prior == "ebm" else cfg


_add("sri-pixelcnn-bdigits/sri", "PixelCNN decoder trained by short-run inference (SRI, no encoder), bdigits",
     "image", [NB07], lambda q: nb07_image(q, "sri", 0), shipped=True)
for _s in LAB07_SEEDS[1:]:
    for _m, _t in (("elbo", "VAE"), ("savae", "SA-VAE"), ("sri", "SRI (no encoder)")):
        _add(f"sri-pixelcnn-bdigits/{_m}-seed{_s}", f"PixelCNN {_t}, bdigits, seed {_s}", "image", [NB07],
             lambda q, m=_m, s=_s: nb07_image(q, m, s), shipped=_m != "elbo")   # a VAE trains in seconds
for _p, _t in (("gaussian", "a N(0, I) prior"), ("ebm", "a latent EBM prior")):
    _add(f"sri-pinwheel/{_p}", f"SRI generator with {_t}, 2-D latent, pinwheel", "image", [NB07],
         lambda q, p=_p: nb07_pinwheel(q, p), shipped=True)


# -- look-ups ---------------------------------------------------------------------------------------------------
def _check_kind(kind) -> None:
    if kind is not None and kind not in KINDS:
        raise ValueError(f"kind must be None or one of {list(KINDS)}, got {kind!r}")


def members(kind: str | None = None, quick: bool | None = None, notebook: str | None = None) -> list[str]:
    """Every entry available in this mode (quick=None: is_quick()), sweep members included; sorted."""
    _check_kind(kind)
    if notebook is not None and not any(notebook in e.notebooks for e in _ENTRIES.values()):
        known = sorted({n for e in _ENTRIES.values() for n in e.notebooks})
        raise ValueError(f"notebook must be one of {known}, got {notebook!r}")
    return sorted(n for n, e in _ENTRIES.items() if (kind is None or e.kind == kind) and e.available(quick)
                  and (notebook is None or notebook in e.notebooks))


def shipped_names(quick: bool = True) -> list[str]:
    """The entries whose quick-mode checkpoints ship with vaelab (`zoo build --quick --ship` rebuilds them)."""
    return [n for n in members(quick=quick) if _ENTRIES[n].shipped]


def names(kind: str | None = None, quick: bool | None = None) -> list[str]:
    """The principal models available in this mode (quick=None: is_quick()), for a dropdown; sorted."""
    return [n for n in members(kind, quick) if _ENTRIES[n].principal]


def entry(name: str) -> ZooEntry:
    if not isinstance(name, str) or name not in _ENTRIES:
        raise ValueError(f"name must be a zoo entry, got {name!r}; accepted: {sorted(_ENTRIES)}")
    return _ENTRIES[name]


def config(name: str, quick: bool | None = None) -> TrainConfig:
    """entry(name).config(quick): a fresh TrainConfig; quick=None means vaelab.runtime.is_quick()."""
    return entry(name).config(quick)
