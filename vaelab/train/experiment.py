"""TrainConfig and train(): a whole experiment (data, model, objective, loop) from one config."""
from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field, fields

from .._version import __version__
from ..checks import check_int
from ..data import load_dataset, subset
from ..models.vae import build_model
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

    def __post_init__(self):
        self.hidden = [int(h) for h in self.hidden]
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
        blob = json.dumps({"config": self.to_dict(), "version": __version__}, sort_keys=True)
        return hashlib.sha256(blob.encode()).hexdigest()[:16]


def training_data(cfg: TrainConfig):
    ds = load_dataset(cfg.dataset, "train", binarize=cfg.binarize, seed=cfg.seed)
    return subset(ds, cfg.train_size, seed=cfg.seed) if cfg.train_size else ds


def train(cfg: TrainConfig | dict, device=None, progress=None, valid=None):
    """Build the data and model of `cfg` (seeded), fit, and return (model, history)."""
    if isinstance(cfg, dict):
        cfg = TrainConfig.from_dict(cfg)
    ds = training_data(cfg)
    seed_everything(cfg.seed)
    likelihood = "gaussian" if ds.meta["kind"] == "real" else "bernoulli"
    model = build_model(cfg.model, ds.meta["shape"], cfg.latent_dim, cfg.hidden, likelihood=likelihood)
    history = fit(model, ds, cfg.objective, epochs=cfg.epochs, batch_size=cfg.batch_size, lr=cfg.lr,
                  seed=cfg.seed, device=pick_device(device), beta=cfg.beta, iw_samples=cfg.iw_samples,
                  kl_warmup=cfg.kl_warmup, progress=progress, valid=valid)
    return model, history
