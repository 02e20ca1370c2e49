"""The autoregressive decoders (LSTM for text, PixelCNN for binary images) against brute-force ground truth."""
import itertools

import pytest
import torch

from vaelab.data.text import BOS, EOS, PAD, UNK, synthetic_text
from vaelab.models import build_model, check_model_data, model_from_config
from vaelab.models.pixelcnn import MaskedConv2d
from vaelab.train import fit, load_checkpoint, save_checkpoint

V, T, D = 12, 7, 3


def lstm_vae(word_dropout=0.0, seed=0):
    torch.manual_seed(seed)
    return build_model("lstm", (T,), D, [16], vocab_size=V, embed_dim=8, word_dropout=word_dropout).eval()


def random_sentences(n, seed=0):
    g = torch.Generator().manual_seed(seed)
    x = torch.randint(4, V, (n, T), generator=g)
    lengths = torch.randint(1, T + 1, (n,), generator=g)           # tokens incl. EOS
    pos = torch.arange(T)[None]
    x = torch.where(pos == lengths[:, None] - 1, torch.tensor(EOS), x)
    return torch.where(pos >= lengths[:, None], torch.tensor(PAD), x)


@torch.no_grad()
def test_lstm_decoder_is_autoregressive():
    model = lstm_vae()
    z = torch.randn(4, D, generator=torch.Generator().manual_seed(1))
    x = random_sentences(4)
    base = model.decoder.logits(z, x)
    for t in range(T):
        x2 = x.clone()
        x2[:, t] = (x2[:, t] + 1 - 4) % (V - 4) + 4            # another real word at position t
        out = model.decoder.logits(z, x2)
        # a leak moves a logit by O(0.1); 1e-5 is far above float32 rounding of the unaffected positions,
        # so the check does not rely on kernels being bitwise reproducible
        assert float((out[:, :t + 1] - base[:, :t + 1]).abs().max()) < 1e-5, f"position <= {t} saw token {t}"
        if t + 1 < T:
            assert not torch.allclose(out[:, t + 1], base[:, t + 1]), f"position {t + 1} ignores token {t}"


def test_lstm_encoder_reads_every_word_of_the_sentence():
    """q(z|x) must depend on x, or a collapse test cannot tell "the decoder ignores z" from "the encoder is
    blind": different sentences get different means, and changing any one word moves μ."""
    model = lstm_vae()
    x = random_sentences(32, seed=4)
    with torch.no_grad():
        mu = model.encode(x).mu
        assert float(mu.std(0).min()) > 1e-3                          # different sentences, different codes
        n = (x != PAD).sum(1)
        for t in range(T):
            x2 = x.clone()
            x2[:, t] = torch.where(x[:, t] >= 4, (x[:, t] + 1 - 4) % (V - 4) + 4, x[:, t])   # another word
            moved = (model.encode(x2).mu - mu).abs().amax(-1)          # (B,)
            words = (t < n - 1) & (x[:, t] >= 4)                       # rows where position t is a word
            # a changed word moves μ by O(0.01) (float32 rounding: 1e-7); rows left as they were do not move
            if t < T - 1:
                assert bool(words.any()) and float(moved[words].min()) > 1e-4, t
            assert float(moved[~words].sum()) < 1e-6, t


def test_lstm_teacher_forcing_matches_step_by_step_scoring():
    """log p(x|z) from one teacher-forced pass equals the sum of one-step-at-a-time log-probabilities."""
    model = lstm_vae()
    dec = model.decoder
    z = torch.randn(3, D)
    x = random_sentences(3, seed=1)
    with torch.no_grad():
        state = dec._state(z)
        tok = torch.full((3, 1), BOS)
        manual = torch.zeros(3)
        for t in range(T):
            h, state = dec.lstm(torch.cat([dec.embed(tok), z[:, None]], -1), state)
            logp = dec.out(h[:, 0]).log_softmax(-1).gather(1, x[:, t:t + 1])[:, 0]
            manual += torch.where(x[:, t] != PAD, logp, torch.zeros(()))
            tok = x[:, t:t + 1]
        fast = model.decode(z).log_prob(x)
    torch.testing.assert_close(fast, manual, rtol=1e-5, atol=1e-5)


def test_lstm_log_prob_broadcasts_over_samples():
    model = lstm_vae()
    x = random_sentences(5)
    z = torch.randn(2, 5, D)
    both = model.decode(z).log_prob(x)
    assert both.shape == (2, 5)
    torch.testing.assert_close(both[1], model.decode(z[1]).log_prob(x))


def _dense_log_prob(decoder, z, x):
    """The reference: every position through the output layer, then the PAD positions masked out (N,)."""
    logits = decoder.logits(z, x)                                           # (N, T, V)
    nll = torch.nn.functional.cross_entropy(logits.transpose(1, 2), x, reduction="none")
    return -(nll * (x != PAD)).sum(1)


