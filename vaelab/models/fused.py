"""log p(x|z) for many z at once without autograd: a fused path for MLP decoders with a Bernoulli likelihood.

The estimators (iw_log_px, the gap decomposition) score K codes per example and need no gradient. Written as
`model.decode(z).log_prob(x)` that costs, besides the decoder's matmuls, a broadcast binary cross-entropy with
four passes over the (K, B, pixels) logits and as many temporaries of that size. Here, per pixel p,

    log p(x|z) = sum_p x_p l_p - softplus(l_p),    l = h W^T + b  (h: the last hidden layer),

and the first sum never needs the logits: sum_p x_p l_p = h . (x W) + x . b, with x W (B, hidden) computed once
per batch. What is left per code is the matmuls, the ELUs (in place) and one softplus pass summed per row: the
element-wise work a Bernoulli decoder cannot avoid. Rows are scored in blocks of about BLOCK_ELEMENTS logits, so
the working set stays in the core's cache and no temporary grows with K or with the batch.
Same values as the unfused path up to float rounding (the sums run in another order; tests/test_fused.py).
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from .nets import MLPDecoder

# logits per block on a CPU: 2**20 float32 = 4 MB, which stays in the caches; a GPU takes the whole chunk
BLOCK_ELEMENTS = {"cpu": 2 ** 20}


def fused_log_lik(model, x: torch.Tensor):
    """A callable z (S, B, d) -> log p(x|z) (S, B) nats for this batch x (B, *data_shape), or None when the model
    has no fused path (not an MLP decoder of Linear/ELU layers with a Bernoulli likelihood) or autocast is on
    (bf16 runs the unfused path). Call it under torch.no_grad() or torch.inference_mode() only."""
    layers = fusable_layers(model, x)
    if layers is None:
        return None
    return _FusedBernoulliMLP(layers, x.reshape(x.shape[0], -1).to(layers[-1].weight.dtype))


def fusable_layers(model, x: torch.Tensor) -> list | None:
    """The decoder's layers when a fused path can score it: an MLPDecoder of nn.Linear and nn.ELU layers ending in
    a Linear, a Bernoulli likelihood, and no autocast on x's device; else None."""
    if getattr(model, "likelihood", None) != "bernoulli" or type(getattr(model, "decoder", None)) is not MLPDecoder:
        return None
    if _autocast_on(x.device.type):
        return None
    layers = list(model.decoder.net)
    if not isinstance(layers[-1], nn.Linear) or not all(isinstance(m, (nn.Linear, nn.ELU)) for m in layers):
        return None
    return layers


def _autocast_on(device_type: str) -> bool:
    try:
        return torch.is_autocast_enabled(device_type)
    except RuntimeError:                     # a device type autocast does not know (meta): no autocast there
        return False


class _FusedBernoulliMLP:
    def __init__(self, layers, x_flat: torch.Tensor):
        self.body, self.last = layers[:-1], layers[-1]
        self.w, self.b = self.last.weight, self.last.bias           # (P, H), (P,)
        self.workspace = None
        self.xw = x_flat @ self.w                                   # (B, H): sum_p x_p W_p, once per batch
        self.xb = x_flat @ self.b if self.b is not None else torch.zeros(x_flat.shape[0], device=x_flat.device)
        budget = BLOCK_ELEMENTS.get(x_flat.device.type)
        b = x_flat.shape[0]
        self.samples_per_block = None if budget is None else max(1, budget // (b * self.w.shape[0]))

    def _buffers(self, rows: int, like: torch.Tensor) -> list:
        """Output buffers of each layer for a block of `rows` codes, made once per size: the loop over blocks
        then allocates nothing large (no fresh pages to fault in, no allocator churn that grows the RSS)."""
        if self.workspace is None or self.workspace[0].shape[0] != rows:
            self.workspace = [like.new_empty(rows, m.out_features) for m in (*self.body, self.last)
                              if isinstance(m, nn.Linear)]
        return self.workspace

    def __call__(self, z: torch.Tensor) -> torch.Tensor:
        s = z.shape[0]
        step = self.samples_per_block or s
        if step >= s:
            return self._block(z)
        return torch.cat([self._block(z[i:i + step]) for i in range(0, s, step)])

    def _block(self, z: torch.Tensor) -> torch.Tensor:
        lead = z.shape[:-1]                                         # (s, B)
        h = z.reshape(-1, z.shape[-1])
        bufs = iter(self._buffers(h.shape[0], h))
        for m in self.body:
            if isinstance(m, nn.Linear):
                h = _linear(h, m, next(bufs))
            else:
                F.elu(h, m.alpha, inplace=True)
        logits = _linear(h, self.last, next(bufs))                  # (s B, P)
        data_term = (h.view(*lead, -1) * self.xw).sum(-1) + self.xb  # sum_p x_p l_p, (s, B)
        torch._C._nn.softplus(logits, 1.0, 20.0, out=logits)        # F.softplus, in place: no fresh (rows, P)
        return data_term - logits.sum(-1).view(lead)


def _linear(h: torch.Tensor, m: nn.Linear, out: torch.Tensor) -> torch.Tensor:
    if m.bias is None:
        return torch.mm(h, m.weight.t(), out=out)
    return torch.addmm(m.bias, h, m.weight.t(), out=out)
