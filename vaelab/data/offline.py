"""Datasets that need no network: scikit-learn's 8x8 digits and generated 2-D toy sets."""
from __future__ import annotations

import math

import numpy as np

SPLITS = ("train", "valid", "test")
# digits has 1797 images; a fixed permutation gives these split sizes.
DIGITS_SIZES = {"train": 1297, "valid": 200, "test": 300}
TOY_SIZES = {"train": 2000, "valid": 500, "test": 1000}
_SPLIT_SEED = {"train": 0, "valid": 1, "test": 2}


def digits(split: str) -> tuple[np.ndarray, np.ndarray]:
    """Images (n, 1, 8, 8) in [0, 1] (raw counts 0..16 divided by 16) and labels 0..9."""
    from sklearn.datasets import load_digits

    bunch = load_digits()
    order = np.random.default_rng(20181).permutation(len(bunch.target))
    start = 0
    for name in SPLITS:
        stop = start + DIGITS_SIZES[name]
        if name == split:
            idx = order[start:stop]
            x = (bunch.images[idx] / 16.0).astype(np.float32)[:, None]
            return x, bunch.target[idx].astype(np.int64)
        start = stop
    raise AssertionError(split)


def pinwheel(n: int, seed: int, arms: int = 5, radial_std: float = 0.3, tangential_std: float = 0.05,
             rate: float = 0.25) -> tuple[np.ndarray, np.ndarray]:
    """Johnson et al. (2016)'s pinwheel: `arms` curved clusters; label = arm."""
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, arms, n)
    feats = rng.standard_normal((n, 2)) * np.array([radial_std, tangential_std])
    feats[:, 0] += 1.0
    angles = 2 * math.pi * labels / arms + rate * np.exp(feats[:, 0])
    rot = np.stack([np.cos(angles), -np.sin(angles), np.sin(angles), np.cos(angles)], 1).reshape(n, 2, 2)
    x = np.einsum("ti,tij->tj", feats, rot)
    return x.astype(np.float32), labels.astype(np.int64)


def ring(n: int, seed: int, modes: int = 8, radius: float = 2.0, std: float = 0.15) -> tuple[np.ndarray, np.ndarray]:
    """A mixture of `modes` Gaussians on a circle: a multimodal target; label = mode."""
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, modes, n)
    angle = 2 * math.pi * labels / modes
    x = np.stack([radius * np.cos(angle), radius * np.sin(angle)], 1) + std * rng.standard_normal((n, 2))
    return x.astype(np.float32), labels.astype(np.int64)


def moons(n: int, seed: int, noise: float = 0.08) -> tuple[np.ndarray, np.ndarray]:
    """scikit-learn's two interleaving half circles; label = moon."""
    from sklearn.datasets import make_moons

    x, y = make_moons(n_samples=n, noise=noise, random_state=seed)
    return x.astype(np.float32), y.astype(np.int64)


TOY = {"pinwheel": pinwheel, "ring": ring, "moons": moons}


def toy(name: str, split: str) -> tuple[np.ndarray, np.ndarray]:
    return TOY[name](TOY_SIZES[split], seed=_SPLIT_SEED[split] + 100 * (list(TOY).index(name) + 1))
