"""Fuzz: random configurations through TrainConfig/train() and through `python -m vaelab train`.

Each configuration either trains for one epoch or is refused with a ValueError/TypeError (the CLI: exit code 2
and a one-line message) that names a field it gets wrong. Nothing else is allowed: no other exception, no
traceback, no invalid configuration that trains, no valid one that is refused. Which configurations are
invalid is decided by the oracle below, written from the issue's rules (issue 17, item 7), not from the code.
A seeded random.Random drives the generator, so every run draws the same configurations.
"""
import json
import math
import random
import re
import warnings
from collections import defaultdict

import pytest

from vaelab.cli import main as cli_main
from vaelab.train import TrainConfig, train

N_API, N_CLI, SEED = 260, 100, 17

# ---------------------------------------------------------------------------------------------------------------
# The oracle: one table of rules.
# ---------------------------------------------------------------------------------------------------------------
OBJECTIVES = ("elbo", "beta", "iwae", "infovae", "freebits", "aggressive", "svi", "vae+svi", "vae+svi+kl", "savae",
              "sri", "lm")   # lm: the decoder alone at z = 0; no parameters, trains no encoder
SVI_OBJECTIVES = ("svi", "vae+svi", "vae+svi+kl", "savae")
MODELS = ("mlp", "conv", "pixelcnn", "lstm")
DATASETS = ("digits", "pinwheel", "ring", "moons", "synthetic_text")   # the offline ones (the fuzz never downloads)
ALL_DATASETS = DATASETS + ("binarized_mnist", "mnist", "fashion_mnist", "short_yelp", "ptb", "yahoo")
IMAGES, TEXT = ("digits",), ("synthetic_text", "short_yelp", "ptb", "yahoo")


def _int(lo):
    return lambda v: isinstance(v, int) and not isinstance(v, bool) and v >= lo


def _num(lo=-math.inf, hi=math.inf, lo_open=False, hi_open=False):
    def ok(v):
        if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v):
            return False
        return (v > lo if lo_open else v >= lo) and (v < hi if hi_open else v <= hi)
    return ok


def _widths(v):
    return isinstance(v, (list, tuple)) and len(v) > 0 and all(_int(1)(w) for w in v)


def _choice(*choices):
    return lambda v: any(v is c or (isinstance(v, str) and v == c) for c in choices)


