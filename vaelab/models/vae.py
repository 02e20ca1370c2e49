"""The VAE container and build_model, the one place that turns a model name into networks."""
from __future__ import annotations

import torch
from torch import nn

from ..checks import check_choice, check_int
from .distributions import Bernoulli, ContinuousBernoulli, DiagGaussian, Gaussian
from .nets import ConvDecoder, ConvEncoder, MLPDecoder, MLPEncoder
from .autoregressive import Autoregressive

MODELS = ("mlp", "conv", "pixelcnn", "lstm")
TEXT_MODELS = ("lstm",)   # models for token-id data (meta kind "text"); every other model takes images/points
LIKELIHOODS = ("bernoulli", "cbernoulli", "gaussian")
# Which likelihood is a normalised density for which kind of data (Dataset.meta["kind"]): binary pixels take the
# Bernoulli, grey pixels in [0, 1] the continuous Bernoulli, real-valued points the Gaussian.
LIKELIHOOD_OF_KIND = {"binary": "bernoulli", "gray": "cbernoulli", "real": "gaussian"}


PRIORS = ("gaussian", "ebm")


class VAE(nn.Module):
    """encode(x) -> q(z|x); decode(z) -> p(x|z) with log_prob(x) summed per example; prior N(0, I), or a latent
    EBM prior p_a(z) ∝ exp(f_a(z)) N(z; 0, I) in `self.prior` (an EBMPrior; None for N(0, I))."""

    def __init__(self, encoder: nn.Module, decoder: nn.Module, latent_dim: int, data_shape: tuple,
                 likelihood: str = "bernoulli", config: dict | None = None):
        super().__init__()
        check_choice("likelihood", likelihood, LIKELIHOODS)
        self.encoder, self.decoder = encoder, decoder
        self.latent_dim, self.data_shape, self.likelihood = latent_dim, tuple(data_shape), likelihood
        self.config = dict(config or {})
        self.prior = None                  # build_model sets an EBMPrior here for prior='ebm'
        if likelihood == "gaussian":
            # One learned log-variance per data dimension, shared by all z.
            self.obs_logvar = nn.Parameter(torch.zeros(self.data_shape))

    def encode(self, x: torch.Tensor) -> DiagGaussian:
        if tuple(x.shape[1:]) != self.data_shape:
            raise ValueError(f"x must have shape (B, {', '.join(map(str, self.data_shape))}), got {tuple(x.shape)}")
        mu, logvar = self.encoder(x)
        return DiagGaussian(mu, logvar.clamp(-12.0, 8.0))

    def decode(self, z: torch.Tensor):
        if getattr(self.decoder, "autoregressive", False):
            # p(x|z) needs x to run (teacher forcing): a lazy likelihood, scored in log_prob(x).
            return Autoregressive(self.decoder, z, self.decoder.event_dims)
        out = self.decoder(z)
        if self.likelihood == "bernoulli":
            return Bernoulli(out, event_dims=len(self.data_shape))
        if self.likelihood == "cbernoulli":
            return ContinuousBernoulli(out, event_dims=len(self.data_shape))
        return Gaussian(out, self.obs_logvar.clamp(-8.0, 4.0), event_dims=len(self.data_shape))

    @property
    def device(self) -> torch.device:
        return next(self.parameters()).device

    @torch.no_grad()
    def sample(self, n: int, mean: bool = True) -> torch.Tensor:
        """n draws z ~ p(z), decoded: the mean of p(x|z) (mean=True) or a sample of it. (n, *data_shape)."""
        check_int("n", n, 1)
        if self.prior is not None:
            raise ValueError("this model has a latent EBM prior: sample z with vaelab.inference.prior_langevin("
                             "model.prior, n) and decode it (model.decode(z).mean)")
        p = self.decode(torch.randn(n, self.latent_dim, device=self.device))
        return p.mean if mean else p.sample()

    @torch.no_grad()
    def reconstruct(self, x: torch.Tensor) -> torch.Tensor:
        """The mean of p(x | z = E_q[z]): (B, *data_shape)."""
        return self.decode(self.encode(x).mu).mean


