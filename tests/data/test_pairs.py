"""Pair sampling for the contrastive strategy."""
import collections

import pytest
import torch

from nlptransfer.data.batching import EncodedDataset
from nlptransfer.data.pairs import PairDataset, default_pair_budget, pair_collator, sample_pairs


def test_pairs_are_balanced_labelled_and_spread_over_texts():
    labels = [0] * 6 + [1] * 2 + [2] * 4
    pairs = sample_pairs(labels, 240, seed=3, block=4)
    assert len(pairs) == 240
    for i, j, target in pairs:
        assert target == (1.0 if labels[i] == labels[j] else 0.0)
        assert target == 0.0 or i != j  # a class with several texts never pairs a text with itself
    assert sum(t for _, _, t in pairs) == 120  # half positive
    anchors = collections.Counter(i for i, _, _ in pairs)
    assert set(anchors) == set(range(12)) and max(anchors.values()) - min(anchors.values()) <= 2
    assert sample_pairs(labels, 240, seed=3, block=4) == pairs and sample_pairs(labels, 240, seed=4, block=4) != pairs


def test_each_batch_of_pairs_draws_on_one_block_of_texts():
    labels = [0] * 50 + [1] * 50
    pairs = sample_pairs(labels, 2000, seed=1, block=16)
    batches = [pairs[k:k + 16] for k in range(0, 2000, 16)]
    distinct = [len({t for i, j, _ in b for t in (i, j)}) for b in batches]
    # a block of 16 texts feeds each batch; pairs drawn from all 100 texts would touch ~27
    assert max(distinct) <= 16 and min(distinct) >= 8
    assert all(sum(t for _, _, t in b) == 8 for b in batches)  # half positive in every batch
    partners = collections.Counter(j for _, j, _ in pairs)
    assert len(partners) == 100  # over the run, every text is somebody's partner


def test_single_text_class_and_budget():
    pairs = sample_pairs([0, 1, 1], 10, seed=0, block=16)
    assert (0, 0, 1.0) in pairs  # the only text of its class pairs with itself, as SetFit's pairs do
    assert default_pair_budget(16) == 320 and default_pair_budget(5000) == 2000 and default_pair_budget(1) == 64


def test_collator_sends_each_distinct_text_once(tiny_models):
    from nlptransfer.data.batching import text_collator
    from nlptransfer.models.pretrained import load_tokenizer, model_architecture

    tok = load_tokenizer(tiny_models["bert"], model_architecture(tiny_models["bert"])[1])
    encoded = EncodedDataset(tok(["good film", "bad", "a truly great film"])["input_ids"], [1, 0, 1])
    pairs = PairDataset(encoded, [(0, 2, 1.0), (0, 1, 0.0), (2, 1, 0.0), (0, 2, 1.0)])
    batch = pair_collator(encoded, text_collator(tok))([pairs[i] for i in range(4)])
    assert batch["input_ids"].shape[0] == 3  # three distinct texts for four pairs
    for k in range(4):  # each pair points at its own two texts
        left, right, _ = pairs.pairs[k]
        for side, row in (("left", left), ("right", right)):
            ids = batch["input_ids"][batch[side][k]][batch["attention_mask"][batch[side][k]] == 1].tolist()
            assert ids == encoded.input_ids[row]
    assert batch["labels"].tolist() == [1.0, 0.0, 0.0, 1.0] and batch["labels"].dtype == torch.float32


@pytest.mark.parametrize("bad", [[0, 0, 0]])
def test_one_label_still_samples(bad):
    assert all(t == 1.0 for _, _, t in sample_pairs(bad, 6, seed=0, block=16))
