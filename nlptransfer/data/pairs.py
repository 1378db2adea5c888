"""Text pairs for contrastive training: same label close, different labels apart.

Pairs are sampled as SetFit's "oversampling" does: half positive (same label), half negative,
every text in turn the first member, so each text appears about equally often; unlike SetFit, a
batch's pairs are drawn among the batch-size texts of one block (``sample_pairs``). A batch holds
pair indices; its collator tokenises nothing (the texts were tokenised once) and sends each
distinct text of the batch through the encoder once, however many pairs it is in.
"""
from __future__ import annotations

import numpy as np
import torch
from torch.utils.data import Dataset

__all__ = ["sample_pairs", "PairDataset", "pair_collator", "default_pair_budget"]


def default_pair_budget(n_texts: int, per_text: int = 20, cap: int = 2000) -> int:
    """Pairs to train on: ``per_text`` pairs per labelled text (SetFit's 20 iterations, each a
    positive and a negative pair per text, would be 40), at most ``cap`` so that thousands of
    texts stay fast (a few hundred optimizer steps)."""
    return int(min(max(per_text * n_texts, 64), cap))


def sample_pairs(labels: list[int], n_pairs: int, seed: int, block: int) -> list[tuple[int, int, float]]:
    """``n_pairs`` (i, j, target): target 1.0 for the same label, 0.0 for different labels.

    Pairs come in blocks of ``block`` (the batch size: the loader keeps them in order), each drawn
    among ``block`` texts of a shuffled pass over the data: every member is an anchor in turn,
    alternately with a same-label and a different-label partner from the block (from anywhere when
    the block has none). A batch then sends ``block`` distinct texts through the encoder, where
    pairs drawn from the whole set would send up to twice as many: half the encoder work at 64
    texts per class and more, with each text still as often an anchor as any other.
    """
    rng = np.random.default_rng(seed)
    labels = np.asarray(labels)
    by_label = {c: np.flatnonzero(labels == c) for c in np.unique(labels)}
    others = {c: np.flatnonzero(labels != c) for c in by_label}
    pairs: list[tuple[int, int, float]] = []
    while len(pairs) < n_pairs:
        for members in np.array_split(rng.permutation(len(labels)), -(-len(labels) // block)):  # ceil: <= block each
            for k in range(block):  # a short block cycles its members: batches stay aligned to blocks
                anchor = int(members[k % len(members)])
                same = k % 2 == 0 or not len(others[labels[anchor]])
                pool = members[(labels[members] == labels[anchor]) == same]
                pool = pool[pool != anchor]
                if not len(pool):
                    pool = by_label[labels[anchor]] if same else others[labels[anchor]]
                    pool = pool[pool != anchor] if same and len(pool) > 1 else pool
                pairs.append((anchor, int(rng.choice(pool)), 1.0 if same else 0.0))
    return pairs[:n_pairs]


class PairDataset(Dataset):
    """Pairs over the rows of an ``EncodedDataset`` (its token ids are reused as they are)."""

    in_order = True  # the loader must keep the blocks ``sample_pairs`` made: they are shuffled already

    def __init__(self, encoded, pairs: list[tuple[int, int, float]]):
        self.encoded, self.pairs = encoded, pairs
        self.labels = [target for _, _, target in pairs]

    def __len__(self):
        return len(self.pairs)

    def __getitem__(self, i):
        left, right, target = self.pairs[i]
        return {"left": left, "right": right, "labels": target}


def pair_collator(encoded, pad):
    """Collate pairs: the batch's distinct texts, padded once by ``pad`` (the text collator, so the
    tokenizer's padding side holds), and where each pair's two texts are among them."""

    def collate(items: list[dict]) -> dict:
        rows = sorted({item[side] for item in items for side in ("left", "right")})
        where = {row: k for k, row in enumerate(rows)}
        batch = pad([{"input_ids": encoded.input_ids[row]} for row in rows])
        batch["left"] = torch.tensor([where[item["left"]] for item in items])
        batch["right"] = torch.tensor([where[item["right"]] for item in items])
        batch["labels"] = torch.tensor([item["labels"] for item in items], dtype=torch.float32)
        return batch

    return collate
