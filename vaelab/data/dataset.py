"""The Dataset record every loader returns, and the quick-mode subset helper."""
from __future__ import annotations

from dataclasses import dataclass, field

import torch

from ..checks import check_int


@dataclass
class Dataset:
    """x: float tensor (n, *shape); y: long labels (n,) or None; meta: kind, shape, source, name, split."""

    x: torch.Tensor
    y: torch.Tensor | None
    meta: dict = field(default_factory=dict)

    def __len__(self) -> int:
        return self.x.shape[0]

    def __repr__(self) -> str:
        labels = "no labels" if self.y is None else f"{int(self.y.max()) + 1} classes"
        return (f"Dataset({self.meta.get('name')!r}, split={self.meta.get('split')!r}, n={len(self)}, "
                f"shape={tuple(self.meta.get('shape', ()))}, kind={self.meta.get('kind')!r}, {labels})")

    def to(self, device) -> "Dataset":
        y = None if self.y is None else self.y.to(device)
        return Dataset(self.x.to(device), y, dict(self.meta))


def subset(ds: Dataset, n: int, seed: int = 0) -> Dataset:
    """n examples drawn without replacement by a seeded permutation (the same n and seed give the same rows)."""
    check_int("n", n, 1)
    if n >= len(ds):
        return ds
    idx = torch.randperm(len(ds), generator=torch.Generator().manual_seed(seed))[:n].sort().values
    y = None if ds.y is None else ds.y[idx]
    return Dataset(ds.x[idx], y, {**ds.meta, "subset": {"n": n, "seed": seed, "of": len(ds)}})
