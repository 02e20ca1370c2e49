"""TrainConfig and train(): a whole experiment (data, model, objective, loop) from one config."""
from __future__ import annotations

import hashlib
import json
from dataclasses import MISSING, asdict, dataclass, field, fields

from .._version import __version__
from ..checks import check_choice, check_float, check_int
from ..data import dataset_names, load_dataset, subset
from ..data.registry import BINARIZE, DOWNLOADED, TEXT_DOWNLOADED
from ..models.vae import MODELS, PRIORS, TEXT_MODELS, build_model, check_model_data, likelihood_for
from ..objectives.objective import Objective
from ..runtime import pick_device, seed_everything
from .loop import fit
from .objectives import KINDS, OBJECTIVES, PARAM_DEFAULTS, build_objective, objective_params

TEXT_DATASETS = ("synthetic_text",) + TEXT_DOWNLOADED
IMAGE_DATASETS = ("digits",) + DOWNLOADED
IMAGE_MODELS = ("conv", "pixelcnn")    # convolutional: they need (C, H, W) images
NO_KL_TERM = ("sri", "lm")             # objectives with no KL term, so no KL schedule
CONDITIONING = ("spatial", "global")
# each objective parameter's check (range and type), and who uses it, for TrainConfig.validate
PARAM_CHECKS = {k: p.check for kind in KINDS.values() for k, p in kind.params.items()}
USED_BY = {k: "objective " + " / ".join(repr(n) for n, kind in KINDS.items() if k in kind.params) for k in PARAM_CHECKS}
# model fields: the models that use them and their default
MODEL_FIELDS = {"word_dropout": (("lstm",), 0.0), "layers": (("pixelcnn",), 3),
                "conditioning": (("pixelcnn",), "spatial"), "encoder_hidden": (("mlp",), None)}


def _normalised(d: dict, keep: set) -> dict:
    """d with every option its model and objective do not use, except those in `keep`, set to its default."""
    own = objective_params(d.get("objective", "elbo")) if d.get("objective", "elbo") in OBJECTIVES else ()
    for name, default in PARAM_DEFAULTS.items():
        if name in d and name not in own and name not in keep:
            d[name] = default
    for name, (models, default) in MODEL_FIELDS.items():
        if name in d and d.get("model", "mlp") not in models and name not in keep:
            d[name] = default
    for name, default in PRIOR_FIELDS.items():
        if name in d and d.get("prior", "gaussian") != "ebm" and name not in keep:
            d[name] = default
    if d.get("objective") in NO_KL_TERM:            # no KL term: no KL schedule
        d.update({k: v for k, v in (("kl_warmup", 0.0), ("kl_cycles", 0)) if k in d and k not in keep})
    return d


