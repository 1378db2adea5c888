"""Bad input gets errors that name the file, row and column."""
import json

import pandas as pd
import pytest

from nlptransfer.data.text_table import check_splits, label_order, read_text_table
from nlptransfer.errors import DataError


def _csv(tmp_path, name, rows, header="text,label"):
    path = tmp_path / name
    path.write_text(header + "\n" + "\n".join(rows) + "\n")
    return path


def test_reads_csv_jsonl_dataframe_and_dataset(assets):
    csv = read_text_table(assets / "spam_train.csv")
    jsonl = read_text_table(assets / "spam_train.jsonl", "message", "category")
    frame = read_text_table(pd.read_csv(assets / "spam_train.csv"))
    assert csv.texts == jsonl.texts == frame.texts and csv.labels == jsonl.labels == frame.labels
    import datasets

    ds = datasets.Dataset.from_dict({"sentence": ["good", "bad"], "y": [1, 0]},
                                    features=datasets.Features({"sentence": datasets.Value("string"),
                                                                "y": datasets.ClassLabel(names=["neg", "pos"])}))
    assert read_text_table(ds, "sentence", "y").labels == ["pos", "neg"]


def test_missing_file_and_column(tmp_path):
    with pytest.raises(DataError, match="train file .*nope.csv' does not exist"):
        read_text_table(tmp_path / "nope.csv")
    path = _csv(tmp_path, "t.csv", ["hello,ham"], header="sms,label")
    with pytest.raises(DataError, match=r"t.csv' has no column 'text' \(columns: \['sms', 'label'\]\).*text_column"):
        read_text_table(path)


def test_empty_text_names_row_and_column(tmp_path):
    path = _csv(tmp_path, "t.csv", ["hello,ham", '"",spam', "bye,ham"])
    with pytest.raises(DataError, match=r"t.csv', row 2 \(line 3\), column 'text': the text is empty"):
        read_text_table(path)


def test_non_string_text_and_missing_label(tmp_path):
    path = tmp_path / "t.jsonl"
    path.write_text(json.dumps({"text": "ok", "label": "a"}) + "\n" + json.dumps({"text": 5, "label": "b"}) + "\n")
    with pytest.raises(DataError, match=r"row 2 \(line 2\), column 'text': expected text, got int 5"):
        read_text_table(path)
    with pytest.raises(DataError, match=r"row 2, column 'label': the label is missing"):
        read_text_table(pd.DataFrame({"text": ["a", "b"], "label": ["x", None]}))


def test_bad_json_line(tmp_path):
    path = tmp_path / "t.jsonl"
    path.write_text('{"text": "ok", "label": "a"}\n{"text": oops}\n')
    with pytest.raises(DataError, match="line 2 is not valid JSON"):
        read_text_table(path)


def test_unknown_label_in_validation(tmp_path):
    train = read_text_table(_csv(tmp_path, "train.csv", ["a,pos", "b,neg"]))
    val = read_text_table(_csv(tmp_path, "val.csv", ["c,pos", "d,neutral"]), name="validation")
    with pytest.raises(DataError, match=r"val.csv', row 2 \(line 3\): label 'neutral' never occurs in the train data"):
        check_splits(train, {"validation": val})


def test_single_class_is_an_error(tmp_path):
    train = read_text_table(_csv(tmp_path, "train.csv", ["a,pos", "b,pos"]))
    with pytest.raises(DataError, match="only one class"):
        check_splits(train, {})


def test_shared_texts_warn_with_count(tmp_path):
    train = read_text_table(_csv(tmp_path, "train.csv", ["a,pos", "b,neg", "c,neg"]))
    test = read_text_table(_csv(tmp_path, "test.csv", ["a,pos", "b,neg", "z,neg"]), name="test")
    with pytest.warns(UserWarning, match="2 distinct text"):
        check_splits(train, {"test": test})


def test_label_order_is_stable():
    assert label_order(["pos", "neg", "pos"]) == ["neg", "pos"]
    assert label_order(["10", "2", "1"]) == ["1", "2", "10"]
    assert read_text_table(pd.DataFrame({"text": ["a", "b"], "label": [1.0, 0]})).labels == ["1", "0"]


def test_dataset_dict_asks_for_a_split():
    import datasets

    dd = datasets.DatasetDict({"train": datasets.Dataset.from_dict({"text": ["a"], "label": [0]})})
    with pytest.raises(DataError, match=r"pass one split, e.g. dataset\['train'\]"):
        read_text_table(dd)


def test_spam_needs_two_classes(tiny_models, tmp_path):
    from nlptransfer import TextClassifier, TrainConfig

    path = _csv(tmp_path, "t.csv", ["a,x", "b,y", "c,z"])
    with pytest.raises(DataError, match="spam task is binary"):
        TextClassifier(tiny_models["bert"], "spam", training=TrainConfig(progress=False)).fit(path)


def test_predict_rejects_non_strings_and_scores_unseen_labels(tiny_models, assets, tmp_path):
    from nlptransfer import TextClassifier, TrainConfig

    clf = TextClassifier(tiny_models["bert"], "sentiment", "frozen", output_dir=str(tmp_path),
                         training=TrainConfig(epochs=1, progress=False)).fit(assets / "sentiment_train.csv")
    with pytest.raises(TypeError, match="item 1 is NoneType"):
        clf.predict(["ok", None])
    # a label training never had is scored, with a warning: the model never predicts it (recall 0)
    with pytest.warns(UserWarning, match=r"label\(s\) \['meh'\] were not seen in training"):
        m = clf.evaluate(pd.DataFrame({"text": ["x", "y", "z"], "label": ["positive", "meh", "negative"]}))
    assert m["unseen_labels"] == ["meh"] and m["per_class"]["meh"] == {"precision": 0.0, "recall": 0.0, "f1": 0.0,
                                                                        "support": 1}
    assert m["n"] == 3 and m["confusion_matrix"]["labels"][-1] == "meh" and sum(m["confusion_matrix"]["matrix"][2]) == 1
    train = pd.read_csv(assets / "sentiment_train.csv")
    with pytest.warns(UserWarning, match="3 distinct text"):
        clf.evaluate(pd.concat([train.head(3), pd.DataFrame({"text": ["brand new text"], "label": ["positive"]})]))
