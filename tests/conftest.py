import os

import pytest
import torch


@pytest.fixture(autouse=True)
def _isolated_env(tmp_path, monkeypatch):
    """Every test gets its own model cache and no progress bars; CPU only, deterministic kernels."""
    monkeypatch.setenv("VAELAB_CACHE", str(tmp_path / "cache"))
    monkeypatch.setenv("VAELAB_PROGRESS", "0")
    torch.manual_seed(0)
    yield


def pytest_configure(config):
    os.environ.setdefault("VAELAB_QUICK", "1")