# field: (accepted values, default, who uses it: None = every config, else (config key, the values that use it))
RULES = {
    "dataset": (_choice(*ALL_DATASETS), "digits", None),
    "model": (_choice(*MODELS), "mlp", None),
    "objective": (_choice(*OBJECTIVES), "elbo", None),
    "latent_dim": (_int(1), 16, None),
    "hidden": (_widths, [200, 200], None),
    "epochs": (_int(1), 10, None),
    "batch_size": (_int(1), 128, None),
    "lr": (_num(0, lo_open=True), 1e-3, None),
    "seed": (_int(0), 0, None),
    "kl_warmup": (_num(0), 0.0, None),
    "binarize": (_choice(None, "static", "dynamic"), None, None),
    "train_size": (lambda v: v is None or _int(1)(v), None, None),
    "kl_cycles": (_int(0), 0, None),
    "diagnostics": (lambda v: isinstance(v, bool), False, None),
    "beta": (_num(0), 1.0, ("objective", ("beta",))),
    "iw_samples": (_int(1), 5, ("objective", ("iwae",))),
    "alpha": (_num(0, 1), 0.0, ("objective", ("infovae",))),
    "lam": (_num(0), 1.0, ("objective", ("infovae",))),
    "kernel": (_choice("imq", "rbf"), "imq", ("objective", ("infovae",))),
    "free_bits": (_num(0), 0.0, ("objective", ("freebits",))),
    "svi_steps": (_int(0), 10, ("objective", SVI_OBJECTIVES)),   # K = 0: the VAE itself
    "svi_lr": (_num(0, lo_open=True), 1.0, ("objective", SVI_OBJECTIVES)),
    "svi_momentum": (_num(0, 1, hi_open=True), 0.5, ("objective", SVI_OBJECTIVES)),
    "svi_clip": (lambda v: v is None or _num(0, lo_open=True)(v), 5.0, ("objective", SVI_OBJECTIVES)),
    "hvp": (_choice("exact", "fd"), "exact", ("objective", SVI_OBJECTIVES)),
    "word_dropout": (_num(0, 1), 0.0, ("model", ("lstm",))),   # 1: an inputless decoder
    "layers": (_int(1), 3, ("model", ("pixelcnn",))),
    "conditioning": (_choice("spatial", "global"), "spatial", ("model", ("pixelcnn",))),
    "encoder_hidden": (lambda v: v is None or _widths(v), None, ("model", ("mlp",))),
    "langevin_steps": (_int(1), 20, ("objective", ("sri",))),
    "langevin_step_start": (_num(0, lo_open=True), 0.8, ("objective", ("sri",))),
    "langevin_step_end": (_num(0, lo_open=True), 0.05, ("objective", ("sri",))),
    "langevin_temperature": (_num(0), 0.2, ("objective", ("sri",))),
    "prior": (_choice("gaussian", "ebm"), "gaussian", None),
    "prior_hidden": (_widths, [200, 200], ("prior", ("ebm",))),
    "prior_steps": (_int(1), 60, ("prior", ("ebm",))),
    "prior_step_size": (_num(0, lo_open=True), 0.4, ("prior", ("ebm",))),
}
# joint rules: (the fields they read, is the combination wrong?, the fields an error may name)
JOINT = [
    (("objective", "alpha", "lam"), lambda c: c["objective"] == "infovae" and c["alpha"] + c["lam"] - 1 < -1e-12,
     ("alpha", "lam")),
    (("model", "dataset"), lambda c: (c["model"] == "lstm") != (c["dataset"] in TEXT), ("model", "dataset")),
    (("model", "dataset"), lambda c: c["model"] in ("conv", "pixelcnn") and c["dataset"] not in IMAGES,
     ("model", "dataset")),
    (("binarize", "dataset"), lambda c: c["binarize"] is not None and c["dataset"] not in IMAGES,
     ("binarize", "dataset")),
    (("model", "binarize", "dataset"),   # PixelCNN's Bernoulli decoder needs binary images
     lambda c: c["model"] == "pixelcnn" and c["dataset"] in IMAGES and c["binarize"] is None,
     ("model", "binarize")),
    (("kl_warmup", "kl_cycles"), lambda c: c["kl_warmup"] > 0 and c["kl_cycles"] > 0,   # two KL schedules
     ("kl_warmup", "kl_cycles")),
    (("objective", "batch_size", "train_size"),   # an unbiased MMD² compares >= 2 samples within every batch
     lambda c: c["objective"] == "infovae" and (c["batch_size"] < 2 or (
         isinstance(c["train_size"], int) and (c["train_size"] % c["batch_size"] or c["batch_size"]) < 2)),
     ("batch_size",)),
    (("prior", "objective"), lambda c: c["prior"] == "ebm" and c["objective"] != "sri", ("prior", "objective")),
    (("objective", "kl_warmup", "kl_cycles"),            # sri and lm have no KL term to schedule
     lambda c: c["objective"] in ("sri", "lm") and (c["kl_warmup"] > 0 or c["kl_cycles"] > 0), ("kl_warmup", "kl_cycles")),
]


def _non_default(value, default) -> bool:
    if value is None or default is None:
        return value is not default
    if isinstance(value, float) and math.isnan(value):
        return True
    return value != default or isinstance(value, bool) != isinstance(default, bool)


