"""Data: loading, caching and generating datasets. Returns tensors plus labels and metadata."""
from .dataset import Dataset, subset
from .registry import available_datasets, dataset_names, load_dataset, quick_subset
from .text import Vocabulary, synthetic_text, vocabulary_of

__all__ = ["Dataset", "subset", "available_datasets", "dataset_names", "load_dataset", "quick_subset", "Vocabulary",
           "synthetic_text", "vocabulary_of"]
