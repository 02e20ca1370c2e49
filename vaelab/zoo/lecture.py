"""The lecture profile's shipped checkpoints: half-precision copies of the models of `vaelab table ... --profile
lecture`, so that a notebook shows a 3-seed real-data result in class without training for an hour first.

Files live in vaelab/zoo/lecture/ (LIMIT_BYTES in all), one per TrainConfig, named like its cache entry, with a
manifest {"format": 1, "entries": {cache key: {name, mode 'lecture', config, file, sha256, bytes}}}. Floating-point weights are stored
as fp16; `install(cfg)` casts them back into an fp32 model and writes that into the cache, so load_or_train then
serves exactly the shipped model (its scores are those of the rounded weights: `vaelab table` and the notebooks
score what they load). A file whose sha256 differs from the manifest's is corrupt: a ZooWarning says so and the
caller trains the config instead.

Rebuild: `make lecture-models` (`vaelab table remedies --profile lecture --seeds 3 --ship ROWS` in a fresh
cache: it trains every config from scratch, never from these files, then replaces them).
"""
from __future__ import annotations

import tempfile
from pathlib import Path

import torch

from ..data.download import sha256_file
from ..files import atomic_write_bytes
from ..train.cache import cache_path
from ..train.checkpoint import HASH_KEY, content_sha256, load_checkpoint, save_checkpoint, write_json
from ..train.experiment import TrainConfig
from .store import intact, read_manifest

LECTURE_DIR = Path(__file__).resolve().parent / "lecture"
LIMIT_BYTES = 20_000_000          # with the quick-mode files (vaelab/zoo/shipped, ~5 MB): ~25 MB of package data
FORMAT = 1


def _manifest(folder: Path = LECTURE_DIR) -> dict:
    return read_manifest(folder / "manifest.json")


def shipped_configs(folder: Path = LECTURE_DIR) -> list[TrainConfig]:
    """The configs whose checkpoints ship in the lecture folder."""
    return [TrainConfig.from_record(rec["config"]) for rec in _manifest(folder)["entries"].values()]


def record(cfg: TrainConfig, folder: Path = LECTURE_DIR) -> dict | None:
    """The manifest record shipped for exactly this config, or None."""
    for rec in _manifest(folder)["entries"].values():
        if TrainConfig.from_record(rec["config"]) == cfg:
            return rec
    return None


def install(cfg: TrainConfig, root=None, folder: Path = LECTURE_DIR) -> bool:
    """Write the shipped checkpoint of cfg (fp16 weights cast to fp32) into the cache; True if it did.

    Nothing happens when the cache already holds cfg or nothing is shipped for it. A shipped file that fails its
    sha256 gives a ZooWarning and False (load_or_train then trains cfg)."""
    target = cache_path(cfg, root)
    rec = None if target.exists() else record(cfg, folder)
    if rec is None:
        return False
    src = folder / rec["file"]
    if not intact(src, rec["sha256"], "LECTURE", "training this config instead", "make lecture-models"):
        return False
    model, payload = load_checkpoint(src)            # builds an fp32 model: the fp16 weights are cast on loading
    save_checkpoint(target, model, train_config=payload["train_config"], history=payload["history"])
    return True


def _half_bytes(src: Path) -> bytes:
    """The checkpoint at src with its floating-point weights in fp16 (and its content hash renewed)."""
    _, payload = load_checkpoint(src)                # verifies the cached file first
    payload = {k: v for k, v in payload.items() if k != HASH_KEY}
    payload["state_dict"] = {k: v.half() if v.is_floating_point() else v for k, v in payload["state_dict"].items()}
    payload[HASH_KEY] = content_sha256(payload)
    with tempfile.TemporaryFile() as f:
        torch.save(payload, f)
        f.seek(0)
        return f.read()


def ship(cfgs, root=None, folder: Path = LECTURE_DIR, limit_bytes: int = LIMIT_BYTES) -> int:
    """Replace the lecture folder's files by half-precision copies of the cached checkpoints of cfgs; returns the
    bytes shipped. Every cfg must be in the cache (root: default $VAELAB_CACHE). Over limit_bytes, nothing is
    written and a ValueError says by how much."""
    blobs = []
    for cfg in cfgs:
        src = cache_path(cfg, root)
        if not src.exists():
            raise ValueError(f"cannot ship {cfg.key()} ({cfg.dataset}, {cfg.objective}, seed {cfg.seed}): it is not "
                             f"in the cache at {src}; train it first (the table command does)")
        blobs.append((cfg, _half_bytes(src)))
    total = sum(len(b) for _, b in blobs)
    if total > limit_bytes:
        raise ValueError(f"the lecture checkpoints would take {total / 1e6:.1f} MB, over the {limit_bytes / 1e6:g} MB "
                         "budget: ship fewer rows or seeds, or smaller models")
    folder.mkdir(parents=True, exist_ok=True)
    entries = {}
    for cfg, blob in blobs:
        name = cache_path(cfg).parent.name + ".pt"
        atomic_write_bytes(folder / name, lambda f, b=blob: f.write(b))
        (folder / name).chmod(0o644)                   # repository files, not private temp files
        entries[cfg.key()] = {"name": name[:-3], "mode": "lecture", "config": cfg.to_dict(), "file": name,
                              "sha256": sha256_file(folder / name), "bytes": len(blob),
                              "metrics": {}}        # scored by the tables (vaelab table --profile lecture)
    for stale in folder.glob("*.pt"):
        if stale.name not in {e["file"] for e in entries.values()}:
            stale.unlink()
    write_json(folder / "manifest.json", {"format": FORMAT, "entries": entries})
    (folder / "manifest.json").chmod(0o644)
    return total
