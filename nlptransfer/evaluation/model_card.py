"""A model card (README.md in the Hugging Face model-card format) for a saved model folder.

Written from what the folder holds, never from memory of the run: nlptransfer.json (task,
labels, base model, strategy, threshold), config.yaml (the settings), history.json (epochs) and
every metrics-NAME.json, so ``nlptransfer evaluate`` refreshes it when it adds metrics.
"""
from __future__ import annotations

import json
from pathlib import Path

from ..atomic_files import atomic_write_text

__all__ = ["write_model_card", "model_card"]

PIPELINE_TAG = {"text-classifier": "text-classification", "entity-tagger": "token-classification"}
PRIMARY = {"spam": "positive_f1", "sentiment": "macro_f1", "ner": "f1"}


def _yaml_list(items) -> str:
    return "".join(f"\n- {item}" for item in items)


def _metrics(folder: Path) -> dict[str, dict]:
    out = {}
    for path in sorted(folder.glob("metrics-*.json")):
        try:
            out[path.stem.removeprefix("metrics-")] = json.loads(path.read_text())
        except (OSError, json.JSONDecodeError):
            continue  # a damaged metrics file is left out of the card, not fatal to saving
    return out


def _fmt(value) -> str:
    return f"{value:.4f}" if isinstance(value, float) else str(value)


def model_card(folder: str | Path) -> str:
    import yaml

    folder = Path(folder)
    meta = json.loads((folder / "nlptransfer.json").read_text())
    config = yaml.safe_load((folder / "config.yaml").read_text()) if (folder / "config.yaml").exists() else {}
    history = json.loads((folder / "history.json").read_text()) if (folder / "history.json").exists() else []
    metrics = _metrics(folder)
    if meta["kind"] == "multi-task":
        return _multi_task_card(folder, meta, history)
    task, primary = meta["task"], PRIMARY.get(meta["task"], "accuracy")
    classic = meta.get("format") == "classic"  # no checkpoint behind it
    base = "no checkpoint" if classic else meta["model"]
    hub_like = not classic and "/" in base and not Path(base).exists()  # a hub id, not a local folder
    header = ["---", "library_name: nlptransfer", f"pipeline_tag: {PIPELINE_TAG[meta['kind']]}",
              f"tags:{_yaml_list(['nlptransfer', task, meta['strategy']])}"]
    if hub_like:
        header.append(f"base_model: {base}")
    results = [(name, m) for name, m in metrics.items() if primary in m]
    if results:
        header.append("model-index:\n- name: " + folder.name + "\n  results:")
        for name, m in results:
            header.append(f"  - task:\n      type: {PIPELINE_TAG[meta['kind']]}\n    dataset:\n      name: {name}\n"
                          f"      type: {name}\n    metrics:\n    - type: {primary}\n      value: {m[primary]:.4f}")
    header.append("---")
    training = config.get("training") or config  # config.yaml holds the training settings at its top level
    count = meta["parameters"]
    lines = header + ["", f"# {folder.name}", "",
                      (f"A {task} model trained with [nlptransfer](https://pypi.org/project/nlptransfer/)'s `classic` "
                       f"strategy: no transformer, {history[0]['head'] if history else 'logistic regression'}."
                       if classic else
                       f"A {task} model fine-tuned with [nlptransfer](https://pypi.org/project/nlptransfer/) from "
                       f"`{base}` with the `{meta['strategy']}` strategy."), "",
                      "## Model", "",
                      "- base model: none" if classic else
                      f"- base model: `{base}` ({meta['model_type']}), pooling: {meta.get('pooling')}",
                      f"- strategy: `{meta['strategy']}`; trainable parameters {count['trainable']:,} of "
                      f"{count['total']:,} ({100 * count['trainable'] / max(count['total'], 1):.2f}%)",
                      f"- labels: {', '.join(meta['classes'])}"]
    if meta.get("positive_label"):
        lines.append(f"- decision: `{meta['positive_label']}` when its probability is at least "
                     f"{meta.get('threshold') if meta.get('threshold') is not None else 0.5:.3g} (a threshold "
                     f"other than 0.5 is kept only when it beat 0.5 out of bag on validation)")
    lines += ["", "## Training", "",
              "- data: " + ", ".join(f"{split} `{config.get(split) or 'passed from Python'}`"
                                     for split in ("train", "validation")),
              *([f"- adaptive pretraining: task (the base model's own LM objective on the training texts first, "
                 f"{training.get('adapt_epochs') or 'auto'} epochs)"] if training.get("adapt") == "task" else []),
              f"- epochs run: {len(history)}" + (f" (best: {_best(history)})" if _best(history) else ""),
              "- settings: " + ", ".join(f"{k}={training.get(k)}" for k in
                                         ("epochs", "batch_size", "learning_rate", "max_length", "long_texts", "seed")
                                         if k in training)]
    lines += ["", "## Evaluation", ""]
    if not metrics:
        lines.append("No metrics yet: `nlptransfer evaluate FOLDER --data test.csv` adds them here.")
    for name, m in metrics.items():
        value = m.get(primary)
        interval = (m.get("ci95") or {}).get(primary)
        shown = _fmt(value) + (f" (95% bootstrap interval {interval[0]:.4f} to {interval[1]:.4f})" if interval else "")
        lines.append(f"- **{name}**: {primary} {shown}")
    lines += ["", "## Limitations", "",
              f"- Texts are read up to {training.get('max_length', 'max_length')} tokens "
              f"(long_texts={training.get('long_texts', 'truncate')}); "
              + _truncation(metrics),
              "- Scores hold for data like the evaluation sets above; check on your own data before relying on it.",
              "", "## Use", "", "```python", "from nlptransfer import load", "",
              f'model = load("{folder.name}")',
              'model.predict(["some text"])' if meta["kind"] == "text-classifier" else
              'model.predict("Angela Merkel visited Paris.")', "```", ""]
    return "\n".join(lines)