def _ragged_sentences():
    """Rows of every length 1..T (tokens incl. EOS): the first is a lone EOS, the last has no padding."""
    g = torch.Generator().manual_seed(5)
    x = torch.randint(4, V, (T, T), generator=g)
    pos = torch.arange(T)[None]
    n = torch.arange(1, T + 1)[:, None]
    x = torch.where(pos == n - 1, torch.tensor(EOS), x)
    return torch.where(pos >= n, torch.tensor(PAD), x)


def test_lstm_packed_log_prob_equals_the_dense_one_in_value_and_gradient():
    """On the CPU, log_prob sends only non-PAD positions through the output layer; it must agree with scoring
    every position and masking, row by row (each row its own length), and so must its gradients."""
    model = lstm_vae()
    dec = model.decoder
    x = _ragged_sentences()
    assert x[0].tolist() == [EOS] + [PAD] * (T - 1) and bool((x[-1] != PAD).all())
    z = torch.randn(T, D, generator=torch.Generator().manual_seed(6))
    packed = dec.log_prob(z, x)
    dense = _dense_log_prob(dec, z, x)
    torch.testing.assert_close(packed, dense, rtol=1e-5, atol=1e-6)
    assert float(packed.detach().std()) > 1.0, "rows of different lengths should score very differently"

    params = [p for _, p in dec.named_parameters()]
    g_packed = torch.autograd.grad((packed * torch.arange(1.0, T + 1)).sum(), params)   # rows weighted apart
    g_dense = torch.autograd.grad((dense * torch.arange(1.0, T + 1)).sum(), params)
    for (name, _), a, b in zip(dec.named_parameters(), g_packed, g_dense):
        torch.testing.assert_close(a, b, rtol=1e-5, atol=1e-6, msg=lambda m, n=name: f"{n}: {m}")


def test_word_dropout_never_replaces_the_targets_of_log_prob():
    """With word_dropout = 1 in training mode every input but BOS is <unk> (deterministic): log_prob must still
    score the true words, i.e. equal the dense reference built from logits against the original x."""
    model = lstm_vae(word_dropout=1.0).train()
    x = random_sentences(8, seed=7)
    z = torch.randn(8, D, generator=torch.Generator().manual_seed(8))
    got = model.decoder.log_prob(z, x)
    torch.testing.assert_close(got, _dense_log_prob(model.decoder, z, x), rtol=1e-5, atol=1e-6)
    # scoring <unk> targets instead would give another value: the check can tell the two apart
    unk_targets = torch.where(x >= 4, torch.tensor(UNK), x)
    assert not torch.allclose(got, _dense_log_prob(model.decoder, z, unk_targets), rtol=1e-3)


def test_word_dropout_replaces_inputs_only_in_training():
    full = lstm_vae(word_dropout=1.0)
    x1, x2 = random_sentences(4, seed=2), random_sentences(4, seed=3)
    x2 = torch.where(x1 == PAD, PAD, torch.where(x1 == EOS, EOS, x2.clamp(min=UNK + 1)))  # same layout
    z = torch.randn(4, D)
    full.train()
    # with p = 1 every input token but BOS is <unk>: the predictions cannot depend on the words
    torch.testing.assert_close(full.decoder.logits(z, x1), full.decoder.logits(z, x2))
    full.eval()
    assert not torch.allclose(full.decoder.logits(z, x1), full.decoder.logits(z, x2))


def test_greedy_and_sampled_sentences_are_well_formed():
    model = lstm_vae()
    for x in (model.sample(6, mean=True), model.sample(6, mean=False)):
        assert x.shape == (6, T) and x.dtype == torch.long
        for row in x.tolist():
            assert EOS in row
            k = row.index(EOS)
            assert all(t == PAD for t in row[k + 1:]) and PAD not in row[:k] and BOS not in row


def pixelcnn(layers, shape=(1, 6, 6), conditioning="spatial"):
    torch.manual_seed(0)
    return build_model("pixelcnn", shape, D, [16], channels=8, layers=layers, conditioning=conditioning).eval()


@pytest.mark.parametrize("conditioning", ["spatial", "global"])
@torch.no_grad()
def test_pixelcnn_is_autoregressive_in_raster_order(conditioning):
    model = pixelcnn(3, conditioning=conditioning)
    z = torch.randn(2, D, generator=torch.Generator().manual_seed(1))
    x = torch.bernoulli(torch.full((2, 1, 6, 6), 0.5), generator=torch.Generator().manual_seed(0))
    base = model.decoder.logits(z, x).flatten(1)
    for p in range(36):
        x2 = x.clone().flatten(1)
        x2[:, p] = 1 - x2[:, p]
        out = model.decoder.logits(z, x2.reshape(x.shape)).flatten(1)
        assert float((out[:, :p + 1] - base[:, :p + 1]).abs().max()) < 1e-5, f"pixel {p} leaked into positions <= {p}"
        if p % 6 < 5:     # ... while the pixel to its right, which the 'A' mask lets see it, does move
            assert float((out[:, p + 1] - base[:, p + 1]).abs().min()) > 1e-4, p


