"""synthetic_text and the Vocabulary: layout, determinism, and that the labels really drive the words."""
import pytest
import torch

from vaelab.data import load_dataset, subset
from vaelab.data.text import (EOS, PAD, SENTIMENTS, TOPIC_PURITY, TOPICS, Vocabulary, lengths, synthetic_text,
                              vocabulary_of)


def test_vocabulary_round_trip_and_specials():
    v = Vocabulary(["the", "cat", "sat", "the"])
    assert v.itos == ["<pad>", "<bos>", "<eos>", "<unk>", "the", "cat", "sat"]
    ids = v.encode("the cat sat", max_len=6)
    assert ids.tolist() == [4, 5, 6, EOS, PAD, PAD]
    assert v.decode(ids) == "the cat sat"
    assert v.encode("the dog").tolist() == [4, 3, EOS]            # unknown word -> <unk>
    assert v.encode("a b c d e f", max_len=4).tolist()[-1] == EOS  # cut, EOS always kept
    assert v.decode(torch.stack([ids, ids])) == ["the cat sat"] * 2


def test_layout_words_then_eos_then_padding():
    ds = synthetic_text("valid")
    n_words = len({w for nouns, verbs in TOPICS.values() for w in nouns + verbs}) + 8 + 11
    assert ds.meta["vocab_size"] == len(ds.meta["vocab"]) == 4 + n_words
    assert ds.x.shape == (1000, 12) and ds.x.dtype == torch.long and ds.meta["kind"] == "text"
    n = lengths(ds.x)
    assert int(n.min()) >= 7 and int(n.max()) <= 12
    for row, k in zip(ds.x.tolist(), n.tolist()):
        assert row[k - 1] == EOS and all(t == PAD for t in row[k:]) and PAD not in row[:k - 1]
    assert ds.y.shape == (1000, 2) and ds.meta["label_names"] == ["topic", "sentiment"]
    assert set(ds.y[:, 0].tolist()) == set(range(4)) and set(ds.y[:, 1].tolist()) == {0, 1}


def test_deterministic_per_seed_and_splits_differ():
    a, b = synthetic_text("train", n=300), synthetic_text("train", n=300)
    assert torch.equal(a.x, b.x) and torch.equal(a.y, b.y)
    assert not torch.equal(synthetic_text("train", n=300, seed=1).x, a.x)
    assert not torch.equal(synthetic_text("test", n=300).x, a.x)
    assert len(synthetic_text("train")) == 10000 and len(synthetic_text("test")) == 1000


def test_topic_and_sentiment_labels_drive_the_words():
    """Nouns come from the sentence's own topic with prob purity + (1 - purity)/4 (brute-force count)."""
    ds = synthetic_text("train", n=4000)
    vocab = vocabulary_of(ds)
    noun_topic = {vocab.stoi[w]: t for t, (nouns, _) in enumerate(TOPICS.values()) for w in nouns}
    own = total = 0
    for row, topic in zip(ds.x.tolist(), ds.y[:, 0].tolist()):
        for tok in row:
            if tok in noun_topic:
                total += 1
                own += noun_topic[tok] == topic
    expected = TOPIC_PURITY + (1 - TOPIC_PURITY) / len(TOPICS)
    assert abs(own / total - expected) < 0.02
    adj_sent = {vocab.stoi[w]: s for s, adjs in enumerate(SENTIMENTS.values()) for w in adjs}
    hits = [adj_sent[t] == s for row, s in zip(ds.x.tolist(), ds.y[:, 1].tolist()) for t in row if t in adj_sent]
    assert sum(hits) / len(hits) > 0.85


def test_registry_and_subset_keep_labels_aligned():
    ds = load_dataset("synthetic_text", "test")
    assert torch.equal(ds.x, synthetic_text("test").x)
    small = subset(ds, 50, seed=3)
    idx = [i for i in range(len(ds)) if any(torch.equal(ds.x[i], r) for r in small.x[:1])]
    assert torch.equal(ds.y[idx[0]], small.y[0])
    with pytest.raises(ValueError, match="binarize='static' needs image data"):
        load_dataset("synthetic_text", binarize="static")
    with pytest.raises(ValueError, match="split"):
        synthetic_text("dev")
    with pytest.raises(ValueError, match="vocabulary_of needs a text dataset"):
        vocabulary_of(load_dataset("digits", "test"))
