"""``nlptransfer train | evaluate | predict | compare | recommend | adapt | export | serve | report | options``."""
from __future__ import annotations

import argparse
import dataclasses
import json
import sys
from pathlib import Path

from .config import RunConfig, TrainConfig, describe_options, load_run_config
from .errors import ConfigError, exit_on_user_error
from .strategies import NEURAL
from .task_types import TASK_TYPES

__all__ = ["main"]

_TRAIN_FLAGS = ("task", "model", "strategy", "train", "validation", "test", "output_dir", "text_column",
                "label_column", "resume_from_checkpoint", "report_to")


def _train(args) -> None:
    from .recipe import run

    fixed = {k: getattr(args, k) for k in _TRAIN_FLAGS if getattr(args, k) is not None}
    run(load_run_config(args.config, args.overrides, **fixed))


def _evaluate(args) -> None:
    from .estimators.fitted import load
    from .evaluation.metric_files import metrics_markdown, write_metrics

    model = load(args.model_dir)
    run = model.run_config_
    if model.task == "ner":
        from .data.tagged_table import read_tagged_table

        table = read_tagged_table(args.data, args.tokens_column or run.tokens_column,
                                  args.tags_column or run.tags_column, tag_index=run.tag_column_index, name=args.name)
    else:
        from .data.text_table import read_text_table

        table = read_text_table(args.data, args.text_column or run.text_column, args.label_column or run.label_column,
                                name=args.name)
    metrics = model.evaluate(table, name=args.name)
    write_metrics(metrics, args.model_dir, args.name)  # metrics-NAME.json|md land beside the model
    print(metrics_markdown(metrics, f"{args.model_dir} on {args.data}"))


def _predict(args) -> None:
    from .data.source_files import lines_of, read_source_text
    from .estimators.fitted import load

    if args.data or args.output:
        if not (args.data and args.output) or args.text or args.file:
            raise ConfigError("Predicting a file takes --data IN and --output OUT (and no --text/--file).")
        from .estimators.file_predictions import check_paths, predict_file

        check_paths(args.data, args.output, args.overwrite)  # before the model loads
        model = load(args.model_dir)
        count = predict_file(model, args.data, args.output, text_column=args.text_column, overwrite=args.overwrite)
        print(f"{count} rows predicted: {args.output}")
        return
    texts = list(args.text or [])
    if args.file:
        text = read_source_text(args.file, f"file '{args.file}'", needs="one text per line")
        texts += [line for line in lines_of(text) if line.strip()]
    if not texts:
        raise ConfigError("Nothing to predict: pass --text TEXT (repeatable) or --file FILE (one text per line).")
    model = load(args.model_dir)
    if model.task == "ner":
        for text, entities in zip(texts, model.predict(texts)):
            print(json.dumps({"text": text, "entities": entities}))
        return
    proba = model.predict_proba(texts)
    for text, label, row in zip(texts, model.predict(texts), proba):
        print(json.dumps({"text": text, "label": label,
                          "scores": {c: round(float(p), 4) for c, p in zip(model.classes_, row)}}))


def _compare(args) -> None:
    from .comparison.grid import compare

    def listed(text: str) -> list[str]:
        return [x.strip() for x in text.split(",") if x.strip()]

    try:
        fractions = [float(f) for f in listed(args.train_fractions)]
    except ValueError:
        raise ConfigError(f"--train-fractions must be numbers like 0.1,0.5,1; got {args.train_fractions!r}.") from None
    training = load_run_config(args.config, args.overrides).training
    summary = compare(args.task, args.train, args.validation, args.test, models=listed(args.models),
                      strategies=listed(args.strategies), seeds=args.seeds, train_fractions=fractions,
                      output_dir=args.output_dir, training=training, classic=not args.no_classic,
                      text_column=args.text_column, label_column=args.label_column, adapt=listed(args.adapt),
                      augment=listed(args.augment))
    for gain in summary["gains"]:
        print(f"{gain['model']} {gain['strategy']} @ {gain['fraction']:g}: {gain['metric']} {gain['gain']:+.4f} "
              f"vs {gain['reference']} [{gain['ci_low']:+.4f}, {gain['ci_high']:+.4f}] -> {gain['verdict']}")
    print(f"report: {Path(args.output_dir) / 'report.html'}")
    if summary["failed"]:
        print(f"{len(summary['failed'])} run(s) failed (see runs/NAME/log.txt); rerun the same command to retry "
              f"them: {', '.join(summary['failed'])}", file=sys.stderr)
        raise SystemExit(1)


def _recommend(args) -> None:
    from .selection import recommend

    columns = {k: getattr(args, k) for k in ("text_column", "label_column", "tokens_column", "tags_column")
               if getattr(args, k) is not None}
    result = recommend(args.task, args.train, args.validation, models=args.models, strategies=args.strategies and
                       [x.strip() for x in args.strategies.split(",") if x.strip()], budget=args.budget,
                       sample_size=args.sample_size, seed=args.seed, output_dir=args.output_dir,
                       training=load_run_config(args.config, args.overrides).training, **columns)
    print(result.markdown())
    print(f"written: {Path(args.output_dir) / 'recommend.md'}, recommend.json, recommend.png")


