"""evaluate(..., extra_metrics=[...]): modules of the Hugging Face evaluate library join the report."""
import pytest

from nlptransfer import EntityTagger, TextClassifier, TrainConfig
from nlptransfer.errors import ConfigError

# A local metric script, as a user offline would write one (evaluate.load reads it from disk).
SCRIPT = '''
import datasets
import evaluate


class Agreement(evaluate.Metric):
    def _info(self):
        return evaluate.MetricInfo(description="share of equal items", citation="", inputs_description="",
                                   features=datasets.Features({"predictions": datasets.Value("int64"),
                                                               "references": datasets.Value("int64")}))

    def _compute(self, predictions, references):
        return {"share": sum(str(p) == str(r) for p, r in zip(predictions, references)) / len(references)}
'''


@pytest.fixture
def metric_script(tmp_path):
    path = tmp_path / "agreement" / "agreement.py"
    path.parent.mkdir()
    path.write_text(SCRIPT)
    return str(path)


def test_classification_reports_an_evaluate_module(metric_script, tiny_models, assets, tmp_path):
    clf = TextClassifier(tiny_models["bert"], "sentiment", "frozen", training=TrainConfig(max_length=32, progress=False),
                         output_dir=str(tmp_path / "run")).fit(assets / "sentiment_train.csv")
    metrics = clf.evaluate(assets / "sentiment_validation.csv", extra_metrics=[metric_script])
    assert metrics["agreement/share"] == pytest.approx(metrics["accuracy"])  # fed the same decisions
    assert '"agreement/share"' in (tmp_path / "run" / "metrics-test.json").read_text()


def test_ner_feeds_tag_lists(metric_script, tiny_models, assets, tmp_path):
    import evaluate

    tagger = EntityTagger(tiny_models["bert"], "frozen", training=TrainConfig(max_length=32, progress=False),
                          output_dir=str(tmp_path / "run")).fit(assets / "ner_train.txt")
    seen = {}

    class Spy:  # an already loaded module works as well as a path
        name = "spy"

        def compute(self, predictions, references):
            seen.update(predictions=predictions, references=references)
            return {"sentences": len(references)}

    metrics = tagger.evaluate(assets / "ner_validation.txt", extra_metrics=[Spy()])
    truth = tagger.read(assets / "ner_validation.txt").tags
    assert seen["references"] == truth and metrics["spy/sentences"] == len(truth)
    assert [len(p) for p in seen["predictions"]] == [len(t) for t in truth]
    assert evaluate  # the library is importable offline


def test_a_metric_that_cannot_load_is_named(tiny_models, assets, tmp_path):
    clf = TextClassifier(tiny_models["bert"], "sentiment", "frozen", training=TrainConfig(max_length=32, progress=False),
                         output_dir=str(tmp_path / "run")).fit(assets / "sentiment_train.csv")
    with pytest.raises(ConfigError, match="no_such_metric_here"):
        clf.evaluate(assets / "sentiment_validation.csv", extra_metrics=[str(tmp_path / "no_such_metric_here.py")])