def influencers(decoder, shape, i, j):
    """Input pixels whose value reaches the output logit at (i, j): by gradient (exact zeros off the field)."""
    x = torch.rand(1, *shape, generator=torch.Generator().manual_seed(0)).requires_grad_(True)
    decoder.logits(torch.zeros(1, D), x)[0, 0, i, j].backward()
    return {tuple(ix) for ix in (x.grad[0, 0] != 0).nonzero().tolist()}


def test_masked_conv_receptive_field_closed_form():
    # one 3x3 'A' layer: the three pixels above and the one to the left, nothing else
    dec = pixelcnn(1, shape=(1, 7, 7)).decoder
    assert influencers(dec, (1, 7, 7), 3, 3) == {(2, 2), (2, 3), (2, 4), (3, 2)}
    # every extra 3x3 'B' layer reaches one more row up, and never below or right of the pixel
    for layers in (2, 3, 4):
        dec = pixelcnn(layers, shape=(1, 9, 9)).decoder
        field = influencers(dec, (1, 9, 9), 6, 4)
        assert min(r for r, _ in field) == 6 - layers == 6 - dec.receptive_rows()
        assert all(r < 6 or (r == 6 and c < 4) for r, c in field)


def test_masked_conv_mask_shapes():
    a, b = MaskedConv2d(1, 1, 3, "A").mask[0, 0], MaskedConv2d(1, 1, 3, "B").mask[0, 0]
    assert a.tolist() == [[1, 1, 1], [1, 0, 0], [0, 0, 0]]
    assert b.tolist() == [[1, 1, 1], [1, 1, 0], [0, 0, 0]]
    with pytest.raises(ValueError, match="mask_type"):
        MaskedConv2d(1, 1, 3, "C")


def test_pixelcnn_is_normalised_over_every_binary_image():
    """sum over all 2^(H W) images of p(x|z) = 1 (exact, 2 x 2 images)."""
    model = pixelcnn(2, shape=(1, 2, 2))
    images = torch.tensor(list(itertools.product([0.0, 1.0], repeat=4))).reshape(16, 1, 2, 2)
    z = torch.randn(1, D).expand(16, D)
    total = model.decode(z).log_prob(images).logsumexp(0)
    torch.testing.assert_close(total, torch.tensor(0.0), atol=1e-5, rtol=0)


def test_checkpoints_round_trip(tmp_path):
    for model, x in ((lstm_vae(word_dropout=0.3), random_sentences(4)),
                     (pixelcnn(2, conditioning="global"), torch.bernoulli(torch.full((4, 1, 6, 6), 0.5)))):
        path = save_checkpoint(tmp_path / f"{model.config['name']}.pt", model)
        loaded, _ = load_checkpoint(path)
        assert loaded.config == model.config == model_from_config(model.config).config
        z = torch.randn(4, D)
        torch.testing.assert_close(loaded.decode(z).log_prob(x), model.decode(z).log_prob(x))


def test_wrong_data_for_the_model_is_a_clear_error():
    with pytest.raises(ValueError, match="needs text data of shape"):
        build_model("lstm", (1, 8, 8), 2, vocab_size=10)
    with pytest.raises(ValueError, match="vocab_size"):
        build_model("lstm", (12,), 2)
    with pytest.raises(ValueError, match="one-channel images"):
        build_model("pixelcnn", (12,), 2)
    with pytest.raises(ValueError, match="word_dropout must be in"):
        build_model("lstm", (12,), 2, vocab_size=10, word_dropout=1.5)
    with pytest.raises(ValueError, match="word_dropout must be in"):
        build_model("lstm", (12,), 2, vocab_size=10, word_dropout=-0.1)
    with pytest.raises(ValueError, match="conditioning"):
        build_model("pixelcnn", (1, 4, 4), 2, conditioning="film")
    with pytest.raises(ValueError, match="model='lstm' cannot train on data of kind 'gray'"):
        check_model_data("lstm", "gray")
    with pytest.raises(ValueError, match="model='pixelcnn' cannot train on data of kind 'text'"):
        check_model_data("pixelcnn", "text")
    text = synthetic_text("valid", n=20)
    with pytest.raises(ValueError, match="cannot train on data of kind 'text'"):
        fit(build_model("mlp", (12,), 2), text, epochs=1)
    with pytest.raises(TypeError, match="token ids"):
        lstm_vae().encode(torch.rand(2, T))
