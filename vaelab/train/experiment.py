"""TrainConfig and train(): a whole experiment (data, model, objective, loop) from one config."""
from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field, fields

from .._version import __version__
from ..checks import check_int
from ..data import load_dataset, subset
from ..models.vae import build_model, check_model_data, likelihood_for
from ..runtime import pick_device, seed_everything
from .loop import fit


@dataclass
class TrainConfig:
    """Everything that determines a trained model. Two equal configs give the same weights on CPU."""

    dataset: str = "digits"
    model: str = "mlp"
    objective: str = "elbo"
    latent_dim: int = 16
    hidden: list = field(default_factory=lambda: [200, 200])
    epochs: int = 10
    batch_size: int = 128
    lr: float = 1e-3
    seed: int = 0
    beta: float = 1.0
    iw_samples: int = 5
    kl_warmup: float = 0.0
    binarize: str | None = None
    train_size: int | None = None   # a seeded subset of the training split (quick mode)
    alpha: float = 0.0              # infovae: loss = rec + (1-alpha) KL + (alpha+lam-1) MMD(q(z), p(z))
    lam: float = 1.0                # infovae: lambda (named lam: `lambda` is a Python keyword)
    kernel: str = "imq"             # infovae: MMD kernel, 'imq' or 'rbf'
    free_bits: float = 0.0          # objective 'freebits': per-dimension KL floor λ (nats)
    kl_cycles: int = 0              # >= 1: cyclical KL schedule with this many cycles (Fu et al. 2019)
    word_dropout: float = 0.0       # model 'lstm': decoder input tokens replaced by <unk> with this probability
    layers: int = 3                 # model 'pixelcnn': masked-conv layers (decoder strength)
    conditioning: str = "spatial"   # model 'pixelcnn': how z enters, 'spatial' (map + biases) or 'global' (biases)
    diagnostics: bool = False       # per-epoch kl_per_dim, mi, active_units (+ nll_per_token, ppl for text)
    svi_steps: int = 10             # objectives svi, vae+svi, vae+svi+kl, savae (Kim et al. 2018): SVI steps K
    svi_lr: float = 1.0             # SVI step size η (per example: the original's batch mean makes it η/B)
    svi_momentum: float = 0.5       # SVI momentum m in [0, 1)
    svi_clip: float | None = 5.0    # per-example gradient-norm clip of each SVI step (None: off)
    hvp: str = "exact"              # savae backward through the steps: 'exact' (autograd) or 'fd' (Algorithm 1)
    encoder_hidden: list | None = None  # model 'mlp': encoder widths when they differ from `hidden` (gap lab)

    def __post_init__(self):
        self.hidden = [int(h) for h in self.hidden]
        if self.encoder_hidden is not None:
            self.encoder_hidden = [int(h) for h in self.encoder_hidden]
        if self.train_size is not None:
            check_int("train_size", self.train_size, 1)

    @classmethod
    def from_dict(cls, d: dict) -> "TrainConfig":
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(d) - known)
        if unknown:
            raise ValueError(f"unknown TrainConfig keys {unknown}; accepted: {sorted(known)}")
        return cls(**d)

    def to_dict(self) -> dict:
        return asdict(self)

    def key(self) -> str:
        """A short hash of the config and vaelab's version: the cache entry's name."""
        d = self.to_dict()
        if d["encoder_hidden"] is None:   # keep the keys of configs that do not use it
            d.pop("encoder_hidden")
        if d["objective"] not in ("svi", "vae+svi", "vae+svi+kl", "savae"):   # keep older cache entries valid
            for k in ("svi_steps", "svi_lr", "svi_momentum", "svi_clip", "hvp"):
                d.pop(k)
        blob = json.dumps({"config": d, "version": __version__}, sort_keys=True)
        return hashlib.sha256(blob.encode()).hexdigest()[:16]


def model_options(cfg: TrainConfig, ds) -> dict:
    """The build_model keywords of the autoregressive models (posterior-collapse lab); {} for the others."""
    if cfg.model != "lstm" and cfg.word_dropout:
        raise ValueError(f"word_dropout={cfg.word_dropout!r} needs model='lstm', got model={cfg.model!r}")
    if cfg.model == "lstm":
        return {"vocab_size": ds.meta["vocab_size"], "word_dropout": cfg.word_dropout}
    if cfg.encoder_hidden is not None and cfg.model != "mlp":
        raise ValueError(f"encoder_hidden={cfg.encoder_hidden!r} needs model='mlp', got model={cfg.model!r}")
    if cfg.model == "pixelcnn":
        return {"layers": cfg.layers, "conditioning": cfg.conditioning}
    if cfg.encoder_hidden is not None:
        return {"encoder_hidden": cfg.encoder_hidden}
    return {}


def training_data(cfg: TrainConfig):
    ds = load_dataset(cfg.dataset, "train", binarize=cfg.binarize, seed=cfg.seed)
    return subset(ds, cfg.train_size, seed=cfg.seed) if cfg.train_size else ds


def train(cfg: TrainConfig | dict, device=None, progress=None, valid=None):
    """Build the data and model of `cfg` (seeded), fit, and return (model, history)."""
    if isinstance(cfg, dict):
        cfg = TrainConfig.from_dict(cfg)
    ds = training_data(cfg)
    seed_everything(cfg.seed)
    check_model_data(cfg.model, ds.meta["kind"])
    likelihood = "bernoulli" if ds.meta["kind"] == "text" else likelihood_for(ds.meta["kind"], cfg.binarize)
    model = build_model(cfg.model, ds.meta["shape"], cfg.latent_dim, cfg.hidden, likelihood=likelihood,
                        **model_options(cfg, ds))
    history = fit(model, ds, cfg.objective, epochs=cfg.epochs, batch_size=cfg.batch_size, lr=cfg.lr,
                  seed=cfg.seed, device=pick_device(device), beta=cfg.beta, iw_samples=cfg.iw_samples,
                  kl_warmup=cfg.kl_warmup, alpha=cfg.alpha, lam=cfg.lam, kernel=cfg.kernel, progress=progress,
                  valid=valid, free_bits=cfg.free_bits, kl_cycles=cfg.kl_cycles, diagnostics=cfg.diagnostics,
                  svi_steps=cfg.svi_steps, svi_lr=cfg.svi_lr, svi_momentum=cfg.svi_momentum, svi_clip=cfg.svi_clip,
                  hvp=cfg.hvp)
    return model, history
