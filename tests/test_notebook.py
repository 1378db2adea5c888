"""Every notebook runs end to end (in a scratch folder, so runs/ lands there), and leaves behind
what it says it made."""
import json
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

NOTEBOOKS = Path(__file__).resolve().parents[1] / "notebooks"


def _execute(name: str, folder: Path) -> nbformat.NotebookNode:
    nb = nbformat.read(NOTEBOOKS / name, as_version=4)
    NotebookClient(nb, timeout=900, kernel_name="python3", resources={"metadata": {"path": str(folder)}}).execute()
    errors = [o for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", []) if o.output_type == "error"]
    assert not errors, errors
    return nb


def _text(cell) -> str:
    return "".join(o.get("text", "") + o.get("data", {}).get("text/plain", "") for o in cell.get("outputs", []))


def test_every_notebook_is_tested():
    assert {p.name for p in NOTEBOOKS.glob("*.ipynb")} == {"quickstart.ipynb", "ner.ipynb", "compare.ipynb",
                                                           "deploy.ipynb", "choose.ipynb"}


def test_quickstart_executes(tmp_path):
    _execute("quickstart.ipynb", tmp_path)
    assert (tmp_path / "runs" / "quickstart-spam-merged" / "backbone" / "config.json").exists()


def test_ner_notebook_finds_the_entities(tmp_path):
    nb = _execute("ner.ipynb", tmp_path)
    metrics = json.loads((tmp_path / "runs" / "notebook-ner" / "metrics-test.json").read_text())
    # The templated names are easy: a tagger that learned nothing scores 0, one that learned them ~1.
    assert metrics["split"] == "test" and metrics["f1"] > 0.8
    spans = _text(next(c for c in nb.cells if "text[e['start']:e['end']]" in c.source))
    assert "PER 'Eva Lind'" in spans and "LOC 'Prague'" in spans
    assert (tmp_path / "runs" / "notebook-ner-model" / "nlptransfer.json").exists()


def test_compare_notebook_writes_the_report(tmp_path):
    _execute("compare.ipynb", tmp_path)
    out = tmp_path / "runs" / "notebook-compare"
    results = (out / "results.csv").read_text().splitlines()
    # frozen x 2 seeds x 2 fractions, plus the classic baseline's 2 seeds x 2 fractions
    assert len(results) == 1 + 8 and results[0].startswith("model,strategy,fraction,seed")
    assert (out / "report.html").stat().st_size > 10_000 and (out / "plots" / "learning_curve.png").exists()


def test_choose_notebook_recommends_then_keeps_the_best_on_validation(tmp_path):
    nb = _execute("choose.ipynb", tmp_path)
    ranking = json.loads((tmp_path / "runs" / "notebook-recommend" / "recommend.json").read_text())
    ranked = {c["strategy"] for c in ranking["candidates"]}  # one checkpoint: every pretrained strategy, once
    assert len(ranking["candidates"]) == len(ranked) == 6 and {"full", "frozen", "contrastive"} <= ranked
    assert (tmp_path / "runs" / "notebook-recommend" / "recommend.png").exists()
    auto = json.loads((tmp_path / "runs" / "notebook-auto" / "auto.json").read_text())
    scores = {(r["model"], r["strategy"]): r["validation"] for r in auto["rows"]}
    # a transformer candidate and the classic model trained; the kept one scored best on validation
    assert len(scores) == 2 and ("classic", "classic") in scores
    assert scores[(auto["model"], auto["strategy"])] == max(scores.values())
    saved = json.loads((tmp_path / "runs" / "notebook-auto-model" / "nlptransfer.json").read_text())
    assert saved["strategy"] == auto["strategy"]
    labels = _text(nb.cells[-1])
    assert "'spam'" in labels and "'ham'" in labels


@pytest.mark.filterwarnings("ignore::DeprecationWarning")
def test_deploy_notebook_exports_predicts_and_serves(tmp_path):
    pytest.importorskip("onnxruntime")
    pytest.importorskip("fastapi")
    nb = _execute("deploy.ipynb", tmp_path)
    import pandas as pd

    labelled = pd.read_csv(tmp_path / "runs" / "labelled.csv")
    assert list(labelled.columns[:2]) == ["id", "text"] and labelled["id"].tolist() == list(range(400))
    served = _text(next(c for c in nb.cells if "answer.json()" in c.source))
    assert "'label': 'spam'" in served and "'label': 'ham'" in served
    assert "422" in _text(next(c for c in nb.cells if "not a list" in c.source))
