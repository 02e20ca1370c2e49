"""Objective: a training objective as a value that carries and validates its own parameters.

    obj = build_objective("savae", svi_steps=10, hvp="fd")     # vaelab.train.objectives
    obj.name, obj.params          # 'savae', {'svi_steps': 10, 'svi_lr': 1.0, ..., 'hvp': 'fd'}
    loss, stats = obj(model, x, kl_weight=1.0)

Each kind of objective is declared once, by an ObjectiveKind: its name, its parameters (default and check) and a
maker that turns validated parameters into the loss function (model, x, kl_weight) -> (loss, stats). A parameter
that the objective does not have is refused with the list of those it has; every value is range-checked.
fit() reads facts from the value instead of from its name: `encoder_first` (He et al. 2019's aggressive
inner loop), `trains_encoder` (False for 'svi', which has no encoder to train), `min_batch` (2 for
'infovae', whose unbiased MMD² compares samples within a batch) and `compilable` (False where the loss runs autograd
itself, as the SVI steps of SA-VAE and the Langevin chains of SRI do: fit(compile=True) refuses those).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable


@dataclass(frozen=True)
class Param:
    """One parameter of an objective: its default and check(name, value) -> the validated value (or raises)."""

    default: object
    check: Callable[[str, object], object]
    doc: str = ""


@dataclass(frozen=True)
class Objective:
    """A validated objective. Call it like a loss: obj(model, x, kl_weight=1.0, **extra) -> (loss, stats)."""

    name: str
    params: dict
    loss: Callable = field(repr=False, compare=False)
    encoder_first: bool = False
    trains_encoder: bool = True
    min_batch: int = 1
    compilable: bool = True

    def __call__(self, model, x, kl_weight=1.0, **extra):
        return self.loss(model, x, kl_weight=kl_weight, **extra)

    def __hash__(self):
        return hash((self.name, tuple(sorted(self.params.items(), key=lambda kv: kv[0]))))


@dataclass(frozen=True)
class ObjectiveKind:
    """The declaration of one objective: name, parameters, and make(**params) -> loss function."""

    name: str
    params: dict
    make: Callable
    encoder_first: bool = False
    trains_encoder: bool = True
    min_batch: int = 1               # the fewest examples one batch may hold (an unbiased MMD² needs 2)
    doc: str = ""
    compilable: bool = True          # False: the loss runs autograd inside (SVI steps, Langevin), no torch.compile

    def defaults(self) -> dict:
        return {k: p.default for k, p in self.params.items()}

    def build(self, **given) -> Objective:
        unknown = sorted(set(given) - set(self.params))
        if unknown:
            has = ", ".join(self.params) if self.params else "none"
            raise ValueError(f"objective={self.name!r} has no parameter {', '.join(map(repr, unknown))}; "
                             f"its parameters: {has}{_hint(unknown)}")
        values = {k: p.check(k, given.get(k, p.default)) for k, p in self.params.items()}
        return Objective(self.name, values, self.make(**values), self.encoder_first, self.trains_encoder,
                         self.min_batch, self.compilable)


# Who uses a stray parameter, for the error message.
_SVI = "objective='svi', 'vae+svi', 'vae+svi+kl' or 'savae'"
_OWNER = {"beta": "objective='beta'", "iw_samples": "objective='iwae'", "alpha": "objective='infovae'",
          "lam": "objective='infovae'", "kernel": "objective='infovae'", "free_bits": "objective='freebits'",
          "svi_steps": _SVI, "svi_lr": _SVI, "svi_momentum": _SVI, "svi_clip": _SVI, "hvp": _SVI}


def _hint(unknown) -> str:
    owners = sorted({_OWNER[k] for k in unknown if k in _OWNER})
    return f" ({' / '.join(owners)} uses {'it' if len(unknown) == 1 else 'them'})" if owners else ""
