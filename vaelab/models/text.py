"""LSTM encoder and decoder for token-id sentences (Bowman et al. 2016, "Generating sentences from a
continuous space"). x: (B, T) long ids laid out as in vaelab.data.text (words, EOS, then PAD).

The decoder is a language model conditioned on z twice: z sets the LSTM's initial state and is
concatenated to every input embedding (as in He et al. 2019 and Kim et al. 2018). Word dropout replaces
decoder *inputs* (never targets) by UNK with probability word_dropout during training, which weakens the
language model so that it has to lean on z.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from ..checks import check_float, check_int
from ..data.text import BOS, EOS, PAD, UNK


def check_tokens(x: torch.Tensor, vocab_size: int, who: str) -> None:
    if x.dtype not in (torch.int64, torch.int32):
        raise TypeError(f"{who} needs token ids (an integer tensor (B, T)), got dtype {x.dtype}; "
                        "image data goes with the 'mlp', 'conv' or 'pixelcnn' models")


class LSTMEncoder(nn.Module):
    """x (B, T) ids -> (mu, logvar) (B, d) from the LSTM state at each sentence's last token (its EOS)."""

    def __init__(self, vocab_size: int, latent_dim: int, embed_dim: int, hidden: int):
        super().__init__()
        self.vocab_size = vocab_size
        self.embed = nn.Embedding(vocab_size, embed_dim, padding_idx=PAD)
        self.lstm = nn.LSTM(embed_dim, hidden, batch_first=True)
        self.head = nn.Linear(hidden, 2 * latent_dim)

    def forward(self, x):
        check_tokens(x, self.vocab_size, "the LSTM encoder")
        out, _ = self.lstm(self.embed(x))                       # (B, T, H); padding comes after, so
        last = (x != PAD).sum(1).clamp(min=1) - 1               # states before it never see it
        h = out[torch.arange(x.shape[0], device=x.device), last]
        mu, logvar = self.head(h).chunk(2, dim=-1)
        return mu, logvar


class LSTMDecoder(nn.Module):
    """p(x|z) = prod_t Cat(x_t; softmax(W h_t)), h_t = LSTM([embed(x_{t-1}); z], h_{t-1}), h_0 = tanh(A z)."""

    autoregressive = True
    event_dims = 1

    def __init__(self, vocab_size: int, max_len: int, latent_dim: int, embed_dim: int, hidden: int,
                 word_dropout: float = 0.0):
        super().__init__()
        self.vocab_size, self.max_len = vocab_size, max_len
        self.word_dropout = check_float("word_dropout", word_dropout, 0.0, maximum=1.0)
        self.embed = nn.Embedding(vocab_size, embed_dim, padding_idx=PAD)
        self.init = nn.Linear(latent_dim, 2 * hidden)
        self.lstm = nn.LSTM(embed_dim + latent_dim, hidden, batch_first=True)
        self.out = nn.Linear(hidden, vocab_size)
        # floats held per scored token (logits + LSTM state): sizes importance-sampling chunks
        self.activations_per_element = vocab_size + 6 * hidden + embed_dim

    def _state(self, z):
        h0, c0 = torch.tanh(self.init(z)).chunk(2, dim=-1)
        return h0[None].contiguous(), c0[None].contiguous()

    def states(self, z, x):
        """z (N, d), x (N, T) -> the LSTM's outputs (N, T, H) under teacher forcing."""
        check_tokens(x, self.vocab_size, "the LSTM decoder")
        inp = torch.cat([torch.full_like(x[:, :1], BOS), x[:, :-1]], 1)
        if self.training and self.word_dropout > 0:
            drop = (torch.rand(inp.shape, device=inp.device) < self.word_dropout) & (inp != PAD)
            drop[:, 0] = False     # keep BOS: the model must know where the sentence starts
            inp = inp.masked_fill(drop, UNK)
        zz = z[:, None, :].expand(-1, x.shape[1], -1)
        h, _ = self.lstm(torch.cat([self.embed(inp), zz], -1), self._state(z))
        return h

    def logits(self, z, x):
        """z (N, d), x (N, T) -> logits (N, T, V) of p(x_t | x_<t, z) (teacher forcing)."""
        return self.out(self.states(z, x))

    def log_prob(self, z, x):
        """sum over non-PAD positions of log p(x_t | x_<t, z): (N,) nats.

        On the CPU only the non-PAD positions go through the output layer and the softmax (the bulk of the
        work; a third of short Yelp's positions are padding). Elsewhere every position does, because picking
        them out would make the device wait for the host; the two give the same values up to rounding."""
        h = self.states(z, x)
        mask = x != PAD
        if x.device.type != "cpu":
            nll = F.cross_entropy(self.out(h).transpose(1, 2), x, reduction="none")     # (N, T)
            return -(nll * mask).sum(1)
        rows = torch.arange(x.shape[0], device=x.device)[:, None].expand_as(x)[mask]
        nll = F.cross_entropy(self.out(h[mask]), x[mask], reduction="none")
        return -torch.zeros(x.shape[0], dtype=nll.dtype, device=x.device).index_add_(0, rows, nll)

    @torch.no_grad()
    def _generate(self, z, greedy: bool):
        n = z.shape[0]
        state = self._state(z)
        tok = torch.full((n, 1), BOS, dtype=torch.long, device=z.device)
        done = torch.zeros(n, dtype=torch.bool, device=z.device)
        out = []
        for _ in range(self.max_len):
            h, state = self.lstm(torch.cat([self.embed(tok), z[:, None]], -1), state)
            logits = self.out(h[:, 0])
            logits[:, [PAD, BOS]] = -float("inf")
            nxt = logits.argmax(-1) if greedy else torch.multinomial(logits.softmax(-1), 1)[:, 0]
            nxt = nxt.masked_fill(done, PAD)
            out.append(nxt)
            done |= nxt == EOS
            tok = nxt[:, None].clamp(min=BOS)
        x = torch.stack(out, 1)
        x[:, -1] = torch.where(x[:, -1] == PAD, PAD, EOS)    # a sentence that ran to max_len still ends
        return x

    def mean(self, z):
        """Greedy decoding: (N, T) ids."""
        return self._generate(z, greedy=True)

    def sample(self, z):
        """Ancestral sampling: (N, T) ids."""
        return self._generate(z, greedy=False)


def build_text_vae_parts(data_shape, latent_dim: int, vocab_size, embed_dim: int, hidden: int,
                         word_dropout: float):
    if len(data_shape) != 1:
        raise ValueError(f"the 'lstm' model needs text data of shape (T,) (token ids), got data_shape="
                         f"{tuple(data_shape)}; image data goes with 'mlp', 'conv' or 'pixelcnn'")
    if vocab_size is None:
        raise ValueError("the 'lstm' model needs vocab_size (the text dataset's meta['vocab_size'])")
    check_int("vocab_size", vocab_size, 5)
    check_int("max_len", int(data_shape[0]), 2)
    return (LSTMEncoder(vocab_size, latent_dim, embed_dim, hidden),
            LSTMDecoder(vocab_size, int(data_shape[0]), latent_dim, embed_dim, hidden, word_dropout))