def _adapt(args) -> None:
    from .training.adaptation import adapt

    flags = {"resume_from_checkpoint": args.resume_from_checkpoint} if args.resume_from_checkpoint else {}
    training = load_run_config(args.config, args.overrides, **flags).training
    done = adapt(args.model, args.texts, args.output_dir, training=training, text_column=args.text_column,
                 held_out=args.held_out, overwrite=args.overwrite)
    loss = f"; held-out loss {done.held_out_loss_before:.4f} -> {done.held_out_loss_after:.4f}" \
        if done.held_out_loss_after is not None else ""
    print(f"adapted {args.model} ({done.objective}, {done.train_texts} texts, {done.optimizer_steps} steps{loss}): "
          f"use it as --model {args.output_dir}")


def _export(args) -> None:
    from .estimators.fitted import load

    if args.format != "onnx":
        raise ConfigError(f"--format {args.format!r}: only onnx is supported.")
    out = Path(args.output_dir)
    if out.exists() and any(out.iterdir()) and not args.overwrite:  # checked before the model loads
        raise ConfigError(f"--output-dir '{out}' is not empty; pass --overwrite to replace it.")
    model = load(args.model_dir)
    model.export(out, quantize=args.quantize, overwrite=args.overwrite)
    print(f"exported {args.model_dir} to {out} ({args.quantize or 'float32'}); load it with nlptransfer.load or "
          f"nlptransfer predict {out} ...")


def _serve(args) -> None:
    try:
        import fastapi  # noqa: F401
        import uvicorn
    except ImportError:
        raise ConfigError('serve needs the serve extra: pip install "nlptransfer[serve]"') from None
    from .models.model_folder import read_metadata
    from .serving import build_app

    read_metadata(args.model_dir)  # a wrong folder is named before anything loads
    app = build_app(args.model_dir, max_texts=args.max_texts, max_batch=args.max_batch)
    print(f"serving {args.model_dir} on http://{args.host}:{args.port} (POST /predict, GET /health, GET /info)")
    uvicorn.run(app, host=args.host, port=args.port, log_level="warning")


def _report(args) -> None:
    """A compare folder (compare.json) or a run/model folder."""
    path = Path(args.path)
    if (path / "compare.json").exists():
        from .comparison.report import write_compare_outputs

        write_compare_outputs(path)
        print(f"report: {path / 'report.html'}")
    else:
        from .evaluation.run_report import write_run_report

        print(f"report: {write_run_report(path)}")