def expected_invalid(cfg: dict) -> list:
    """The fields of cfg that break a rule (an error must name one of them); [] for a valid config."""
    bad = [k for k, (ok, _, _) in RULES.items() if not ok(cfg[k])]
    for k, (ok, default, users) in RULES.items():
        if users and k not in bad and RULES[users[0]][0](cfg[users[0]]) and cfg[users[0]] not in users[1] \
                and _non_default(cfg[k], default):
            bad.append(k)
    for reads, wrong, names in JOINT:
        if all(RULES[k][0](cfg[k]) for k in reads) and wrong(cfg):
            bad.extend(n for n in names if n not in bad)
    return bad


# ---------------------------------------------------------------------------------------------------------------
# The generator: a valid, cheap configuration, then 0, 1 or several faults.
# ---------------------------------------------------------------------------------------------------------------
INVALID = {   # out of range, non-finite, wrong type, unknown choice
    "int": lambda lo: [lo - 1, lo - 7, 2.5, "3", True, None, math.nan],
    "num": [-1.0, -1e-9, math.nan, math.inf, -math.inf, "0.1", True, None],
    "unit": [-0.1, 1.0, 1.5, math.nan, math.inf, "0.5", None],
    "choice": ["foo", "", "MLP", 3, None],
    "widths": [[0], [-4], [8, 0], [2.5], "8", 8, [True]],
}
KIND = {"latent_dim": ("int", 1), "epochs": ("int", 1), "batch_size": ("int", 1), "seed": ("int", 0),
        "iw_samples": ("int", 1), "kl_cycles": ("int", 0), "layers": ("int", 1), "svi_steps": ("int", 0),
        "train_size": ("int", 1), "lr": ("num",), "kl_warmup": ("num",), "beta": ("num",), "free_bits": ("num",),
        "svi_lr": ("num",), "svi_clip": ("num",), "lam": ("num",), "alpha": ("unit",), "word_dropout": ("unit",),
        "svi_momentum": ("unit",), "dataset": ("choice",), "model": ("choice",), "objective": ("choice",),
        "kernel": ("choice",), "hvp": ("choice",), "conditioning": ("choice",), "binarize": ("choice",),
        "hidden": ("widths",), "encoder_hidden": ("widths",), "langevin_steps": ("int", 1),
        "langevin_step_start": ("num",), "langevin_step_end": ("num",), "langevin_temperature": ("num",),
        "prior": ("choice",), "prior_hidden": ("widths",), "prior_steps": ("int", 1), "prior_step_size": ("num",)}
UNUSED_VALUES = {"beta": [4.0, 0.0], "iw_samples": [1, 50], "alpha": [1.0, 0.5], "lam": [1000.0, 2.0],
                 "kernel": ["rbf"], "free_bits": [0.5], "svi_steps": [-5, 3], "svi_lr": [0.1], "svi_momentum": [0.9],
                 "svi_clip": [None, 1.0], "hvp": ["fd"], "word_dropout": [0.3], "layers": [0, 2],
                 "conditioning": ["global"], "encoder_hidden": [[8]], "langevin_steps": [5, 0],
                 "langevin_step_start": [0.3], "langevin_step_end": [0.3], "langevin_temperature": [1.0],
                 "prior_hidden": [[4]], "prior_steps": [5, 0], "prior_step_size": [0.1]}


