"""predict --data: whole files in chunks, input columns and order kept, nothing overwritten by accident."""
import json
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

from nlptransfer import EntityTagger, TextClassifier, TrainConfig, load
from nlptransfer.errors import ConfigError, DataError
from nlptransfer.estimators import file_predictions
from nlptransfer.estimators.file_predictions import predict_file

CONFIG = dict(max_length=32, progress=False, batch_size=8)


@pytest.fixture(scope="module")
def spam_model(tiny_models, assets, tmp_path_factory):
    folder = tmp_path_factory.mktemp("spam") / "model"
    TextClassifier(tiny_models["bert"], "spam", "frozen", training=TrainConfig(**CONFIG),
                   output_dir=str(folder.parent / "run")).fit(assets / "spam_train.csv").save(folder)
    return load(folder), folder


@pytest.fixture(scope="module")
def ner_model(tiny_models, assets, tmp_path_factory):
    folder = tmp_path_factory.mktemp("ner") / "model"
    EntityTagger(tiny_models["roberta"], "frozen", training=TrainConfig(**CONFIG),
                 output_dir=str(folder.parent / "run")).fit(assets / "ner_train.txt").save(folder)
    return load(folder)


def _messages(n: int) -> pd.DataFrame:
    rng = np.random.default_rng(0)
    words = ["win", "free", "prize", "call", "now", "see", "you", "at", "7", "lunch", "meeting", "ok"]
    texts = [" ".join(rng.choice(words, rng.integers(2, 12))) for _ in range(n)]
    texts[3] = 'a "quoted", comma\nand a newline'  # must survive CSV quoting both ways
    return pd.DataFrame({"id": [f"m{i}" for i in range(n)], "text": texts, "source": "test"})


def test_csv_in_chunks_keeps_columns_and_order(spam_model, tmp_path, monkeypatch):
    model, _ = spam_model
    monkeypatch.setattr(file_predictions, "CHUNK_ROWS", 1000)
    seen = []
    original = type(model).predict_proba
    monkeypatch.setattr(type(model), "predict_proba", lambda self, texts: seen.append(len(texts)) or
                        original(self, texts))
    frame = _messages(10_000)
    frame.to_csv(tmp_path / "in.csv", index=False)
    assert predict_file(model, tmp_path / "in.csv", tmp_path / "out.csv", progress=False) == 10_000
    out = pd.read_csv(tmp_path / "out.csv", keep_default_na=False)
    assert list(out.columns) == ["id", "text", "source", "label"] + [f"score_{c}" for c in model.classes_]
    assert out["id"].tolist() == frame["id"].tolist() and out["text"].tolist() == frame["text"].tolist()
    # read and predicted a chunk at a time: what is held at once is 1,000 rows, not the file
    assert max(seen) <= 1000 and len(seen) >= 10 and sum(seen) >= 10_000
    monkeypatch.undo()
    assert out["label"].tolist() == model.predict(frame["text"].tolist())  # what one call gives
    np.testing.assert_allclose(out[[f"score_{c}" for c in model.classes_]].sum(1), 1.0, atol=1e-5)