def _column_flags(parser) -> None:
    """--text-column, --label-column, --tokens-column, --tags-column (default: the run's)."""
    for column in ("text", "label", "tokens", "tags"):
        parser.add_argument(f"--{column}-column")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="nlptransfer", description="Transfer learning for NLP tasks.")
    sub = parser.add_subparsers(dest="command", required=True)

    options_help = "key=value options, e.g. epochs=2 lora_r=16; `nlptransfer options` lists them all"
    train = sub.add_parser("train", help="fine-tune, save to --output-dir, evaluate on --test",
                           epilog="Every option: nlptransfer options")
    train.add_argument("--config", help="YAML file of options (flags and key=value override it)")
    fields = {f.name: f for f in dataclasses.fields(RunConfig) + dataclasses.fields(TrainConfig)}
    for flag in _TRAIN_FLAGS:
        meta = fields[flag].metadata
        train.add_argument("--" + flag.replace("_", "-"), dest=flag, choices=meta["choices"], help=meta["help"])
    train.add_argument("overrides", nargs="*", help=options_help)
    train.set_defaults(fn=_train)

    evaluate = sub.add_parser("evaluate", help="metrics of a saved model on labelled data")
    evaluate.add_argument("model_dir")
    evaluate.add_argument("--data", required=True)
    evaluate.add_argument("--name", default="test", help="names the metrics-NAME.json/.md files")
    _column_flags(evaluate)
    evaluate.set_defaults(fn=_evaluate)

    predict = sub.add_parser("predict", help="labels and scores (NER: entities) for texts, one JSON line each")
    predict.add_argument("model_dir")
    predict.add_argument("--text", action="append")
    predict.add_argument("--file", help="one text per line")
    predict.add_argument("--data", help="a CSV/TSV/JSONL file (NER: also CoNLL) to predict row by row, in chunks")
    predict.add_argument("--output", help="with --data: where the rows and their predictions go (.csv/.tsv/.jsonl; "
                                          "CoNLL for CoNLL)")
    predict.add_argument("--overwrite", action="store_true", help="replace an existing --output")
    predict.add_argument("--text-column", help="with --data: the column of the texts (default: the training one)")
    predict.set_defaults(fn=_predict)

    comp = sub.add_parser("compare", help="models x strategies x seeds x train fractions, with scratch and classic "
                                          "baselines: did transfer help?")
    comp.add_argument("--task", required=True, choices=tuple(TASK_TYPES))
    comp.add_argument("--train", required=True)
    comp.add_argument("--validation", required=True)
    comp.add_argument("--test", required=True)
    comp.add_argument("--models", default="minilm-l6", help="comma-separated hub ids, folders or aliases")
    comp.add_argument("--strategies", default=",".join(NEURAL),
                      help=f"comma-separated, of {', '.join(NEURAL)}, or auto (one more row: auto chooses among the "
                           "models and strategies on each run's data)")
    comp.add_argument("--adapt", default="none", help="none,task: each pretrained strategy also after task-adaptive "
                                                      "pretraining on its training texts (rows STRATEGY+adapt)")
    comp.add_argument("--augment", default="none", help="none,eda,mlm (mlm: with augment_model=; ner also mention): "
                                                        "each row also with augmented training copies (STRATEGY+eda)")
    comp.add_argument("--seeds", type=int, default=3)
    comp.add_argument("--train-fractions", default="1.0", help="e.g. 0.05,0.25,1.0 (learning curve)")
    comp.add_argument("--output-dir", default="out/compare")
    comp.add_argument("--no-classic", action="store_true", help="skip the TF-IDF / feature-tagger baseline")
    comp.add_argument("--text-column", default="text")
    comp.add_argument("--label-column", default="label")
    comp.add_argument("--config", help="YAML of training options shared by every run")
    comp.add_argument("overrides", nargs="*", help=options_help)
    comp.set_defaults(fn=_compare)

    rec = sub.add_parser("recommend", help="rank checkpoints x strategies on your data before training (minutes)")
    rec.add_argument("--task", required=True, choices=tuple(TASK_TYPES))
    rec.add_argument("--train", required=True)
    rec.add_argument("--validation")
    rec.add_argument("--models", default="minilm-l6", help="comma-separated hub ids, folders or aliases")
    rec.add_argument("--strategies", help="comma-separated; default every pretrained strategy the task takes")
    rec.add_argument("--budget", help="longest training you will wait for: seconds, or 30m, 2h")
    rec.add_argument("--sample-size", type=int, default=1000, help="texts embedded per checkpoint (NER: a quarter, "
                                                                      "in sentences)")
    rec.add_argument("--seed", type=int, default=0)
    rec.add_argument("--output-dir", default="out/recommend")
    _column_flags(rec)
    rec.add_argument("--config", help="YAML of training options the costs assume (batch size, max_length, ...)")
    rec.add_argument("overrides", nargs="*", help=options_help)
    rec.set_defaults(fn=_recommend)

    ada = sub.add_parser("adapt", help="continue a checkpoint's pretraining (masked/causal LM) on unlabelled text")
    ada.add_argument("--model", default="minilm-l6", help="hub id, local folder or alias")
    ada.add_argument("--texts", required=True, help=".txt (one text per line) or CSV/TSV/JSONL (--text-column)")
    ada.add_argument("--text-column", default="text")
    ada.add_argument("--output-dir", required=True)
    ada.add_argument("--held-out", type=float, default=0.05, help="share of texts measuring the LM loss (<= 500)")
    ada.add_argument("--resume-from-checkpoint", help="latest (under --output-dir/checkpoints) or a checkpoint folder")
    ada.add_argument("--overwrite", action="store_true", help="replace a non-empty --output-dir")
    ada.add_argument("--config", help="YAML of training options (epochs, batch_size, learning_rate, max_length, ...)")
    ada.add_argument("overrides", nargs="*", help=options_help)
    ada.set_defaults(fn=_adapt)

    exp = sub.add_parser("export", help="write an ONNX copy of a saved model (needs the onnx extra)")
    exp.add_argument("model_dir")
    exp.add_argument("--output-dir", required=True)
    exp.add_argument("--format", default="onnx", help="onnx (the only format so far)")
    exp.add_argument("--quantize", choices=("int8",), help="int8 weights (dynamic quantisation): smaller, faster")
    exp.add_argument("--overwrite", action="store_true")
    exp.set_defaults(fn=_export)

    srv = sub.add_parser("serve", help="answer POST /predict over HTTP (needs the serve extra)")
    srv.add_argument("model_dir")
    srv.add_argument("--host", default="127.0.0.1", help="0.0.0.0 to accept other machines")
    srv.add_argument("--port", type=int, default=8000)
    srv.add_argument("--max-texts", type=int, default=256, help="texts per request at most")
    srv.add_argument("--max-batch", type=int, default=64, help="texts per model call, across concurrent requests")
    srv.set_defaults(fn=_serve)

    rep = sub.add_parser("report", help="rebuild report.md/.html from a compare or run folder's saved results")
    rep.add_argument("path")
    rep.set_defaults(fn=_report)

    opts = sub.add_parser("options", help="every option a YAML file or key=value can set: type, default, meaning")
    opts.set_defaults(fn=lambda _: print(describe_options()))

    # key=value options may stand anywhere among the flags (argparse alone takes them only in one run)
    args, extra = parser.parse_known_args(argv)
    if extra and hasattr(args, "overrides") and not any(item.startswith("-") for item in extra):
        args.overrides = [*args.overrides, *extra]
    elif extra:
        parser.error(f"unrecognized arguments: {' '.join(extra)}")
    exit_on_user_error(args.fn, args)


if __name__ == "__main__":
    main()
