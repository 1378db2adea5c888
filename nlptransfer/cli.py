"""``nlptransfer train | evaluate | predict``."""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

__all__ = ["main"]

_TRAIN_FLAGS = ("task", "model", "strategy", "train", "validation", "test", "output_dir", "text_column",
                "label_column", "resume_from_checkpoint", "report_to")


def _train(args) -> None:
    from .config import load_run_config
    from .recipe import run

    fixed = {k: getattr(args, k) for k in _TRAIN_FLAGS if getattr(args, k) is not None}
    run(load_run_config(args.config, args.overrides, **fixed))


def _evaluate(args) -> None:
    from . import load

    model = load(args.model_dir)
    for column in ("text_column", "label_column", "tokens_column", "tags_column"):
        if getattr(args, column, None):
            setattr(model, column, getattr(args, column))
    model.run_dir_ = Path(args.model_dir)  # metrics-NAME.json|md land beside the model
    metrics = model.evaluate(args.data, name=args.name)
    from .reports import metrics_markdown

    print(metrics_markdown(metrics, f"{args.model_dir} on {args.data}"))


def _predict(args) -> None:
    from . import load

    texts = list(args.text or [])
    if args.file:
        texts += [line.rstrip("\n") for line in open(args.file, encoding="utf-8") if line.strip()]
    if not texts:
        raise SystemExit("Nothing to predict: pass --text TEXT (repeatable) or --file FILE (one text per line).")
    model = load(args.model_dir)
    if model.task == "ner":
        for text, entities in zip(texts, model.predict(texts)):
            print(json.dumps({"text": text, "entities": entities}))
        return
    proba = model.predict_proba(texts)
    for text, label, row in zip(texts, model.predict(texts), proba):
        print(json.dumps({"text": text, "label": label,
                          "scores": {c: round(float(p), 4) for c, p in zip(model.classes_, row)}}))


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="nlptransfer", description="Transfer learning for NLP tasks.")
    sub = parser.add_subparsers(dest="command", required=True)

    train = sub.add_parser("train", help="fine-tune, evaluate on --test, save to --output-dir")
    train.add_argument("--config", help="YAML file of config fields (flags and key=value override it)")
    for flag in _TRAIN_FLAGS:
        train.add_argument("--" + flag.replace("_", "-"), dest=flag)
    train.add_argument("overrides", nargs="*", help="key=value training options, e.g. epochs=2 lora_r=16")
    train.set_defaults(fn=_train)

    evaluate = sub.add_parser("evaluate", help="metrics of a saved model on labelled data")
    evaluate.add_argument("model_dir")
    evaluate.add_argument("--data", required=True)
    evaluate.add_argument("--name", default="test", help="names the metrics-NAME.json/.md files")
    evaluate.add_argument("--text-column")
    evaluate.add_argument("--label-column")
    evaluate.add_argument("--tokens-column")
    evaluate.add_argument("--tags-column")
    evaluate.set_defaults(fn=_evaluate)

    predict = sub.add_parser("predict", help="labels and scores (NER: entities) for texts, one JSON line each")
    predict.add_argument("model_dir")
    predict.add_argument("--text", action="append")
    predict.add_argument("--file")
    predict.set_defaults(fn=_predict)

    args = parser.parse_args(argv)
    from .checkpoints import ModelLoadError
    from .config import ConfigError
    from .data import DataError

    try:
        args.fn(args)
    except (DataError, ConfigError, ModelLoadError, FileNotFoundError) as e:
        print(f"error: {e}", file=sys.stderr)
        raise SystemExit(2) from None


if __name__ == "__main__":
    main()
