"""Optional peer benchmark: -log p(x) by importance sampling, vaelab.metrics.iw_log_px against pythae 0.1.2's
`VAE.get_nll`, on the same trained network and the same test images. Not part of the test suite; pythae is not
a dependency of vaelab (pip install --no-deps pythae==0.1.2 "pydantic<2" imageio, in your own environment).

    VAELAB_DATA_DIR=... python benchmarks/bench_pythae.py [--n 100] [--k 1000] [--pairs 3] [--json out.json]

Like for like: pythae's VAE is built around vaelab's own encoder and decoder modules (same weights; the wrapper
clamps log-variances as vaelab's encode does and returns sigmoid(logits) as pythae's Bernoulli
"reconstruction"). Differences that stay: pythae's get_nll loops over examples and re-encodes a copy of x for
every one of its samples (K encoder rows per image, where iw_log_px encodes each image once), scores
probabilities with binary_cross_entropy (log clamped at -100) instead of logits, draws from torch's global
generator, and reads one float to the host per image; it is run here under torch.no_grad() (it does not
disable autograd itself). The two estimates use different draws: they agree only within Monte Carlo error.
Ratio: pythae seconds / vaelab seconds over alternating pairs (min/median/max).
"""
from __future__ import annotations

import argparse
import statistics

import torch
from torch import nn

from _common import add_common_args, apply_threads, emit, record, timed
from _flops import spread


def pythae_twin(model):
    """A pythae VAE whose encoder and decoder are `model`'s own modules (no copy of the weights)."""
    try:
        from pythae.models import VAE, VAEConfig
    except ImportError as err:
        raise SystemExit("this optional benchmark needs pythae 0.1.2, which vaelab does not depend on: pip install "
                         f"--no-deps pythae==0.1.2 'pydantic<2' imageio ({err})") from err
    from pythae.models.base.base_utils import ModelOutput
    from pythae.models.nn import BaseDecoder, BaseEncoder

    class Enc(BaseEncoder):
        def __init__(self):
            BaseEncoder.__init__(self)
            self.inner = model.encoder

        def forward(self, x):
            mu, logvar = self.inner(x)
            return ModelOutput(embedding=mu, log_covariance=logvar.clamp(-12.0, 8.0))

    class Dec(BaseDecoder):
        def __init__(self):
            BaseDecoder.__init__(self)
            self.inner = model.decoder

        def forward(self, z):
            return ModelOutput(reconstruction=torch.sigmoid(self.inner(z)))

    cfg = VAEConfig(input_dim=tuple(model.data_shape), latent_dim=model.latent_dim, reconstruction_loss="bce")
    twin = VAE(cfg, encoder=Enc(), decoder=Dec())
    return twin.eval()


def main(argv=None) -> dict:
    import vaelab
    from vaelab.data import load_dataset, subset
    from vaelab.metrics import iw_log_px

    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--n", type=int, default=100)
    p.add_argument("--k", type=int, default=1000)
    p.add_argument("--pairs", type=int, default=3)
    p.add_argument("--train-epochs", type=int, default=2)
    p.add_argument("--train-size", type=int, default=10000)
    add_common_args(p, device="cpu")
    args = p.parse_args(argv)
    threads = apply_threads(args.threads)
    device = vaelab.pick_device(args.device)
    cfg = vaelab.TrainConfig(dataset="binarized_mnist", model="mlp", hidden=[200, 200], latent_dim=16,
                             epochs=args.train_epochs, train_size=args.train_size)
    model = vaelab.load_or_train(cfg, device=device, progress=False)[0].eval()
    x = subset(load_dataset("binarized_mnist", "test"), args.n, seed=0).x.to(device)
    twin = pythae_twin(model)

    def ours():
        return float(-iw_log_px(model, x, args.k, seed=0).mean())

    def theirs():                        # get_nll returns the mean log p(x) (nats, negative), despite its name
        torch.manual_seed(0)
        with torch.no_grad():
            return float(-twin.get_nll(x, n_samples=args.k, batch_size=args.k))

    ours(), theirs()
    secs = {"vaelab": [], "pythae": []}
    for rep in range(args.pairs):
        for name, fn in ((("vaelab", ours), ("pythae", theirs)) if rep % 2 == 0 else
                         (("pythae", theirs), ("vaelab", ours))):
            nll, s = timed(fn, device)
            secs[name].append(s)
            if name == "vaelab":
                nll_ours = nll
            else:
                nll_theirs = nll
    ratios = [t / o for o, t in zip(secs["vaelab"], secs["pythae"])]
    row = {"K": args.k, "n": args.n, "vaelab_s": statistics.median(secs["vaelab"]),
           "pythae_s": statistics.median(secs["pythae"]), "speedup": statistics.median(ratios),
           "speedup_spread": spread(ratios), "nll_vaelab": nll_ours, "nll_pythae": nll_theirs,
           "nll_diff": nll_ours - nll_theirs, "seconds_each_run": secs}
    rec = record("pythae_nll", "-log p(x): vaelab iw_log_px vs pythae 0.1.2 get_nll (binarized MNIST test images)",
                 "pythae 0.1.2 VAE.get_nll", device, vars(args),
                 ["K", "n", "vaelab_s", "pythae_s", "speedup", "nll_vaelab", "nll_pythae", "nll_diff"], [row],
                 [f"MLP VAE 784-200-200-16, load_or_train {args.train_epochs} epochs; {threads} CPU thread(s)",
                  "speedup = pythae seconds / vaelab seconds, median over alternating pairs (min/median/max in "
                  "speedup_spread)", "like-for-like notes: see the script's docstring (pythae re-encodes x for "
                  "every sample; different draws, so the NLLs agree within Monte Carlo error only)"])
    return emit(rec, args.json)


if __name__ == "__main__":
    main()
