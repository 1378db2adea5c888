"""NER input: CoNLL/JSONL/DataFrame/Dataset, scheme conversion, errors naming file, sentence, token."""
import json

import pandas as pd
import pytest

from nlptransfer.data.tagged_table import check_tag_splits, read_tagged_table, tag_order
from nlptransfer.errors import DataError


def test_conll_and_jsonl_agree(assets):
    conll = read_tagged_table(assets / "ner_train.txt")  # 4 columns, -DOCSTART-, tag in the last column
    jsonl = read_tagged_table(assets / "ner_train.jsonl")
    assert len(conll) == 30 and conll.words == jsonl.words and conll.tags == jsonl.tags
    assert conll.words[0][:2] == ["Omar", "works"] and conll.tags[0][:2] == ["B-PER", "O"]
    frame = read_tagged_table(pd.DataFrame({"tokens": jsonl.words, "tags": jsonl.tags}))
    assert frame.tags == jsonl.tags
    with pytest.raises(DataError, match=r"token 1 \('Omar'\) \(line 3\): tag 'NN' is not O or PREFIX-TYPE"):
        read_tagged_table(assets / "ner_train.txt", tag_index=1)  # the POS column is no tag column


def test_dataset_with_classlabel_tags():
    import datasets

    features = datasets.Features({"tokens": datasets.Sequence(datasets.Value("string")),
                                  "ner_tags": datasets.Sequence(datasets.ClassLabel(names=["O", "B-PER", "I-PER"]))})
    ds = datasets.Dataset.from_dict({"tokens": [["Anna", "Berg", "sings"]], "ner_tags": [[1, 2, 0]]}, features=features)
    assert read_tagged_table(ds, tags_column="ner_tags").tags == [["B-PER", "I-PER", "O"]]


def test_iob1_file_is_converted(assets):
    iob1 = read_tagged_table(assets / "ner_iob1.txt")
    iob2 = read_tagged_table(assets / "ner_validation.txt")
    assert iob1.scheme == "IOB1" and iob2.scheme == "IOB2" and iob1.tags == iob2.tags


def test_errors_name_file_sentence_token(tmp_path):
    bad = tmp_path / "bad.txt"
    bad.write_text("Anna B-PER\nsings O\n\nin O\nI-LOC\n")
    with pytest.raises(DataError, match=r"bad.txt', line 5: 'I-LOC' has one column"):
        read_tagged_table(bad)
    bad.write_text("Anna B-PER\nsings O\n\nin O\nParis I-LOC\n")
    with pytest.raises(DataError, match=r"bad.txt', sentence 2, token 2 \('Paris'\) \(line 5\): 'I-LOC' continues no"):
        read_tagged_table(bad)
    with pytest.warns(UserWarning, match="repaired 1 tag"):
        assert read_tagged_table(bad, repair=True).tags[1] == ["O", "B-LOC"]
    rows = tmp_path / "rows.jsonl"
    rows.write_text(json.dumps({"tokens": ["a", "b"], "tags": ["O"]}) + "\n")
    with pytest.raises(DataError, match="sentence 1: 2 tokens but 1 tags"):
        read_tagged_table(rows)
    rows.write_text(json.dumps({"tokens": ["a"], "tags": ["PERSON"]}) + "\n")
    with pytest.raises(DataError, match="'PERSON' is not O or PREFIX-TYPE"):
        read_tagged_table(rows)
    with pytest.raises(DataError, match="has no column 'tokens'"):
        read_tagged_table(pd.DataFrame({"words": [["a"]], "tags": [["O"]]}))


def test_tag_order_and_unknown_tags(assets, tmp_path):
    train = read_tagged_table(assets / "ner_train.txt")
    assert tag_order(train.tags) == ["O", "B-LOC", "I-LOC", "B-ORG", "I-ORG", "B-PER", "I-PER"]
    other = tmp_path / "v.txt"
    other.write_text("Zed B-MISC\n")
    with pytest.warns(UserWarning, match=r"sentence 1, token 1 \('Zed'\): tag\(s\) \['B-MISC'\] \(1 tokens\) never "
                                         r"occur in the train data.*recall 0"):
        assert check_tag_splits(train, {"test": read_tagged_table(other, name="test")}) == tag_order(train.tags)