def valid_config(rng: random.Random) -> dict:
    data = rng.choice(DATASETS)
    model = "lstm" if data in TEXT else rng.choice(("mlp", "conv", "pixelcnn") if data in IMAGES else ("mlp",))
    objective = rng.choice(OBJECTIVES)
    size = rng.choice([2, 5, 8, 12, 16, 24, 32])
    cfg = {k: (list(d) if isinstance(d, list) else d) for k, (_, d, _) in RULES.items()}
    cfg.update(dataset=data, model=model, objective=objective, epochs=1, train_size=size,
               batch_size=rng.choice([1, 2, 4, 8, 16, 32, 64]), latent_dim=rng.randint(1, 4),
               hidden=[rng.randint(2, 16) for _ in range(rng.randint(1, 2))], lr=10 ** rng.uniform(-4, -2),
               seed=rng.randint(0, 1000), diagnostics=rng.random() < 0.1,
               binarize=rng.choice([None, "static", "dynamic"]) if data in IMAGES else None)
    if model == "pixelcnn" and cfg["binarize"] is None:
        cfg["binarize"] = rng.choice(["static", "dynamic"])
    if rng.random() < 0.3:
        cfg["kl_cycles" if rng.random() < 0.5 else "kl_warmup"] = rng.choice([1, 2])
    if objective == "beta":
        cfg["beta"] = rng.choice([0, 0.5, 4.0])
    if objective == "iwae":
        cfg["iw_samples"] = rng.randint(1, 4)
    if objective == "infovae":
        cfg["alpha"] = rng.choice([0.0, 0.3, 1.0])
        cfg["lam"] = 1 - cfg["alpha"] + rng.choice([0.0, 0.5, 100.0])
        cfg["kernel"] = rng.choice(["imq", "rbf"])
    if objective == "freebits":
        cfg["free_bits"] = rng.choice([0.0, 0.1, 1.0])
    if objective in SVI_OBJECTIVES:
        cfg.update(svi_steps=rng.randint(1, 3), svi_lr=rng.choice([0.1, 1.0]), svi_momentum=rng.choice([0.0, 0.5]),
                   svi_clip=rng.choice([None, 1.0, 5.0]), hvp=rng.choice(["exact", "fd"]))
    if objective == "lm":                       # no KL term: a KL schedule is refused, so draw none
        cfg.update(kl_warmup=0.0, kl_cycles=0)
    if objective == "sri":
        cfg.update(langevin_steps=rng.randint(1, 3), langevin_step_start=rng.choice([0.8, 0.3]),
                   langevin_step_end=rng.choice([0.05, 0.3]), langevin_temperature=rng.choice([0.0, 0.2, 1.0]),
                   kl_warmup=0.0, kl_cycles=0)
        if rng.random() < 0.5:
            cfg.update(prior="ebm", prior_hidden=[rng.randint(2, 8)], prior_steps=rng.randint(1, 3),
                       prior_step_size=rng.choice([0.1, 0.4]))
    if model == "lstm":
        cfg["word_dropout"] = rng.choice([0.0, 0.25, 0.5])
    if model == "pixelcnn":
        cfg.update(layers=rng.randint(1, 3), conditioning=rng.choice(["spatial", "global"]))
    if model == "mlp" and rng.random() < 0.2:
        cfg["encoder_hidden"] = [rng.randint(2, 16)]
    return cfg


def add_fault(cfg: dict, rng: random.Random) -> None:
    how = rng.random()
    if how < 0.55:                                    # a value out of range, of the wrong type or unknown
        field = rng.choice(sorted(KIND))
        kind = KIND[field]
        pool = INVALID["int"](kind[1]) if kind[0] == "int" else INVALID[kind[0]]
        if field in ("train_size", "svi_clip", "encoder_hidden", "binarize"):
            pool = [v for v in pool if v is not None]       # None is valid there
        cfg[field] = rng.choice(pool)
    elif how < 0.85:                                  # an option the objective or model does not use
        unused = [k for k, (_, _, users) in RULES.items() if users and cfg[users[0]] not in users[1]]
        if unused:
            field = rng.choice(unused)
            cfg[field] = rng.choice(UNUSED_VALUES[field])
    elif how < 0.93:                                  # a model/data mismatch
        field = rng.choice(["model", "dataset", "binarize"])
        cfg[field] = rng.choice({"model": MODELS, "dataset": DATASETS, "binarize": ("static", "dynamic", None)}[field])
    else:                                             # InfoVAE with a negative MMD weight
        cfg.update(objective="infovae", alpha=rng.choice([0.0, 0.5]), lam=rng.choice([0.0, 0.2]))


