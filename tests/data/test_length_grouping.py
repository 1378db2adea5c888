"""Length-grouped training batches: transformers' batches, in random order."""
import torch
from transformers.trainer_pt_utils import get_length_grouped_indices

from nlptransfer.data.batching import LengthGroupedBatches, train_loader

SIZE = 32


def _lengths(n=2003, seed=0):
    return torch.randint(1, 120, (n,), generator=torch.Generator().manual_seed(seed)).tolist()


def _batches(order, size=SIZE):
    return [order[i:i + size] for i in range(0, len(order), size)]


def _nonincreasing_share(lengths, batches):
    """Share of consecutive full batches whose longest text is no longer than the previous one's."""
    tops = [max(lengths[i] for i in b) for b in batches if len(b) == SIZE]
    return sum(b <= a for a, b in zip(tops, tops[1:])) / (len(tops) - 1)


def test_same_batches_as_transformers_but_not_swept_from_long_to_short():
    lengths = _lengths()
    ours = _batches(list(LengthGroupedBatches(lengths, SIZE, torch.Generator().manual_seed(3))))
    theirs = _batches(get_length_grouped_indices(lengths, SIZE, generator=torch.Generator().manual_seed(3)))
    # the same groups (so the same padding), each index once
    assert sorted(map(sorted, ours)) == sorted(map(sorted, theirs))
    assert sorted(i for b in ours for i in b) == list(range(len(lengths)))
    # transformers walks each mega-batch from long to short; ours is in random order
    assert _nonincreasing_share(lengths, theirs) > 0.9
    assert 0.25 < _nonincreasing_share(lengths, ours) < 0.75
    # the longest text's batch first; the short last batch (2003 = 62 x 32 + 19) last
    assert max(lengths) in [lengths[i] for i in ours[0]]
    assert len(ours[-1]) == 2003 % SIZE and all(len(b) == SIZE for b in ours[:-1])


def test_order_follows_the_generator_only():
    lengths = _lengths(500)
    draw = lambda seed: list(LengthGroupedBatches(lengths, SIZE, torch.Generator().manual_seed(seed)))  # noqa: E731
    assert draw(7) == draw(7)
    assert draw(7) != draw(8)


def test_train_loader_batches_are_the_groups():
    class Rows(torch.utils.data.Dataset):
        lengths = _lengths(2000)

        def __len__(self):
            return len(self.lengths)

        def __getitem__(self, i):
            return i

    loader = train_loader(Rows(), SIZE, lambda rows: rows, generator=torch.Generator().manual_seed(1),
                          group_by_length=True)
    got = [sorted(b) for b in loader]
    expected = _batches(list(LengthGroupedBatches(Rows.lengths, SIZE, torch.Generator().manual_seed(1))))
    assert got == [sorted(b) for b in expected]
    # a batch spans a narrow band of lengths: far less padding than random batches
    spread = sum(max(Rows.lengths[i] for i in b) - min(Rows.lengths[i] for i in b) for b in got) / len(got)
    assert spread < 20
