"""Aggressive encoder training (He et al. 2019, "Lagging inference networks", Algorithm 1).

Early in training the encoder lags behind the true posterior of the current decoder, so z carries
little signal and the decoder learns to ignore it. The remedy: before every decoder update, train the
encoder alone on fresh minibatches until its loss stops improving (the inner loop), then update the
decoder alone once. After each epoch, if the mutual information I_q(x; z) did not rise, switch to
ordinary joint training for the rest of the run.

fit() drives this through three calls (a small strategy object so the loop itself stays flat):
before each outer step `encoder_steps()`, between backward and the optimizer step `decoder_only()`,
and after each epoch `end_epoch(mi)`.
"""
from __future__ import annotations

import math

import torch

from ..checks import check_int


class AggressiveEncoderTraining:
    """State of the aggressive schedule. Attributes: active, inner_steps (per outer step, this epoch).

    loss_fn(model, x, kl_weight) -> (loss, stats); draw() -> a fresh random minibatch.
    The inner loop sums the loss over blocks of `check_every` steps and stops when a block's sum does not
    improve on the previous block's, or after max_inner steps (He et al.: 15 and 100 in their code)."""

    def __init__(self, model, loss_fn, lr: float, draw, max_inner: int = 100, check_every: int = 10):
        check_int("max_inner", max_inner, 1)
        check_int("check_every", check_every, 1)
        self.loss_fn, self.draw = loss_fn, draw
        self.max_inner, self.check_every = max_inner, check_every
        self.encoder_params = list(model.encoder.parameters())
        self.opt = torch.optim.Adam(self.encoder_params, lr=lr)
        self.active = True
        self.best_mi = -math.inf
        self.inner_steps: list[int] = []
        self.switched_off_after: int | None = None

    def encoder_steps(self, model, kl_weight: float) -> None:
        """The inner loop: encoder-only updates on fresh minibatches until the loss stops improving."""
        previous, block = math.inf, 0.0
        it = 0
        for it in range(1, self.max_inner + 1):
            loss, _ = self.loss_fn(model, self.draw(), kl_weight=kl_weight)
            if not torch.isfinite(loss):
                break                     # the outer step sees the same problem and stops training cleanly
            self.opt.zero_grad(set_to_none=True)
            loss.backward()
            self.opt.step()
            block = block + loss.detach()
            if it % self.check_every == 0:
                block_value = float(block)
                if block_value >= previous:
                    break
                previous, block = block_value, 0.0
        self.inner_steps.append(it)

    def decoder_only(self) -> None:
        """Drop the encoder's gradients so the outer optimizer step moves the decoder alone (Adam skips None)."""
        for p in self.encoder_params:
            p.grad = None

    def end_epoch(self, epoch: int, mi: float) -> dict:
        """Switch off once MI stops rising; returns the history columns of this epoch."""
        row = {"aggressive": float(self.active),
               "inner_steps": sum(self.inner_steps) / max(1, len(self.inner_steps))}
        if self.active:
            if mi <= self.best_mi:
                self.active = False
                self.switched_off_after = epoch
            self.best_mi = max(self.best_mi, mi)
        self.inner_steps = []
        return row
