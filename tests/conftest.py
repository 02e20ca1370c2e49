import functools
import http.server
import os
import threading
from pathlib import Path

import pytest
import torch

from vaelab.data.download import sha256_file


@pytest.fixture(autouse=True)
def _isolated_env(tmp_path, monkeypatch):
    """Every test gets its own model cache and no progress bars; CPU only, deterministic kernels."""
    monkeypatch.setenv("VAELAB_CACHE", str(tmp_path / "cache"))
    monkeypatch.setenv("VAELAB_PROGRESS", "0")
    monkeypatch.delenv("VAELAB_PROFILE", raising=False)    # the profile comes from VAELAB_QUICK (set below)
    torch.manual_seed(0)
    yield


def pytest_configure(config):
    os.environ.setdefault("VAELAB_QUICK", "1")
    # Under pytest-xdist (make test runs one worker per core, at most 4), each worker and every kernel or
    # subprocess it starts gets an equal share of the cores: torch's default of one thread per core in every
    # worker would oversubscribe them and slow everything down many times over.
    workers = int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "0") or 0)
    if workers > 1:
        threads = max(1, (os.cpu_count() or 1) // workers)
        os.environ["OMP_NUM_THREADS"] = str(threads)
        torch.set_num_threads(threads)


class LocalServer:
    """A ThreadingHTTPServer over one folder that counts the requests it answers."""

    def __init__(self, folder: Path):
        self.requests = 0
        outer = self

        class Handler(http.server.SimpleHTTPRequestHandler):
            def do_GET(self):
                outer.requests += 1
                super().do_GET()

            def log_message(self, *args):  # keep pytest output clean
                pass

        self.folder = folder
        handler = functools.partial(Handler, directory=str(folder))
        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.thread = threading.Thread(target=self.httpd.serve_forever, args=(0.05,), daemon=True)
        self.thread.start()

    def url(self, name: str) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}/{name}"

    def sources(self, *names: str, digest=None) -> dict:
        """file -> (local url, true sha256) or the digest given."""
        return {n: (self.url(n), digest or sha256_file(self.folder / n)) for n in names}

    def stop(self):
        self.httpd.shutdown()
        self.httpd.server_close()
        self.thread.join(5)


@pytest.fixture
def server(tmp_path):
    folder = tmp_path / "served"
    folder.mkdir()
    srv = LocalServer(folder)
    yield srv
    srv.stop()
