import itertools

import numpy as np
import pytest

from nlptransfer.data.tag_schemes import (TagError, Where, best_valid_tags, convert_all, detect_scheme,
                                          lenient_iob2, to_iob2)

W = Where("train file 'x.txt'", 3)


def test_detects_and_converts_iob1():
    iob1 = [["I-PER", "I-PER", "O", "I-LOC"], ["I-LOC", "B-LOC", "O"]]
    tags, scheme = convert_all(iob1, [W, W])
    assert scheme == "IOB1"
    assert tags == [["B-PER", "I-PER", "O", "B-LOC"], ["B-LOC", "B-LOC", "O"]]


def test_detects_and_converts_bioes_and_bilou():
    assert convert_all([["S-PER", "O", "B-ORG", "I-ORG", "E-ORG"]], [W]) == \
        ([["B-PER", "O", "B-ORG", "I-ORG", "I-ORG"]], "BIOES")
    assert convert_all([["U-PER", "B-LOC", "L-LOC"]], [W])[0] == [["B-PER", "B-LOC", "I-LOC"]]


def test_iob2_stays_as_is():
    tags = [["B-PER", "I-PER", "O", "B-LOC"], ["O", "B-MISC"]]
    assert detect_scheme(tags, [W, W]) == "IOB2" and convert_all(tags, [W, W])[0] == tags


def test_strict_iob2_error_names_sentence_and_token():
    with pytest.raises(TagError, match=r"x.txt', sentence 3, token 3 \('Paris'\): 'I-LOC' continues no LOC"):
        to_iob2(["B-PER", "O", "I-LOC"], "IOB2", W, words=["Angela", "visited", "Paris"])


def test_repair_counts_and_warns():
    with pytest.warns(UserWarning, match="repaired 2 tag"):
        tags, _ = convert_all([["B-PER", "O", "I-LOC", "I-PER"]], [W], repair=True)
    assert tags == [["B-PER", "O", "B-LOC", "B-PER"]]


@pytest.mark.parametrize("bad,message", [("PER", "not O or PREFIX-TYPE"), ("X-PER", "not O or PREFIX-TYPE"),
                                         ("B-", "not O or PREFIX-TYPE"), (3, "is a int, not a string")])
def test_bad_tags(bad, message):
    with pytest.raises(TagError, match=message):
        convert_all([["O", bad]], [W])


TAGS = ["O", "B-PER", "I-PER", "B-LOC", "I-LOC"]


def _valid(tags):
    return lenient_iob2(tags) == tags


def test_best_valid_tags_repairs_an_orphan_inside_tag_by_probability():
    # word 2's argmax is I-PER after O: invalid. Which repair wins depends on the numbers.
    lp = np.log(np.array([[0.6, 0.4, 0.0, 0.0, 0.0], [0.1, 0.2, 0.7, 0.0, 0.0]]) + 1e-9)
    assert [TAGS[i] for i in best_valid_tags(lp, TAGS)] == ["B-PER", "I-PER"]  # 0.4 * 0.7 > 0.6 * 0.2
    lp = np.log(np.array([[0.9, 0.1, 0.0, 0.0, 0.0], [0.3, 0.1, 0.6, 0.0, 0.0]]) + 1e-9)
    assert [TAGS[i] for i in best_valid_tags(lp, TAGS)] == ["O", "O"]  # 0.9 * 0.3 > 0.1 * 0.6
    # I-LOC after B-PER is invalid too: the type must continue
    lp = np.log(np.array([[0.0, 0.9, 0.0, 0.1, 0.0], [0.0, 0.0, 0.45, 0.0, 0.55]]) + 1e-9)
    assert [TAGS[i] for i in best_valid_tags(lp, TAGS)] == ["B-PER", "I-PER"]


def test_best_valid_tags_is_the_most_probable_valid_sequence():
    rng = np.random.default_rng(0)
    for n in (1, 2, 3, 4):
        for _ in range(30):
            lp = np.log(rng.dirichlet(np.ones(len(TAGS)) * 0.3, size=n) + 1e-12)
            best = best_valid_tags(lp, TAGS)
            # brute force over every sequence: the decode is valid and no valid one scores higher
            scores = {seq: sum(lp[t, j] for t, j in enumerate(seq))
                      for seq in itertools.product(range(len(TAGS)), repeat=n) if _valid([TAGS[j] for j in seq])}
            assert _valid([TAGS[i] for i in best])
            assert np.isclose(sum(lp[t, j] for t, j in enumerate(best)), max(scores.values()))
            if _valid([TAGS[j] for j in lp.argmax(1)]):
                assert best == lp.argmax(1).tolist()  # a valid argmax is kept as it is
    assert best_valid_tags(np.zeros((0, len(TAGS))), TAGS) == []
