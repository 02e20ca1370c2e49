"""vaelab.cluster without Ray: options are validated, `import vaelab` does not import Ray, and --ray without Ray
says how to install it."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import torch

from vaelab.cli import main
from vaelab.cluster import RAY_REQUIREMENT, RayOptions

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize("kwargs, match", [
    (dict(cpus_per_trial=0), r"cpus_per_trial must be in \(0.0, inf\), got 0"),
    (dict(gpus_per_trial=-0.5), r"gpus_per_trial must be in \[0.0, inf\), got -0.5"),
    (dict(gpus_per_trial=1.5), "gpus_per_trial must be a fraction in \\[0, 1\\] or a whole number of GPUs, got 1.5"),
    (dict(max_retries=-1), "max_retries must be an integer >= 0, got -1"),
    (dict(num_cpus=0), "num_cpus must be an integer >= 1, got 0"),
    (dict(address="auto", num_cpus=2), "num_cpus=2 applies to a local runtime only"),
    (dict(address=""), "address='' must be 'local', 'auto' or HOST:PORT"),
])
def test_bad_options_name_the_argument_and_what_is_accepted(kwargs, match):
    with pytest.raises(ValueError, match=match):
        RayOptions(**kwargs)


def test_the_worker_device_follows_the_gpu_share():
    assert RayOptions().worker_device("auto") == torch.device("cpu")
    assert RayOptions(gpus_per_trial=0.25).worker_device("auto") == torch.device("cuda")
    assert RayOptions(gpus_per_trial=2).worker_device("cpu") == torch.device("cuda")
    with pytest.raises(ValueError, match="needs a GPU share per trial"):
        RayOptions().worker_device("cuda")
    assert RayOptions(cpus_per_trial=0.5).threads == 1 and RayOptions(cpus_per_trial=3).threads == 3


def test_import_vaelab_does_not_import_ray():
    code = ("import sys, vaelab, vaelab.cli, vaelab.zoo, vaelab.zoo.tables, vaelab.cluster, vaelab.metrics.shards; "
            "vaelab.cli.build_parser(); print('ray' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=True)
    assert out.stdout.strip() == "False"


def test_ray_without_the_extra_says_how_to_install_it(monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "ray", None)         # `import ray` now raises ImportError, as when absent
    assert main(["table", "gaps", "--seeds", "1", "--rows", "main", "--ray"]) == 1
    err = capsys.readouterr().err
    assert "--ray needs Ray" in err and 'pip install "vaelab[cluster]"' in err and RAY_REQUIREMENT in err
    assert main(["zoo", "build", "gap-bdigits/main", "--quick", "--ray", "auto"]) == 1
    assert "--ray needs Ray" in capsys.readouterr().err


def test_bad_ray_options_on_the_command_line_are_refused_before_any_work(capsys):
    assert main(["table", "gaps", "--seeds", "1", "--ray", "--ray-gpus-per-trial", "1.5"]) == 2
    assert "gpus_per_trial must be a fraction" in capsys.readouterr().err


def test_the_cluster_extra_is_the_tested_range():
    tomllib = pytest.importorskip("tomllib")             # Python >= 3.11
    extras = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["optional-dependencies"]
    assert extras["cluster"] == [RAY_REQUIREMENT]


def test_gap_in_shards_prints_the_numbers_of_one_piece(tmp_path, capsys):
    import json

    out = tmp_path / "run"
    assert main(["train", "--dataset", "digits", "--latent-dim", "3", "--epochs", "2", "--hidden", "32",
                 "--device", "cpu", "--out", str(out)]) == 0
    capsys.readouterr()
    gap = ["gap", str(out), "--points", "30", "--iw-samples", "20", "--steps", "10", "--batch-size", "10",
           "--device", "cpu", "--json"]
    results = []
    for extra in ([], ["--shards", "3"]):
        assert main(gap + extra) == 0
        results.append(json.loads(capsys.readouterr().out))
        results[-1].pop("seconds")
    assert results[0] == results[1]
    assert main(gap + ["--shards", "0"]) == 2
    assert "shards must be an integer >= 1, got 0" in capsys.readouterr().err