def test_jsonl_gets_scores_objects_and_an_existing_output_is_kept_on_failure(spam_model, tmp_path, monkeypatch):
    model, _ = spam_model
    monkeypatch.setattr(file_predictions, "CHUNK_ROWS", 2)
    rows = [{"text": "win a free prize", "n": 1}, {"text": "see you at 7", "n": 2}, {"text": "call now", "n": 3}]
    (tmp_path / "in.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    predict_file(model, tmp_path / "in.jsonl", tmp_path / "out.jsonl", progress=False)
    got = [json.loads(line) for line in (tmp_path / "out.jsonl").read_text().splitlines()]
    assert [g["n"] for g in got] == [1, 2, 3] and set(got[0]["scores"]) == set(model.classes_)
    assert [g["label"] for g in got] == model.predict([r["text"] for r in rows])

    before = (tmp_path / "out.jsonl").read_text()
    with pytest.raises(ConfigError, match="--overwrite"):
        predict_file(model, tmp_path / "in.jsonl", tmp_path / "out.jsonl", progress=False)
    (tmp_path / "bad.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows) + "[1, 2]\n")
    with pytest.raises(DataError, match="line 4"):  # fails in the second chunk, after a first was written
        predict_file(model, tmp_path / "bad.jsonl", tmp_path / "out.jsonl", overwrite=True, progress=False)
    assert (tmp_path / "out.jsonl").read_text() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bad.jsonl", "in.jsonl", "out.jsonl"]  # no temp left


def test_ner_conll_jsonl_and_text_rows(ner_model, assets, tmp_path):
    predict_file(ner_model, assets / "ner_validation.txt", tmp_path / "out.conll", progress=False)
    source = [line for line in (assets / "ner_validation.txt").read_text().splitlines()]
    written = (tmp_path / "out.conll").read_text().splitlines()
    words = [line for line in source if line.strip() and not line.startswith("-DOCSTART-")]
    tagged = [line for line in written if line.strip() and not line.startswith("-DOCSTART-")]
    assert [t.rsplit("\t", 1)[0] for t in tagged] == words  # every line kept, a tag added
    sentences = ner_model.read(assets / "ner_validation.txt").words
    flat = [tag for tags in ner_model.predict_tags(sentences) for tag in tags]
    assert [t.rsplit("\t", 1)[1] for t in tagged] == flat

    (tmp_path / "in.jsonl").write_text(json.dumps({"tokens": ["Anna", "visited", "Paris"], "k": 1}) + "\n")
    predict_file(ner_model, tmp_path / "in.jsonl", tmp_path / "tags.jsonl", progress=False)
    row = json.loads((tmp_path / "tags.jsonl").read_text())
    assert row["k"] == 1 and row["predicted_tags"] == ner_model.predict_tags([["Anna", "visited", "Paris"]])[0]

    pd.DataFrame({"text": ["Anna Berg visited Paris.", "nothing here"]}).to_csv(tmp_path / "t.csv", index=False)
    predict_file(ner_model, tmp_path / "t.csv", tmp_path / "spans.csv", progress=False)
    spans = pd.read_csv(tmp_path / "spans.csv")["entities"].map(json.loads).tolist()
    assert spans == ner_model.predict(["Anna Berg visited Paris.", "nothing here"])


@pytest.mark.parametrize("args, words", [
    (["--data", "{in}"], "--data IN and --output OUT"),
    (["--data", "{in}", "--output", "{exists}"], "--overwrite"),
    (["--data", "{in}", "--output", "{dir}/x.parquet"], "cannot tell the format"),
    (["--data", "{dir}/missing.csv", "--output", "{dir}/o.csv"], "does not exist"),
    (["--data", "{in}", "--output", "{dir}/o.conll"], "CoNLL in gives CoNLL out"),
    (["--data", "{in}", "--output", "{dir}/o.csv", "--text-column", "body"], "no column 'body'"),
])
def test_command_line_refuses_with_exit_2(args, words, spam_model, tmp_path):
    _, folder = spam_model
    _messages(5).to_csv(tmp_path / "in.csv", index=False)
    (tmp_path / "exists.csv").write_text("keep me\n")
    values = {"in": tmp_path / "in.csv", "exists": tmp_path / "exists.csv", "dir": tmp_path}
    command = [sys.executable, "-m", "nlptransfer", "predict", str(folder)] + [a.format(**values) for a in args]
    result = subprocess.run(command, capture_output=True, text=True)
    assert result.returncode == 2 and words in result.stderr, result.stderr[-1500:]
    assert (tmp_path / "exists.csv").read_text() == "keep me\n"
    assert not (tmp_path / "o.csv").exists()