def random_configs(n: int, seed: int) -> list:
    rng = random.Random(seed)
    out = []
    for _ in range(n):
        cfg = valid_config(rng)
        for _ in range(rng.choice([0, 0, 0, 1, 1, 1, 2, 3])):
            add_fault(cfg, rng)
        out.append(cfg)
    return out


# ---------------------------------------------------------------------------------------------------------------
# Checking the outcomes.
# ---------------------------------------------------------------------------------------------------------------
ALIASES = {"lam": ("lam", "lambda"), "hidden": ("hidden",)}


def flag(field: str) -> str:
    return "--" + {"lam": "lambda"}.get(field, field).replace("_", "-")


def names_one_of(message: str, fields) -> bool:
    for f in fields:
        for name in (*ALIASES.get(f, (f,)), flag(f)):
            if re.search(rf"(?<![\w-]){re.escape(name)}(?![\w-])", message):
                return True
    return False


def _judge(failures, cfg, expected, raised, trained_epochs=None, epochs=1):
    """Record what is wrong with one outcome (nothing when it is right)."""
    if raised is None:
        if expected:
            failures["an invalid config trained: " + ",".join(sorted(expected))].append(cfg)
        elif trained_epochs != epochs:
            failures[f"trained {trained_epochs} epochs, not {epochs}"].append(cfg)
        return
    kind, message = raised
    if kind not in ("ValueError", "TypeError", "exit 2"):
        failures[f"{kind} (not ValueError/TypeError): {message[:90]}"].append(cfg)
    elif not expected:
        failures[f"a valid config was refused ({kind}): {message[:90]}"].append(cfg)
    elif not names_one_of(message, expected):
        failures[f"the error names none of {sorted(expected)} ({kind}): {message[:90]}"].append(cfg)


def _report(failures, total) -> str:
    lines = [f"{sum(map(len, failures.values()))} of {total} configurations went wrong, in {len(failures)} classes:"]
    for what, cfgs in sorted(failures.items(), key=lambda kv: -len(kv[1])):
        lines.append(f"  {len(cfgs):3d} x {what}\n        e.g. {cfgs[0]}")
    return "\n".join(lines)


def test_random_train_configs_train_or_name_what_is_wrong():
    configs = random_configs(N_API, SEED)
    failures = defaultdict(list)
    for cfg in configs:
        expected = expected_invalid(cfg)
        raised, epochs = None, None
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")              # posterior-collapse warnings of one-epoch models
                _, history = train(TrainConfig(**cfg), device="cpu", progress=False)
            epochs = len(history)
        except Exception as err:                              # noqa: BLE001 - the point is to classify every one
            raised = (type(err).__name__, str(err))
        _judge(failures, cfg, expected, raised, epochs)
    n_invalid = sum(bool(expected_invalid(c)) for c in configs)
    assert 0.3 * N_API < n_invalid < 0.7 * N_API, f"the generator drew {n_invalid} invalid of {N_API}"
    assert not failures, _report(failures, N_API)


# ---------------------------------------------------------------------------------------------------------------
# The CLI: the same configurations as argv; argparse converts strings, so the oracle sees converted values.
# ---------------------------------------------------------------------------------------------------------------
INT_FLAGS = {"latent_dim", "epochs", "batch_size", "seed", "iw_samples", "kl_cycles", "layers", "svi_steps",
             "train_size", "langevin_steps", "prior_steps"}
FLOAT_FLAGS = {"lr", "beta", "kl_warmup", "alpha", "lam", "free_bits", "word_dropout", "svi_lr", "svi_momentum",
               "svi_clip", "langevin_step_start", "langevin_step_end", "langevin_temperature", "prior_step_size"}
CHOICE_FLAGS = {"dataset": ALL_DATASETS, "model": MODELS, "objective": OBJECTIVES, "kernel": ("imq", "rbf"),
                "conditioning": ("spatial", "global"), "hvp": ("exact", "fd"), "binarize": ("static", "dynamic"),
                "prior": ("gaussian", "ebm")}


