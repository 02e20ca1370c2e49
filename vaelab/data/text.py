"""Text as token ids: the Vocabulary, padding helpers, and `synthetic_text`, a generated language with known
global factors (topic and sentiment) and a local grammar that an LSTM language model can learn on its own.

Layout of every text Dataset: x is a long tensor (n, T) of token ids. Each row is the sentence's words, then
one EOS, then PAD up to T (no BOS: decoders prepend it themselves). lengths(x) counts words + EOS, the
tokens a language model is scored on. y is a long tensor (n, 2): column 0 the topic, column 1 the sentiment
(meta["label_names"]). meta holds kind="text", shape=(T,), vocab (list of str) and vocab_size.
"""
from __future__ import annotations

import numpy as np
import torch

from ..checks import check_choice, check_int

PAD, BOS, EOS, UNK = 0, 1, 2, 3
SPECIALS = ("<pad>", "<bos>", "<eos>", "<unk>")


class Vocabulary:
    """Token strings <-> ids. Ids 0-3 are PAD, BOS, EOS, UNK; unknown words encode to UNK."""

    def __init__(self, words):
        words = [w for w in words if w not in SPECIALS]
        self.itos = list(SPECIALS) + list(dict.fromkeys(words))
        self.stoi = {w: i for i, w in enumerate(self.itos)}

    def __len__(self) -> int:
        return len(self.itos)

    def __repr__(self) -> str:
        return f"Vocabulary({len(self)} tokens: {' '.join(self.itos[4:12])} ...)"

    def encode(self, sentence, max_len: int | None = None) -> torch.Tensor:
        """A str (split on spaces) or list of words -> (L,) ids ending in EOS, padded with PAD to max_len.

        Sentences longer than max_len - 1 words are cut so that the EOS always fits."""
        words = sentence.split() if isinstance(sentence, str) else list(sentence)
        if max_len is not None:
            check_int("max_len", max_len, 2)
            words = words[:max_len - 1]
        ids = [self.stoi.get(w, UNK) for w in words] + [EOS]
        if max_len is not None:
            ids += [PAD] * (max_len - len(ids))
        return torch.tensor(ids, dtype=torch.long)

    def encode_batch(self, sentences, max_len: int) -> torch.Tensor:
        """(n, max_len) long tensor."""
        return torch.stack([self.encode(s, max_len) for s in sentences])

    def decode(self, ids) -> str | list[str]:
        """(L,) ids -> one string (stops at EOS, drops PAD/BOS); (n, L) -> a list of strings."""
        ids = torch.as_tensor(ids)
        if ids.dim() == 2:
            return [self.decode(row) for row in ids]
        words = []
        for i in ids.tolist():
            if i == EOS:
                break
            if i not in (PAD, BOS):
                words.append(self.itos[i] if 0 <= i < len(self.itos) else "<unk>")
        return " ".join(words)


def lengths(x: torch.Tensor) -> torch.Tensor:
    """Scored tokens per row (words + EOS) of an (n, T) id tensor: (n,) long."""
    return (x != PAD).sum(-1)


# --- synthetic_text: the generating grammar ------------------------------------------------------------
TOPICS = {
    "sport": (["team", "coach", "player", "match", "goal"], ["wins", "plays", "loses"]),
    "food": (["chef", "soup", "bread", "cake", "pasta"], ["cooks", "bakes", "tastes"]),
    "music": (["band", "song", "singer", "album", "drummer"], ["sings", "records", "plays"]),
    "space": (["rocket", "planet", "star", "crew", "moon"], ["orbits", "launches", "lands"]),
}
SENTIMENTS = {"negative": ["bad", "awful", "boring", "sad"], "positive": ["good", "great", "lovely", "happy"]}
DETS = ["the", "a", "this", "our"]
ADVERBS = ["today", "again", "slowly", "loudly"]
SIZES = {"train": 10000, "valid": 1000, "test": 1000}
MAX_LEN = 12
_SPLIT_SEED = {"train": 0, "valid": 1, "test": 2}
TOPIC_PURITY = 0.7       # chance that a noun or verb comes from the sentence's own topic (else any topic)
SENTIMENT_PURITY = 0.9   # chance that an adjective carries the sentence's own sentiment