def _widths(name: str, widths) -> list:
    if isinstance(widths, (str, bytes)) or not hasattr(widths, "__iter__"):
        raise TypeError(f"{name} must be a list of layer widths (integers >= 1), got {widths!r}")
    widths = list(widths)
    if not widths:
        raise ValueError(f"{name} must list at least one layer width, got []")
    for w in widths:
        check_int(f"{name} entries", w, 1)
    return widths


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
    vocab_size: int | None = None   # a downloaded corpus: keep its vocab_size most frequent words (None: all)
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
    langevin_steps: int = 20        # objective 'sri' (Pang et al. 2021): short-run Langevin steps per example
    langevin_step_start: float = 0.8  # objective 'sri': first step size, falling linearly to langevin_step_end
    langevin_step_end: float = 0.05   # objective 'sri': last step size
    langevin_temperature: float = 0.2  # objective 'sri': T multiplying the chain's noise (1: exact posterior)
    prior: str = "gaussian"         # 'gaussian' N(0, I), or 'ebm': a latent EBM prior (Pang et al. 2020; with 'sri')
    prior_hidden: list = field(default_factory=lambda: [200, 200])  # prior 'ebm': widths of the MLP f_a
    prior_steps: int = 60           # prior 'ebm': short-run Langevin steps of its sampler
    prior_step_size: float = 0.4    # prior 'ebm': step size of its sampler

    def __post_init__(self):
        self.validate()

    def validate(self) -> "TrainConfig":
        """Check every field, used or not: choices, ranges, and options the chosen objective or model ignores
        (refused unless left at their defaults). Raises ValueError/TypeError naming the field."""
        check_choice("dataset", self.dataset, dataset_names())
        check_choice("model", self.model, MODELS)
        check_choice("objective", self.objective, OBJECTIVES)
        check_choice("binarize", self.binarize, BINARIZE)
        check_choice("conditioning", self.conditioning, CONDITIONING)
        self.hidden = _widths("hidden", self.hidden)
        if self.encoder_hidden is not None:
            self.encoder_hidden = _widths("encoder_hidden", self.encoder_hidden)
        for name in ("latent_dim", "epochs", "batch_size", "layers"):
            check_int(name, getattr(self, name), 1)
        for name in ("seed", "kl_cycles"):
            check_int(name, getattr(self, name), 0)
        if self.train_size is not None:
            check_int("train_size", self.train_size, 1)
        if self.vocab_size is not None:
            check_int("vocab_size", self.vocab_size, 1)
            if self.dataset not in TEXT_DOWNLOADED:
                raise ValueError(f"vocab_size={self.vocab_size!r} trims a downloaded corpus' vocabulary (one of "
                                 f"{', '.join(map(repr, TEXT_DOWNLOADED))}); dataset={self.dataset!r} is not one: "
                                 "leave vocab_size None")
        check_float("lr", self.lr, 0.0, strict=True)
        check_float("kl_warmup", self.kl_warmup, 0.0)
        if self.kl_warmup and self.kl_cycles:
            raise ValueError(f"kl_warmup={self.kl_warmup!r} and kl_cycles={self.kl_cycles!r} both set: choose one "
                             "KL schedule")
        check_float("word_dropout", self.word_dropout, 0.0, maximum=1.0)   # 1: an inputless decoder (Bowman 2016)
        if not isinstance(self.diagnostics, bool):
            raise TypeError(f"diagnostics must be True or False, got {self.diagnostics!r}")
        for name, check in PARAM_CHECKS.items():     # every objective parameter, whichever objective is chosen
            check(name, getattr(self, name))
        own = objective_params(self.objective)
        for name, default in PARAM_DEFAULTS.items():
            if name not in own and getattr(self, name) != default:
                raise ValueError(f"{name}={getattr(self, name)!r} is not used by objective={self.objective!r} "
                                 f"({USED_BY[name]} uses it); leave it at its default {default!r} "
                                 "(cfg.variant(objective=...) resets what the new objective does not use)")
        for name, (models, default) in MODEL_FIELDS.items():
            if self.model not in models and getattr(self, name) != default:
                raise ValueError(f"{name}={getattr(self, name)!r} is not used by model={self.model!r} (model "
                                 f"{' or '.join(map(repr, models))} uses it); leave it at its default {default!r} "
                                 "(cfg.variant(model=...) resets what the new model does not use)")
        check_choice("prior", self.prior, PRIORS)
        self.prior_hidden = _widths("prior_hidden", self.prior_hidden)
        check_int("prior_steps", self.prior_steps, 1)
        check_float("prior_step_size", self.prior_step_size, 0.0, strict=True)
        for name, default in PRIOR_FIELDS.items():
            if self.prior != "ebm" and getattr(self, name) != default:
                raise ValueError(f"{name}={getattr(self, name)!r} is not used by prior={self.prior!r} (prior 'ebm' "
                                 f"uses it); leave it at its default {default!r}")
        if self.prior == "ebm" and self.objective != "sri":
            raise ValueError(f"prior='ebm' trains with objective='sri' (Pang et al. 2020 learn the EBM prior from "
                             f"short-run posterior samples), got objective={self.objective!r}")
        if self.objective in NO_KL_TERM and (self.kl_warmup or self.kl_cycles):
            raise ValueError(f"kl_warmup={self.kl_warmup!r}, kl_cycles={self.kl_cycles!r}: objective="
                             f"{self.objective!r} has no KL term to schedule; leave both at 0")
        text = self.dataset in TEXT_DATASETS
        if (self.model in TEXT_MODELS) != text:
            wants = "a text dataset, e.g. 'synthetic_text'" if self.model in TEXT_MODELS else \
                f"image or point data (text goes with model {', '.join(map(repr, TEXT_MODELS))})"
            raise ValueError(f"model={self.model!r} cannot train on dataset={self.dataset!r} "
                             f"({'text' if text else 'not text'}): it needs {wants}")
        if self.model in IMAGE_MODELS and self.dataset not in IMAGE_DATASETS:
            raise ValueError(f"model={self.model!r} needs image data (one of {', '.join(map(repr, IMAGE_DATASETS))}), "
                             f"got dataset={self.dataset!r}")
        if text and self.binarize is not None:
            raise ValueError(f"binarize={self.binarize!r} needs image data; dataset {self.dataset!r} is text")
        objective = self.objective_value()           # the objective's own joint rules (InfoVAE: alpha+lam-1 >= 0)
        if self.batch_size < objective.min_batch:
            raise ValueError(f"batch_size={self.batch_size} is too small for objective={self.objective!r}: it needs at "
                             f"least {objective.min_batch} examples per batch")
        return self

    def objective_value(self) -> Objective:
        """The Objective this config trains with, built from its own parameter fields."""
        return build_objective(self.objective, **{k: getattr(self, k) for k in objective_params(self.objective)})

    def variant(self, **edits) -> "TrainConfig":
        """A copy with `edits`, where the options that the new model or objective does not use (and `edits` does
        not set) go back to their defaults: cfg.variant(objective='elbo') from an SA-VAE config drops svi_*."""
        return TrainConfig(**_normalised({**self.to_dict(), **edits}, keep=set(edits)))

    @classmethod
    def from_record(cls, d: dict) -> "TrainConfig":
        """from_dict for a config stored by an earlier vaelab (zoo manifests, checkpoints), which may carry
        options its model or objective does not use: those go back to their defaults."""
        return cls.from_dict(_normalised(dict(d), keep=set()))

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
        for k in LATER_FIELDS:            # fields added after 0.2.0: at their defaults they leave older keys unchanged
            if d[k] == LATER_FIELDS[k]:
                d.pop(k)
        blob = json.dumps({"config": d, "version": __version__}, sort_keys=True)
        return hashlib.sha256(blob.encode()).hexdigest()[:16]



