"""Multi-task batches: one task per batch, tasks drawn with the probabilities the rule gives, every
task's examples visited in whole shuffled passes, the order a function of the seed alone."""
import math
from collections import Counter

import pytest
import torch

from nlptransfer.data.task_sampling import MultiTaskDataset, task_probabilities


def test_the_rules_give_the_documented_probabilities():
    sizes = {"big": 900, "small": 100}
    assert task_probabilities(sizes, "proportional") == pytest.approx({"big": 0.9, "small": 0.1})
    # n ** (1/2): 30 against 10
    assert task_probabilities(sizes, "temperature", 2.0) == pytest.approx({"big": 0.75, "small": 0.25})
    assert task_probabilities(sizes, "temperature", 1.0) == pytest.approx({"big": 0.9, "small": 0.1})
    assert task_probabilities(sizes, "uniform") == pytest.approx({"big": 0.5, "small": 0.5})
    with pytest.raises(ValueError, match="sampling must be one of"):
        task_probabilities(sizes, "square")


class _Rows(torch.utils.data.Dataset):
    def __init__(self, n):
        self.labels, self.lengths = [0] * n, [3] * n

    def __len__(self):
        return len(self.labels)

    def __getitem__(self, i):
        return {"row": i}


def _dataset(sizes, rule, temperature=2.0):
    return MultiTaskDataset({name: _Rows(n) for name, n in sizes.items()}, {},
                            task_probabilities(sizes, rule, temperature))


def _epochs(dataset, batch_size, seed, epochs):
    generator = torch.Generator()
    out = []
    for epoch in range(epochs):
        generator.manual_seed(seed + epoch)
        out.append([[dataset[i] for i in batch] for batch in dataset.batch_sampler(batch_size, generator)])
    return out


@pytest.mark.parametrize("rule,expected", [("proportional", 0.9), ("temperature", 0.75), ("uniform", 0.5)])
def test_batch_frequencies_follow_the_rule(rule, expected):
    dataset = _dataset({"big": 900, "small": 100}, rule)
    batches = [batch for epoch in _epochs(dataset, 10, seed=0, epochs=40) for batch in epoch]
    assert len(batches) == 40 * (90 + 10)  # an epoch is one pass's worth of batches
    for batch in batches:
        assert len({task for task, _ in batch}) == 1  # never two tasks in one batch
    share = Counter(batch[0][0] for batch in batches)["big"] / len(batches)
    sigma = math.sqrt(expected * (1 - expected) / len(batches))
    assert abs(share - expected) < 4 * sigma, (rule, share)


def test_an_upsampled_task_repeats_whole_passes_and_order_depends_on_the_seed():
    dataset = _dataset({"big": 40, "small": 6}, "uniform")  # small drawn far more often than its size
    epochs = _epochs(dataset, 4, seed=3, epochs=2)
    for epoch in epochs:
        seen = [item["row"] for batch in epoch if batch[0][0] == "small" for _, item in batch]
        assert len(seen) > 6
        whole = len(seen) // 6 * 6
        for start in range(0, whole, 6):  # each consecutive run of 6 rows is one whole pass
            assert sorted(seen[start:start + 6]) == list(range(6))
    assert _epochs(dataset, 4, seed=3, epochs=2) == epochs
    assert _epochs(dataset, 4, seed=4, epochs=2) != epochs
    assert epochs[0] != epochs[1]  # re-seeded per epoch: a new order each epoch


def test_collate_refuses_mixed_tasks_and_marks_the_task():
    dataset = MultiTaskDataset({"a": _Rows(2), "b": _Rows(2)}, {"a": lambda items: {"labels": torch.zeros(len(items))},
                                                                 "b": None}, {"a": 0.5, "b": 0.5})
    batch = dataset.collate([dataset[0], dataset[1]])
    assert batch["task"] == "a" and batch["labels"]["task"] == "a"
    with pytest.raises(ValueError, match="mixes tasks"):
        dataset.collate([dataset[0], dataset[2]])


def test_multi_task_epochs_give_every_task_its_steps_alone():
    from nlptransfer.training.epochs import MAX_EPOCHS, epochs_for, multi_task_epochs

    # 300 and 300 examples at batch 16: 19 batches each; alone, 27 epochs x 19 = 513 steps each.
    # Counting the 38 steps of a multi-task epoch alone would give 14 epochs: 266 steps per task.
    assert epochs_for(38) == 14
    assert multi_task_epochs({"a": 19, "b": 19}, {"a": 0.5, "b": 0.5}, 1) == 27
    # gradual on 6 blocks: 7 groups joining one per 38-step epoch (266 steps) come on top of the
    # 27 x 38 = 1,026: 1,292 steps, 34 epochs
    assert multi_task_epochs({"a": 19, "b": 19}, {"a": 0.5, "b": 0.5}, 1, n_blocks=6) == 34
    # b an NER task (at least 1,000 steps): alone 53 x 19 = 1,007 steps, drawn half the time: 53 epochs
    assert multi_task_epochs({"a": 19, "b": 19}, {"a": 0.5, "b": 0.5}, 1, min_steps={"b": 1000}) == 53
    # 3,000 and 300 examples, T=2: p = 0.76 / 0.24; the small task needs 513 / 0.24 = 2,135 steps
    # of the 207 per epoch: 11 epochs (its share, 547 steps, covers its 513 alone)
    p = task_probabilities({"big": 3000, "small": 300}, "temperature", 2.0)
    assert multi_task_epochs({"big": 188, "small": 19}, p, 1) == 11
    # every task gets at least its steps alone, unless the epochs hit the cap; accumulation and
    # processes (batches per step) count as they do in the loop
    for big, small, per_step in [(500, 3, 1), (40, 40, 2), (1000, 250, 4), (7, 2, 1), (120, 60, 1)]:
        p = task_probabilities({"big": big, "small": small}, "temperature", 2.0)
        epochs = multi_task_epochs({"big": big, "small": small}, p, per_step)
        total = epochs * math.ceil((big + small) / per_step)
        for name, n in (("big", big), ("small", small)):
            alone = epochs_for(math.ceil(n / per_step)) * math.ceil(n / per_step)
            assert p[name] * total >= alone - 1e-9 or epochs == MAX_EPOCHS, (big, small, per_step, name)


def test_multi_task_patience_spans_min_stale_steps_of_each_task():
    from nlptransfer.training.epochs import MIN_STALE_STEPS, multi_task_patience

    assert MIN_STALE_STEPS == 100  # the hand-worked numbers below assume it
    # 207 steps an epoch; the small task's share is 0.24 x 207 = 49.7 steps: 100 of them take 3 epochs
    p = task_probabilities({"big": 3000, "small": 300}, "temperature", 2.0)
    assert multi_task_patience(3, {"big": 188, "small": 19}, p, 1) == 3
    # 50 + 4 batches, uniform: 54 steps an epoch, 27 of each task: 4 epochs
    assert multi_task_patience(3, {"a": 50, "b": 4}, {"a": 0.5, "b": 0.5}, 1) == 4
    # two batches per optimizer step: 27 steps an epoch, 13.5 of each task: 8 epochs (27 in total would give 4)
    assert multi_task_patience(3, {"a": 50, "b": 4}, {"a": 0.5, "b": 0.5}, 2) == 8
    assert multi_task_patience(20, {"a": 50, "b": 4}, {"a": 0.5, "b": 0.5}, 1) == 20  # never below the user's
    assert multi_task_patience(None, {"a": 50, "b": 4}, {"a": 0.5, "b": 0.5}, 1) is None  # stopping off