def synthetic_vocabulary() -> Vocabulary:
    words = DETS + ADVERBS + ["very", "and", "."]
    for nouns, verbs in TOPICS.values():
        words += nouns + verbs
    for adjs in SENTIMENTS.values():
        words += adjs
    return Vocabulary(words)


def _sentence(rng: np.random.RandomState, topic: int, sentiment: int) -> list[str]:
    """DET [very] [ADJ] NOUN VERB DET [very] [ADJ] NOUN [ADV] .  (6 to 11 words)."""
    topics, sents = list(TOPICS.values()), list(SENTIMENTS.values())

    def pick(kind):
        t = topic if rng.rand() < TOPIC_PURITY else rng.randint(len(topics))
        return topics[t][kind][rng.randint(len(topics[t][kind]))]

    def adj():
        s = sentiment if rng.rand() < SENTIMENT_PURITY else 1 - sentiment
        return sents[s][rng.randint(len(sents[s]))]

    def noun_phrase(first):
        out = [DETS[rng.randint(len(DETS))]]
        if rng.rand() < (0.8 if first else 0.5):
            if rng.rand() < 0.3:
                out.append("very")
            out.append(adj())
        return out + [pick(0)]

    words = noun_phrase(True) + [pick(1)] + noun_phrase(False)
    if rng.rand() < 0.4:
        words.append(ADVERBS[rng.randint(len(ADVERBS))])
    return words + ["."]


def synthetic_text(split: str = "train", n: int | None = None, seed: int = 0, max_len: int = MAX_LEN):
    """The synthetic language as a Dataset (see the module docstring for the layout).

    split: 'train' (10000 sentences), 'valid' (1000) or 'test' (1000); n overrides the size.
    Vocabulary: 54 tokens (4 specials, 50 words). Sentences: 7-12 tokens with EOS (6-11 words; max_len=12).
    Global factors, drawn uniformly per sentence: topic (4: sport, food, music, space) picks nouns and
    verbs (each drawn from it with prob. TOPIC_PURITY = 0.7, else from any topic), sentiment (2: negative,
    positive) picks adjectives (90% matching).
    Local syntax (determiner, optional adjective, noun, verb, ...) is shared by all topics.
    Deterministic: the same split, n and seed give the same tensors; splits use disjoint random streams.
    """
    from .dataset import Dataset

    check_choice("split", split, tuple(SIZES))
    check_int("max_len", max_len, MAX_LEN)
    n = SIZES[split] if n is None else check_int("n", n, 1)
    rng = np.random.RandomState(1000 * seed + _SPLIT_SEED[split])
    vocab = synthetic_vocabulary()
    topic = rng.randint(len(TOPICS), size=n)
    sentiment = rng.randint(len(SENTIMENTS), size=n)
    x = vocab.encode_batch([_sentence(rng, int(t), int(s)) for t, s in zip(topic, sentiment)], max_len)
    y = torch.from_numpy(np.stack([topic, sentiment], 1).astype(np.int64))
    meta = {"kind": "text", "source": "generated by vaelab.data.text.synthetic_text", "name": "synthetic_text",
            "split": split, "shape": (max_len,), "binarize": None, "vocab": list(vocab.itos),
            "vocab_size": len(vocab), "label_names": ["topic", "sentiment"],
            "topics": list(TOPICS), "sentiments": list(SENTIMENTS)}
    return Dataset(x, y, meta)


def vocabulary_of(ds) -> Vocabulary:
    """The Vocabulary of a text Dataset (rebuilt from meta['vocab'])."""
    if ds.meta.get("kind") != "text":
        raise ValueError(f"vocabulary_of needs a text dataset (meta kind 'text'), got kind={ds.meta.get('kind')!r}")
    return Vocabulary(ds.meta["vocab"])