_DEFAULTS = {f.name: f.default_factory() if f.default is MISSING else f.default for f in fields(TrainConfig)}
# fields added after 0.2.0 (left out of the cache key at their defaults), and those only prior 'ebm' uses
LATER_FIELDS = {k: _DEFAULTS[k] for k in ("vocab_size", "langevin_steps", "langevin_step_start", "langevin_step_end",
                                          "langevin_temperature", "prior", "prior_hidden", "prior_steps",
                                          "prior_step_size")}
PRIOR_FIELDS = {k: _DEFAULTS[k] for k in ("prior_hidden", "prior_steps", "prior_step_size")}

def model_options(cfg: TrainConfig, ds) -> dict:
    """The build_model keywords of the chosen model and prior beyond name, shape, latent size and widths."""
    if cfg.prior == "ebm":
        return {**_model_options(cfg, ds), "prior": "ebm", "prior_hidden": cfg.prior_hidden,
                "prior_steps": cfg.prior_steps, "prior_step_size": cfg.prior_step_size}
    return _model_options(cfg, ds)


def _model_options(cfg: TrainConfig, ds) -> dict:
    if cfg.model == "lstm":
        return {"vocab_size": ds.meta["vocab_size"], "word_dropout": cfg.word_dropout}
    if cfg.model == "pixelcnn":
        return {"layers": cfg.layers, "conditioning": cfg.conditioning}
    if cfg.encoder_hidden is not None:
        return {"encoder_hidden": cfg.encoder_hidden}
    return {}


def config_split(cfg: TrainConfig, split: str):
    """The split of cfg's dataset as cfg trains on it: binarized with its seed, its vocabulary trimmed."""
    return load_dataset(cfg.dataset, split, binarize=cfg.binarize, seed=cfg.seed, vocab_size=cfg.vocab_size)


def training_data(cfg: TrainConfig):
    ds = config_split(cfg, "train")
    return subset(ds, cfg.train_size, seed=cfg.seed) if cfg.train_size else ds


def train(cfg: TrainConfig | dict, device=None, progress=None, valid=None):
    """Build the data and model of `cfg` (seeded), fit, and return (model, history)."""
    cfg = TrainConfig.from_dict(cfg) if isinstance(cfg, dict) else cfg.validate()   # fields may have been set since
    objective = cfg.objective_value()
    ds = training_data(cfg)
    seed_everything(cfg.seed)
    check_model_data(cfg.model, ds.meta["kind"])
    likelihood = "bernoulli" if ds.meta["kind"] == "text" else likelihood_for(ds.meta["kind"], cfg.binarize)
    model = build_model(cfg.model, ds.meta["shape"], cfg.latent_dim, cfg.hidden, likelihood=likelihood,
                        **model_options(cfg, ds))
    history = fit(model, ds, objective, epochs=cfg.epochs, batch_size=cfg.batch_size, lr=cfg.lr, seed=cfg.seed,
                  device=pick_device(device), kl_warmup=cfg.kl_warmup, kl_cycles=cfg.kl_cycles, valid=valid,
                  diagnostics=cfg.diagnostics, progress=progress)
    return model, history
