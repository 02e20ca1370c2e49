import pytest
import torch

from vaelab.runtime import cache_dir, data_dir, is_quick, pick_device, profile, quick_or_full


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


@pytest.mark.parametrize("chosen, quick, ci, expected", [
    ("lecture", None, "true", "lecture"), ("lecture", None, None, "lecture"), ("quick", "1", None, "quick"),
    ("full", "0", "true", "full"), (" Lecture ", None, None, "lecture"), (None, None, "true", "quick"),
    (None, "0", None, "full"), (None, None, None, "full"),
])
def test_profile_from_environment(monkeypatch, chosen, quick, ci, expected):
    for var, value in (("VAELAB_PROFILE", chosen), ("VAELAB_QUICK", quick), ("CI", ci)):
        if value is None:
            monkeypatch.delenv(var, raising=False)
        else:
            monkeypatch.setenv(var, value)
    assert profile() == expected
    assert is_quick() is (expected != "full")      # the lecture profile keeps the small offline models


@pytest.mark.parametrize("chosen, quick, match", [
    ("lecturer", None, "VAELAB_PROFILE='lecturer' is not a profile; use one of quick, lecture, full"),
    ("lecture", "1", "VAELAB_PROFILE='lecture' and VAELAB_QUICK='1' disagree"),
    ("quick", "0", "VAELAB_PROFILE='quick' and VAELAB_QUICK='0' disagree"),
])
def test_profile_refuses_bad_or_contradicting_settings(monkeypatch, chosen, quick, match):
    monkeypatch.setenv("VAELAB_PROFILE", chosen)
    if quick is None:
        monkeypatch.delenv("VAELAB_QUICK", raising=False)
    else:
        monkeypatch.setenv("VAELAB_QUICK", quick)
    with pytest.raises(ValueError, match=match):
        profile()
