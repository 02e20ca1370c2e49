"""vaelab: a teaching toolkit for the inference side of variational autoencoders.

Layers, imported one way only:
data -> models -> objectives -> inference -> metrics -> train -> zoo -> plots -> widgets.
"""
from ._version import __version__
from .data import available_datasets, load_dataset
from .models import build_model
from .runtime import is_quick, pick_device
from .train import TrainConfig, fit, load_or_train, memo
from . import zoo

__all__ = ["__version__", "available_datasets", "load_dataset", "build_model", "is_quick", "pick_device",
           "TrainConfig", "fit", "load_or_train", "memo", "zoo"]
