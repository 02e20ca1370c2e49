"""Data: loading, caching and generating datasets. Returns tensors plus labels and metadata."""
from .dataset import Dataset, subset
from .registry import available_datasets, dataset_names, load_dataset, quick_subset

__all__ = ["Dataset", "subset", "available_datasets", "dataset_names", "load_dataset", "quick_subset"]
