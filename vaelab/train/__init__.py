"""Training: one loop for every objective, atomic checkpoints, the cached load_or_train, and memo for results."""
from .cache import cache_path, load_or_train
from .checkpoint import load_checkpoint, save_checkpoint, write_json
from .experiment import TrainConfig, train, training_data
from .loop import History, NonFiniteLossError, fit
from .objectives import OBJECTIVES, build_objective
from .result_cache import memo
from .infovae_sweeps import compare_objectives, infovae_sweep, scored_model
from .sweeps import beta_sweep
from .remedies import eval_split, remedy_config, remedy_row, remedy_table, train_remedies

__all__ = ["cache_path", "load_or_train", "load_checkpoint", "save_checkpoint", "write_json", "TrainConfig",
           "train", "training_data", "History", "NonFiniteLossError", "fit", "OBJECTIVES", "build_objective", "memo", "beta_sweep",
           "compare_objectives", "infovae_sweep", "scored_model", "eval_split", "remedy_config", "remedy_row",
           "remedy_table", "train_remedies"]