def _convert(field, text):
    """What argparse makes of `text` for this flag, or raise ValueError (argparse then exits with 2)."""
    if field in INT_FLAGS:
        return int(text)
    if field in FLOAT_FLAGS:
        return float(text)
    if text not in CHOICE_FLAGS[field]:
        raise ValueError(text)
    return text


def as_argv(cfg: dict, out) -> tuple:
    """(argv, the config the CLI would build, the fields argparse refuses)."""
    argv = ["train", "--out", str(out), "--device", "cpu", "--no-progress"]
    seen = {k: d for k, (_, d, _) in RULES.items()}
    seen["encoder_hidden"] = None                       # no flag: the CLI cannot set it
    refused = []
    for field, value in cfg.items():
        if field == "encoder_hidden" or value is None and field != "svi_clip" or field == "diagnostics":
            continue
        if field in ("hidden", "prior_hidden"):
            widths = value if isinstance(value, (list, tuple)) else [value]
            argv += [flag(field), *map(str, widths)]
            try:
                seen[field] = [int(str(w)) for w in widths]
            except ValueError:
                refused.append(field)
            continue
        text = "0" if field == "svi_clip" and value is None else str(value)   # --svi-clip 0: no clipping
        argv.append(f"{flag(field)}={text}")
        try:
            seen[field] = _convert(field, text)
        except ValueError:
            refused.append(field)
    if seen["svi_clip"] == 0:
        seen["svi_clip"] = None
    if cfg["diagnostics"] is True:
        argv.append("--diagnostics")
    seen["diagnostics"] = cfg["diagnostics"] is True
    return argv, seen, refused


def test_random_cli_train_commands_train_or_exit_2_naming_the_flag(tmp_path, capsys):
    configs = random_configs(N_CLI, SEED + 1)
    failures = defaultdict(list)
    for i, cfg in enumerate(configs):
        argv, seen, refused = as_argv(cfg, tmp_path / f"run{i}")
        expected = refused or expected_invalid(seen)
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                code = cli_main(argv)
        except SystemExit as stop:                    # argparse
            code = stop.code
        except Exception as err:                      # noqa: BLE001
            code = f"{type(err).__name__}: {str(err)[:80]}"
        err_text = capsys.readouterr().err
        if "Traceback" in err_text:
            failures["a traceback on stderr"].append(argv)
        elif code == 0:
            epochs = len(json.loads((tmp_path / f"run{i}" / "history.json").read_text())["epochs"])
            _judge(failures, argv, expected, None, epochs, seen["epochs"])   # '--epochs=3' is valid there
        elif code == 2:
            _judge(failures, argv, expected, ("exit 2", err_text.strip().splitlines()[-1] if err_text else ""))
        else:
            _judge(failures, argv, expected, (f"exit {code}", err_text[-200:]))
    assert not failures, _report(failures, N_CLI)


@pytest.mark.parametrize("cfg, fields", [
    (dict(objective="elbo", svi_steps=-5), ["svi_steps"]),
    (dict(model="mlp", layers=0), ["layers"]),
    (dict(objective="infovae", alpha=0.5, lam=0.2), ["alpha", "lam"]),
    (dict(objective="infovae", alpha=5.0, lam=1.0), ["alpha"]),
    (dict(objective="infovae", beta=4.0), ["beta"]),
    (dict(objective="elbo", free_bits=0.5), ["free_bits"]),
    (dict(dataset="synthetic_text", model="mlp"), ["model", "dataset"]),
    (dict(lr=math.nan), ["lr"]),
    (dict(), []),
])
def test_the_oracle_knows_the_issue_examples(cfg, fields):
    """The oracle itself, on the issue's own examples (a wrong oracle would make the fuzz test meaningless)."""
    full = {k: (list(d) if isinstance(d, list) else d) for k, (_, d, _) in RULES.items()}
    assert sorted(expected_invalid({**full, **cfg})) == sorted(fields)
