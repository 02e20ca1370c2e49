"""log p(x|z) and its gradient in z without autograd, for AIS's HMC: MLP decoders with a Bernoulli likelihood.

AIS (vaelab.inference.ais) needs log p(x|z) and g = d log p(x|z) / dz at every leapfrog step, (leapfrog + 1)
times per annealing step: nearly all of its cost. Through autograd each call records a graph for
decode(z).log_prob(x), a broadcast binary cross-entropy over the (chains, B, pixels) logits, and walks it back.
Here, with l = h W^T + b (h: the last hidden layer) and x W (B, hidden) computed once per batch (as in fused.py),

    log p(x|z) = sum_p x_p l_p - softplus(l_p)  = h . (x W) + x . b - sum_p softplus(l_p)
    d/dh       = sum_p (x_p - sigmoid(l_p)) W_p = x W - sigmoid(l) W

so per code the pixels cost one softplus and one sigmoid pass over the logits, besides the matmuls. The
backward then runs through each Linear (g <- g W) and each ELU (g <- g * elu'(a), where elu'(a) = 1 for a > 0,
else elu(a) + alpha: read from the ELU's output, which the forward keeps in place of the Linear's output) down to
z. Rows go in blocks of about fused.BLOCK_ELEMENTS logits through buffers made once per batch.
Same values as the autograd path up to float rounding (tests/test_fused_ais.py).
"""
from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from .fused import BLOCK_ELEMENTS, _linear, fusable_layers


def fused_log_lik_and_grad(model, x: torch.Tensor):
    """A callable z (S, B, d) -> (log p(x|z) (S, B) nats, d log p(x|z) / dz (S, B, d)) for this batch
    x (B, *data_shape), or None when the model has no fused path: see fused.fusable_layers (MLP decoder of
    Linear/ELU layers, Bernoulli likelihood, no autocast), and besides every ELU must follow a Linear and have
    alpha >= 0 (its output then tells which side of 0 its input was). Uses no autograd; the results carry no
    graph."""
    layers = fusable_layers(model, x)
    if layers is None or not _backward_from_outputs(layers):
        return None
    return _FusedBernoulliMLPGrad(layers, x.reshape(x.shape[0], -1).to(layers[-1].weight.dtype))


def _backward_from_outputs(layers) -> bool:
    return all(isinstance(m, nn.Linear) or (i > 0 and isinstance(layers[i - 1], nn.Linear) and m.alpha >= 0)
               for i, m in enumerate(layers))


class _FusedBernoulliMLPGrad:
    @torch.no_grad()                                                # the weights may require grad; out= refuses that
    def __init__(self, layers, x_flat: torch.Tensor):
        self.body, self.last = layers[:-1], layers[-1]
        self.linears = [m for m in layers if isinstance(m, nn.Linear)]
        self.w, self.b = self.last.weight, self.last.bias           # (P, H), (P,)
        self.batch = x_flat.shape[0]
        self.xw = x_flat @ self.w                                   # (B, H): sum_p x_p W_p, once per batch
        self.xb = x_flat @ self.b if self.b is not None else x_flat.new_zeros(self.batch)
        budget = BLOCK_ELEMENTS.get(x_flat.device.type)
        self.samples_per_block = None if budget is None else max(1, budget // (self.batch * self.w.shape[0]))
        self.workspace, self.capacity = None, 0

    def _buffers(self, rows: int, like: torch.Tensor):
        """(each Linear's output, the gradient at each Linear's input but the first, last Linear first; a second
        logits-sized buffer), for `rows` codes: views of buffers made for the largest block seen, so that the loop
        allocates nothing large."""
        if rows > self.capacity:
            acts = [like.new_empty(rows, m.out_features) for m in self.linears]
            grads = [like.new_empty(rows, m.in_features) for m in reversed(self.linears[1:])]
            self.workspace, self.capacity = (acts, grads, like.new_empty(rows, self.w.shape[0])), rows
        acts, grads, tmp = self.workspace
        return [a[:rows] for a in acts], [g[:rows] for g in grads], tmp[:rows]

    @torch.no_grad()
    def __call__(self, z: torch.Tensor, value: bool = True):
        """(log p(x|z) (S, B), gradient (S, B, d)); value=False skips the softplus pass and returns None for the
        value (HMC's inner leapfrog steps need the gradient only)."""
        if z.dim() != 3 or z.shape[1] != self.batch:
            raise ValueError(f"z must have shape (S, B={self.batch}, d), got {tuple(z.shape)}")
        s = z.shape[0]
        ll = z.new_empty(z.shape[:-1]) if value else None
        g = z.new_empty(z.shape)
        step = self.samples_per_block or s
        step = math.ceil(s / math.ceil(s / step))                  # equal blocks: one buffer size per batch
        for i in range(0, s, step):
            self._block(z[i:i + step], None if ll is None else ll[i:i + step], g[i:i + step])
        return ll, g

    def _block(self, z: torch.Tensor, ll: torch.Tensor | None, g: torch.Tensor) -> None:
        lead = z.shape[:-1]                                         # (s, B)
        rows = lead.numel()
        acts, grads, tmp = self._buffers(rows, z)
        h = z.reshape(rows, -1)
        outs, saved = iter(acts), []
        for m in self.body:
            if isinstance(m, nn.Linear):
                h = _linear(h, m, next(outs))
            else:
                F.elu(h, m.alpha, inplace=True)                     # over the Linear's output: its backward reads W
            saved.append(h)
        logits = _linear(h, self.last, next(outs))                  # (s B, P)
        if ll is not None:
            data_term = (h.view(*lead, -1) * self.xw).sum(-1) + self.xb  # sum_p x_p l_p, (s, B)
            torch._C._nn.softplus(logits, 1.0, 20.0, out=tmp)
            torch.sub(data_term, tmp.sum(-1).view(lead), out=ll)
        torch.sigmoid(logits, out=logits)
        # the gradient at each Linear's input, last Linear first; the first Linear's input is z
        targets = iter([*grads, g.view(rows, -1)])
        grad = next(targets)
        torch.mm(logits, self.w, out=grad)                          # sigmoid(l) W
        torch.sub(self.xw, grad.view(*lead, -1), out=grad.view(*lead, -1))    # x W - sigmoid(l) W
        for m, out in zip(reversed(self.body), reversed(saved)):
            if isinstance(m, nn.ELU):                               # g * (1 if out > 0 else out + alpha), in place
                torch.ops.aten.elu_backward.grad_input(grad, m.alpha, 1, 1, True, out, grad_input=grad)
            else:
                nxt = next(targets)
                torch.mm(grad, m.weight, out=nxt)
                grad = nxt