def build_model(name: str, data_shape, latent_dim: int, hidden=(200, 200), likelihood: str = "bernoulli",
                channels: int = 32, *, layers: int = 3, vocab_size: int | None = None, word_dropout: float = 0.0,
                embed_dim: int = 64, conditioning: str = "spatial", encoder_hidden=None, prior: str = "gaussian",
                prior_hidden=(200, 200), prior_steps: int = 60, prior_step_size: float = 0.4) -> VAE:
    """name: 'mlp', 'conv', 'pixelcnn' or 'lstm'. hidden: MLP widths (the conv model uses hidden[0] for its
    dense layer). Autoregressive decoders (vaelab.models.pixelcnn, vaelab.models.text):
    'pixelcnn': binary images (1, H, W); MLP encoder with `hidden`, masked-conv decoder with `channels`
    and `layers` (the decoder-strength knob); conditioning 'spatial' or 'global' (how z enters). 'lstm': token ids (T,); needs vocab_size; LSTM encoder and
    decoder of width hidden[0] with embed_dim-wide embeddings and word_dropout in [0, 1].
    encoder_hidden ('mlp' only): the encoder's widths when they should differ from the decoder's `hidden`
    (e.g. to vary the amortization network alone, as Cremer et al. 2018 do).
    prior: 'gaussian' (N(0, I)) or 'ebm' (Pang et al. 2020: an MLP f_a of widths prior_hidden, sampled by
    prior_steps short-run Langevin steps of size prior_step_size; see vaelab.models.ebm_prior)."""
    check_choice("model", name, MODELS)
    check_choice("likelihood", likelihood, LIKELIHOODS)
    check_int("latent_dim", latent_dim, 1)
    check_choice("prior", prior, PRIORS)
    hidden = tuple(int(h) for h in hidden)
    for h in hidden:
        check_int("hidden width", h, 1)
    data_shape = tuple(int(s) for s in data_shape)
    config = dict(name=name, data_shape=list(data_shape), latent_dim=latent_dim, hidden=list(hidden),
                  likelihood=likelihood, channels=channels)
    if encoder_hidden is not None and name != "mlp":
        raise ValueError(f"encoder_hidden={encoder_hidden!r} is for model='mlp' only, got model={name!r}")
    if name == "pixelcnn":
        from .pixelcnn import PixelCNNDecoder

        if likelihood != "bernoulli":
            raise ValueError(f"the 'pixelcnn' model is for binary images (likelihood='bernoulli'), got {likelihood!r}")
        dec = PixelCNNDecoder(data_shape, latent_dim, channels, layers, conditioning=conditioning)
        enc = MLPEncoder(data_shape, latent_dim, hidden)
        config.update(layers=layers, conditioning=conditioning)
    elif name == "lstm":
        from .text import build_text_vae_parts

        width = hidden[0] if hidden else 64
        enc, dec = build_text_vae_parts(data_shape, latent_dim, vocab_size, embed_dim, width, word_dropout)
        config.update(vocab_size=vocab_size, word_dropout=float(word_dropout), embed_dim=embed_dim)
    elif name == "mlp":
        enc_hidden = hidden
        if encoder_hidden is not None:
            enc_hidden = tuple(check_int("encoder_hidden width", int(h), 1) for h in encoder_hidden)
            config.update(encoder_hidden=list(enc_hidden))
        enc, dec = MLPEncoder(data_shape, latent_dim, enc_hidden), MLPDecoder(data_shape, latent_dim, hidden)
    else:
        width = hidden[0] if hidden else 256
        enc = ConvEncoder(data_shape, latent_dim, channels, width)
        dec = ConvDecoder(data_shape, latent_dim, channels, width)
    if prior == "gaussian":
        return VAE(enc, dec, latent_dim, data_shape, likelihood, config)
    from .ebm_prior import EBMPrior

    ebm = EBMPrior(latent_dim, tuple(prior_hidden))
    ebm.steps, ebm.step_size = check_int("prior_steps", prior_steps, 1), float(prior_step_size)   # its sampler
    config.update(prior="ebm", prior_hidden=list(prior_hidden), prior_steps=prior_steps,
                  prior_step_size=float(prior_step_size))
    model = VAE(enc, dec, latent_dim, data_shape, likelihood, config)
    model.prior = ebm
    return model


def check_model_data(model: str, kind: str | None) -> None:
    """Text models need text data (meta kind 'text') and every other model needs non-text data."""
    if (model in TEXT_MODELS) != (kind == "text"):
        wants = "a text dataset (e.g. 'synthetic_text')" if model in TEXT_MODELS else \
            f"image or point data; text data goes with the {', '.join(map(repr, TEXT_MODELS))} model"
        raise ValueError(f"model={model!r} cannot train on data of kind {kind!r}: it needs {wants}")


def likelihood_for(kind: str | None, binarize: str | None = None) -> str:
    """The likelihood that is a normalised density for data of this kind: 'bernoulli' for binary images (and
    for grey images binarized dynamically: the loop trains on fresh binary draws), 'cbernoulli' for grey
    images, 'gaussian' for real-valued points."""
    if binarize == "dynamic":
        return "bernoulli"
    if kind not in LIKELIHOOD_OF_KIND:
        raise ValueError(f"no pixel likelihood for data of kind {kind!r}; kinds with one: {sorted(LIKELIHOOD_OF_KIND)}")
    return LIKELIHOOD_OF_KIND[kind]


def check_likelihood_data(likelihood: str, x: torch.Tensor, *, dynamic: bool = False) -> None:
    """Refuse data that the likelihood is not a normalised density for: its "nats" would not be a log-likelihood.

    'bernoulli' needs x in {0, 1} (dynamic=True: the caller binarizes each draw, so x in [0, 1] is enough);
    'cbernoulli' needs x in [0, 1]. Token ids (integer x) go to autoregressive text decoders and are not
    checked here. One pass over x, one host read."""
    if likelihood == "gaussian" or not torch.is_floating_point(x) or x.numel() == 0:
        return
    in_unit = bool(((x >= 0) & (x <= 1)).all())
    if likelihood == "bernoulli" and not dynamic:
        if in_unit and bool(((x == 0) | (x == 1)).all()):
            return
        raise ValueError(
            "likelihood='bernoulli' needs binary data (every value 0 or 1), but x has values in between: its "
            "log-probability would be a cross-entropy, not a log-likelihood, and its 'nats' could not be compared "
            "with anything. Binarize the data (load_dataset(..., binarize='static' or 'dynamic'), CLI --binarize), "
            "or use likelihood='cbernoulli' (continuous Bernoulli, normalised on [0, 1]) for grey images")
    if not in_unit:
        raise ValueError(f"likelihood={likelihood!r} needs data in [0, 1], got values from {float(x.min()):g} to "
                         f"{float(x.max()):g}; use likelihood='gaussian' for real-valued data")


def model_from_config(config: dict) -> VAE:
    """Rebuild a VAE from VAE.config (what checkpoints store)."""
    cfg = dict(config)
    return build_model(cfg.pop("name"), cfg.pop("data_shape"), cfg.pop("latent_dim"), **cfg)