def _multi_task_card(folder: Path, meta: dict, history: list[dict]) -> str:
    """One backbone, several heads: each task with its labels and its own metrics (tasks/NAME/)."""
    lines = ["---", "library_name: nlptransfer", f"tags:{_yaml_list(['nlptransfer', 'multi-task', meta['strategy']])}",
             "---", "", f"# {folder.name}", "",
             f"A multi-task model fine-tuned with [nlptransfer](https://pypi.org/project/nlptransfer/) from "
             f"`{meta['model']}` ({meta['model_type']}) with the `{meta['strategy']}` strategy: one backbone, a "
             f"head per task.", "", f"- epochs run: {len(history)}" + (f" (best: {_best(history)})" if _best(history)
                                                                      else ""), "", "## Tasks", ""]
    for name, task in meta["tasks"].items():
        primary = PRIMARY.get(task["task"], "accuracy")
        scores = [f"{split} {primary} {_fmt(m.get(primary))}" for split, m in _metrics(folder / "tasks" / name).items()]
        lines.append(f"- **{name}** ({task['task']}): labels {', '.join(meta['classes'][name])}"
                     + (f"; {'; '.join(scores)}" if scores else ""))
    lines += ["", "## Use", "", "```python", "from nlptransfer import load", "", f'model = load("{folder.name}")',
              f'model.predict("{next(iter(meta["tasks"]))}", ["some text"])',
              f'model.export_task("{next(iter(meta["tasks"]))}", "single-task-folder")', "```", ""]
    return "\n".join(lines)


def _best(history: list[dict]) -> int | None:
    scored = [h for h in history if h.get("validation_score") is not None]
    return max(scored, key=lambda h: h["validation_score"])["epoch"] if scored else None


def _truncation(metrics: dict) -> str:
    counts = [f"{m['texts_over_max_length']} {name} texts were longer" for name, m in metrics.items()
              if m.get("texts_over_max_length")]
    return "; ".join(counts) + "." if counts else "no evaluated text was longer."


def write_model_card(folder: str | Path) -> Path:
    """Write (or refresh) ``folder/README.md``."""
    path = Path(folder) / "README.md"
    atomic_write_text(path, model_card(folder))
    return path
