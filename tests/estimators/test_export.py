"""ONNX export: the exported folder predicts what PyTorch predicts, for every family and task."""
import subprocess
import sys
import threading
import time

import numpy as np
import pandas as pd
import pytest
from conftest import FAMILIES

from nlptransfer import EntityTagger, TextClassifier, TrainConfig, load
from nlptransfer.errors import ConfigError
from nlptransfer.models.onnx_net import OnnxNet

pytest.importorskip("onnxruntime")
CFG = dict(epochs=2, batch_size=8, max_length=32, progress=False, learning_rate=1e-3)


# every family once; LoRA (merged before export) on GPT-2, whose transposed Conv1D weights are the
# merge most likely to go wrong
@pytest.mark.parametrize("family, strategy", [(f, "full") for f in FAMILIES] + [("gpt2", "lora")])
def test_classifier_export_matches_pytorch(family, strategy, tiny_models, assets, tmp_path):
    clf = TextClassifier(tiny_models[family], "spam", strategy, training=TrainConfig(**CFG),
                         output_dir=str(tmp_path / "run")).fit(assets / "spam_train.csv", assets / "spam_validation.csv")
    exported = load(clf.export(tmp_path / "onnx"))
    assert isinstance(exported.model_, OnnxNet)
    texts = pd.read_csv(assets / "spam_validation.csv")["text"].tolist() + ["", "x " * 200]  # empty and truncated
    np.testing.assert_allclose(exported.predict_proba(texts), clf.predict_proba(texts), atol=1e-4)
    assert exported.predict(texts) == clf.predict(texts)
    assert exported.threshold_ == clf.threshold_ and exported.classes_ == clf.classes_
    with pytest.raises(ConfigError, match="already exported"):
        exported.export(tmp_path / "again")


def test_an_export_runs_its_batches_on_several_threads_and_keeps_the_order(tiny_models, assets, tmp_path):
    clf = TextClassifier(tiny_models["bert"], "spam", "frozen", training=TrainConfig(**CFG),
                         output_dir=str(tmp_path / "run")).fit(assets / "spam_train.csv")
    exported = load(clf.export(tmp_path / "onnx"))
    net, threads = exported.model_, set()
    session, net.parallel_batches = net.session, 3

    class Recording:  # the real session, noting which thread ran each batch
        def run(self, *args):
            threads.add(threading.get_ident())
            time.sleep(0.02)  # long enough that the other workers take the next batches
            return session.run(*args)

    net.session = Recording()
    texts = pd.read_csv(assets / "spam_train.csv")["text"].tolist()  # lengths vary: several batches
    np.testing.assert_allclose(exported.predict_proba(texts), clf.predict_proba(texts), atol=1e-4)
    assert len(threads) >= 2


@pytest.mark.parametrize("family", ["bert", "gpt2"])
def test_tagger_export_gives_the_same_spans(family, tiny_models, assets, tmp_path):
    tagger = EntityTagger(tiny_models[family], "full", training=TrainConfig(**CFG), output_dir=str(tmp_path / "run"))
    tagger.fit(assets / "ner_train.txt")
    exported = load(tagger.export(tmp_path / "onnx"))
    texts = ["Anna Berg visited Paris in July.", "Nothing to see here", " ".join(["word"] * 60)]  # one spans windows
    assert exported.predict(texts) == tagger.predict(texts)
    sentences = tagger.read(assets / "ner_validation.txt").words
    assert exported.predict_tags(sentences) == tagger.predict_tags(sentences)


def test_export_refuses_a_full_folder_and_a_bad_quantisation(tiny_models, assets, tmp_path):
    clf = TextClassifier(tiny_models["bert"], "sentiment", "frozen", training=TrainConfig(max_length=32, progress=False),
                         output_dir=str(tmp_path / "run")).fit(assets / "sentiment_train.csv")
    clf.save(tmp_path / "saved")
    (tmp_path / "busy").mkdir()
    (tmp_path / "busy" / "keep.txt").write_text("mine")
    result = subprocess.run([sys.executable, "-m", "nlptransfer", "export", str(tmp_path / "saved"),
                             "--output-dir", str(tmp_path / "busy")], capture_output=True, text=True)
    assert result.returncode == 2 and "--overwrite" in result.stderr
    assert (tmp_path / "busy" / "keep.txt").read_text() == "mine"
    with pytest.raises(ConfigError, match="int8"):
        clf.export(tmp_path / "q", quantize="int4")
    result = subprocess.run([sys.executable, "-m", "nlptransfer", "export", str(tmp_path / "saved"),
                             "--output-dir", str(tmp_path / "int8"), "--quantize", "int8"],
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stderr[-2000:]
    quantized = load(tmp_path / "int8")
    assert quantized.predict(["a great film"])[0] in clf.classes_


@pytest.mark.slow
def test_int8_keeps_99_percent_of_labels_on_the_bundled_sample(tmp_path):
    """A real checkpoint (all-MiniLM-L6-v2, frozen) on the 400-message test sample."""
    from nlptransfer.samples import sms_spam

    data = sms_spam()
    clf = TextClassifier("minilm-l6", "spam", "frozen", training=TrainConfig(progress=False),
                         output_dir=str(tmp_path / "run")).fit(data["train"], data["validation"])
    texts = pd.read_csv(data["test"])["text"].tolist()
    fp32, int8 = load(clf.export(tmp_path / "fp32")), load(clf.export(tmp_path / "int8", quantize="int8"))
    reference = clf.predict(texts)
    assert fp32.predict(texts) == reference
    agreement = np.mean(np.asarray(int8.predict(texts)) == np.asarray(reference))
    assert agreement >= 0.99, agreement
