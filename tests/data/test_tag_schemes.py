import pytest

from nlptransfer.data.tag_schemes import TagError, Where, convert_all, detect_scheme, to_iob2

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
