import pytest
import torch

import vaelab
from vaelab.data import dataset_names, load_dataset, quick_subset, subset
from vaelab.data.offline import DIGITS_SIZES, TOY


def test_digits_shapes_ranges_and_splits():
    parts = {s: load_dataset("digits", s) for s in ("train", "valid", "test")}
    assert sum(len(p) for p in parts.values()) == 1797
    for split, ds in parts.items():
        assert ds.x.shape == (DIGITS_SIZES[split], 1, 8, 8) and ds.x.dtype == torch.float32
        assert 0.0 <= float(ds.x.min()) and float(ds.x.max()) <= 1.0
        assert set(ds.y.unique().tolist()) == set(range(10))
        assert ds.meta["kind"] == "gray" and ds.meta["shape"] == (1, 8, 8) and ds.meta["split"] == split
    # the split is fixed: loading twice gives identical rows
    assert torch.equal(load_dataset("digits", "test").x, parts["test"].x)


def test_digits_splits_are_disjoint_as_a_partition_of_sklearn_digits():
    from sklearn.datasets import load_digits
    total = torch.cat([load_dataset("digits", s).x for s in ("train", "valid", "test")]).flatten(1) * 16
    ref = torch.from_numpy(load_digits().data).float()
    # same multiset of rows: sort rows lexicographically via a stable key
    key = lambda t: sorted(map(tuple, t.round().int().tolist()))  # noqa: E731
    assert key(total) == key(ref)


@pytest.mark.parametrize("name", list(TOY))
def test_toy_sets_are_deterministic_2d_points_with_labels(name):
    a, b = load_dataset(name, "test"), load_dataset(name, "test")
    assert a.x.shape == (1000, 2) and a.meta["kind"] == "real"
    assert torch.equal(a.x, b.x) and torch.equal(a.y, b.y)
    assert not torch.equal(load_dataset(name, "train").x[:1000], a.x)
    assert a.y.unique().numel() >= 2


def test_static_and_dynamic_binarization():
    static = load_dataset("digits", "test", binarize="static")
    assert set(static.x.unique().tolist()) == {0.0, 1.0} and static.meta["kind"] == "binary"
    assert torch.equal(static.x, load_dataset("digits", "test", binarize="static").x)
    dyn = load_dataset("digits", "test", binarize="dynamic")
    assert dyn.meta["binarize"] == "dynamic" and float(dyn.x.max()) <= 1.0
    with pytest.raises(ValueError, match="binarize='static' needs image data"):
        load_dataset("moons", binarize="static")


def test_unknown_names_list_the_choices():
    with pytest.raises(ValueError, match="name='mnits' is not one of.*'digits'.*'binarized_mnist'"):
        load_dataset("mnits")
    with pytest.raises(ValueError, match="split='validation'.*'train', 'valid', 'test'"):
        load_dataset("digits", "validation")
    with pytest.raises(ValueError, match="binarize='yes'"):
        load_dataset("digits", binarize="yes")


def test_subset_is_seeded_and_quick_subset_follows_quick_mode(monkeypatch):
    ds = load_dataset("digits")
    a, b, c = subset(ds, 100, seed=1), subset(ds, 100, seed=1), subset(ds, 100, seed=2)
    assert len(a) == 100 and torch.equal(a.x, b.x) and not torch.equal(a.x, c.x)
    with pytest.raises(ValueError, match="n must be an integer >= 1, got 0"):
        subset(ds, 0)
    monkeypatch.setenv("VAELAB_QUICK", "1")
    assert len(quick_subset(ds, 50)) == 50
    monkeypatch.setenv("VAELAB_QUICK", "0")
    monkeypatch.delenv("CI", raising=False)
    assert len(quick_subset(ds, 50)) == len(ds)


def test_available_datasets_reports_every_name(tmp_path):
    status = vaelab.available_datasets(root=tmp_path)
    assert set(status) == set(dataset_names())
    assert status["digits"] == "built-in" and status["binarized_mnist"] == "download"
