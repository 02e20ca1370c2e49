import pytest
import torch

from vaelab.runtime import cache_dir, data_dir, is_quick, pick_device, quick_or_full


@pytest.mark.parametrize("quick, ci, expected", [
    ("1", None, True), ("0", "true", False), (None, "true", True), (None, None, False), (None, "false", False),
    (None, "0", False), ("yes", None, True),
])
def test_quick_mode_from_environment(monkeypatch, quick, ci, expected):
    for var, value in (("VAELAB_QUICK", quick), ("CI", ci)):
        if value is None:
            monkeypatch.delenv(var, raising=False)
        else:
            monkeypatch.setenv(var, value)
    assert is_quick() is expected
    assert quick_or_full("q", "f") == ("q" if expected else "f")


def test_device_choice_and_clear_errors():
    assert pick_device("cpu") == torch.device("cpu")
    assert pick_device(None).type in {"cpu", "cuda", "mps"}
    with pytest.raises(ValueError, match="device='gpu0' is not a device"):
        pick_device("gpu0")
    if not torch.cuda.is_available():
        with pytest.raises(ValueError, match="CUDA is not available"):
            pick_device("cuda")


def test_directories_follow_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("VAELAB_DATA_DIR", str(tmp_path / "d"))
    monkeypatch.setenv("VAELAB_CACHE", str(tmp_path / "c"))
    assert data_dir() == tmp_path / "d" and cache_dir() == tmp_path / "c"
    assert data_dir(tmp_path / "x") == tmp_path / "x"
