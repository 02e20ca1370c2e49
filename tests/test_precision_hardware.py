"""bf16 is offered by the hardware: which CPUs and GPUs have it natively, the warning where it is emulated, and
`vaelab check` saying which this machine is."""
import warnings

import pytest
import torch

import vaelab.runtime as runtime
from vaelab.metrics import iw_log_px
from vaelab.models import build_model
from vaelab.runtime import bf16_from_capability, bf16_from_cpu_flags, bf16_support, precision


@pytest.mark.parametrize("flags, native", [
    ({"avx2", "avx512f", "avx512_bf16"}, True),     # AMD Zen 4, Intel Cooper Lake
    ({"avx512f", "amx_bf16", "amx_tile"}, True),    # Intel Sapphire Rapids
    ({"avx2", "fma", "avx512f", "avx512_vnni"}, False),   # Skylake/Cascade Lake Xeon: AVX-512 but no bf16
    (set(), False)])
def test_cpu_flags_decide_native_bf16(flags, native):
    got, why = bf16_from_cpu_flags(flags)
    assert got is native
    assert ("avx512_bf16" in why) or ("amx_bf16" in why)


@pytest.mark.parametrize("cap, native", [((7, 5), False), ((8, 0), True), ((8, 6), True), ((9, 0), True)])
def test_cuda_capability_decides_native_bf16(cap, native):
    got, why = bf16_from_capability(*cap)
    assert got is native and f"{cap[0]}.{cap[1]}" in why


def test_this_cpu_is_judged_by_its_own_flags():
    flags = runtime._cpu_flags()
    if flags is None:
        pytest.skip("no /proc/cpuinfo here")
    assert bf16_support("cpu")[0] is bool({"avx512_bf16", "amx_bf16"} & flags)
    assert bf16_support("meta")[0] is False


def test_emulated_bf16_warns_and_native_does_not(monkeypatch):
    model = build_model("mlp", (16,), 2, (8,)).eval()
    x = (torch.rand(4, 16) < 0.5).float()
    monkeypatch.setattr(runtime, "bf16_support", lambda device: (False, "the CPU lacks amx_bf16 and avx512_bf16"))
    with pytest.warns(RuntimeWarning, match="no native bf16 .*lacks amx_bf16.*use precision='fp32'"):
        iw_log_px(model, x, 4, precision="bf16")
    monkeypatch.setattr(runtime, "bf16_support", lambda device: (True, "CPU flags avx512_bf16"))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with precision("bf16", "cpu"):
            pass
