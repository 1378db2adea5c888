"""One run on the real offline default checkpoint (all-MiniLM-L6-v2) and the bundled sample."""
from pathlib import Path

import pandas as pd

from nlptransfer import TextClassifier, TrainConfig, load

SAMPLES = Path(__file__).resolve().parents[2] / "nlptransfer" / "samples"


def test_minilm_l6_learns_spam_and_round_trips(tmp_path):
    train = pd.read_csv(SAMPLES / "sms_spam_train.csv").head(400)
    clf = TextClassifier("minilm-l6", "spam", "full", output_dir=str(tmp_path / "run"),
                         training=TrainConfig(epochs=1, progress=False, batch_size=16))
    clf.fit(train, SAMPLES / "sms_spam_validation.csv")
    metrics = clf.evaluate(SAMPLES / "sms_spam_test.csv")
    assert metrics["positive_f1"] >= 0.75, metrics  # a random or constant model scores far lower
    texts = ["WIN a FREE prize now, text CLAIM to 80080", "are we still meeting for lunch?"]
    assert clf.predict(texts) == ["spam", "ham"]
    again = load(clf.save(tmp_path / "model"))
    assert (again.predict_proba(texts) == clf.predict_proba(texts)).all()
