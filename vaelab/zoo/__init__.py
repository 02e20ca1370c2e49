"""Model zoo: named configurations of every model the notebooks train, loaded from shipped or cached checkpoints.

    from vaelab import zoo
    zoo.names()                          # principal models, for a dropdown
    model, history = zoo.load("vae-digits-2d")
    cfg = dataclasses.replace(zoo.config("vae-digits-2d"), epochs=50)   # change a knob, then load_or_train(cfg)
"""
from .catalog import KINDS, ZooEntry, config, entry, members, names, shipped_names
from . import lecture
from .store import (ZooWarning, build, install_shipped, load, manifest_path, prefetch, read_manifest, score, shipped_record,
                    status, test_data)

__all__ = ["KINDS", "ZooEntry", "config", "entry", "members", "names", "shipped_names", "ZooWarning", "build", "install_shipped", "lecture",
           "load", "manifest_path", "prefetch", "read_manifest", "score", "shipped_record", "status", "test_data"]
