"""What each ``nlptransfer`` command does; ``parser.py`` reads the command line into these."""
from __future__ import annotations

import json
import sys
from pathlib import Path

from ..config import load_run_config
from ..errors import ConfigError

TRAIN_FLAGS = ("task", "model", "strategy", "train", "validation", "test", "output_dir", "text_column",
               "label_column", "resume_from_checkpoint", "report_to")


def load_task(model_dir, head: str | None = None):
    """The single-task estimator saved in ``model_dir``; for a multi-task folder, its task ``head``
    (which must then be given)."""
    from ..estimators.fitted import load
    from ..models.model_folder import read_metadata

    multi = read_metadata(model_dir)["kind"] == "multi-task"  # checked before anything loads
    if multi and head is None:
        raise ConfigError(f"{model_dir} is a multi-task model (tasks: {', '.join(read_metadata(model_dir)['tasks'])}): "
                          f"pass --head TASK, or write one task as its own folder with nlptransfer export-task.")
    if head is not None and not multi:
        raise ConfigError(f"--head {head}: {model_dir} is a single-task model; leave --head out.")
    model = load(model_dir)
    return model.estimator(head) if multi else model


def train(args) -> None:
    from ..recipe import run

    fixed = {k: getattr(args, k) for k in TRAIN_FLAGS if getattr(args, k) is not None}
    if args.config is not None and _has_tasks_block(args.config):  # several tasks: train-multi
        if set(fixed) - {"output_dir", "resume_from_checkpoint", "report_to", "model", "strategy"}:
            raise ConfigError(f"{args.config} has a tasks: block (multi-task): give --train/--task/... per task in "
                              f"it, not as flags.")
        return train_multi(args)
    run(load_run_config(args.config, args.overrides, **fixed))


def _has_tasks_block(path) -> bool:
    import yaml

    try:
        loaded = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError, UnicodeDecodeError):
        return False  # load_run_config names the fault
    return isinstance(loaded, dict) and "tasks" in loaded


def train_multi(args) -> None:
    from ..multi_task_config import load_multi_task_config
    from ..recipe import run_multi

    flags = {k: getattr(args, k, None) for k in ("model", "strategy", "output_dir", "resume_from_checkpoint",
                                                   "report_to")}
    if args.config is None:
        raise ConfigError("train-multi needs --config FILE.yaml with a tasks: block (see tasks/configs/multi.yaml).")
    run_multi(load_multi_task_config(args.config, args.overrides, **{k: v for k, v in flags.items() if v}))


def export_task(args) -> None:
    from ..models.model_folder import read_metadata

    out = Path(args.output_dir)
    if out.exists() and any(out.iterdir()) and not args.overwrite:  # checked before the model loads
        raise ConfigError(f"--output-dir '{out}' is not empty; pass --overwrite to replace it.")
    if read_metadata(args.model_dir)["kind"] != "multi-task":
        raise ConfigError(f"{args.model_dir} is a single-task model already: use it as it is (or copy the folder).")
    model = load_task(args.model_dir, args.head)
    model.save(out, self_contained=args.self_contained)
    print(f"exported task {args.head} of {args.model_dir} to {out}: nlptransfer predict {out} --text ...")


def evaluate(args) -> None:
    from ..evaluation.metric_files import metrics_markdown, write_metrics

    model = load_task(args.model_dir, args.head)
    run = model.run_config_
    if model.task == "ner":
        from ..data.tagged_table import read_tagged_table

        table = read_tagged_table(args.data, args.tokens_column or run.tokens_column,
                                  args.tags_column or run.tags_column, tag_index=run.tag_column_index, name=args.name)
    else:
        from ..data.text_table import read_text_table

        table = read_text_table(args.data, args.text_column or run.text_column, args.label_column or run.label_column,
                                name=args.name)
    metrics = model.evaluate(table, name=args.name)
    folder = Path(args.model_dir) / "tasks" / args.head if args.head else Path(args.model_dir)
    folder.mkdir(parents=True, exist_ok=True)
    write_metrics(metrics, folder, args.name)  # metrics-NAME.json|md land beside the model (or its task's head)
    if args.head:
        from ..evaluation.model_card import write_model_card

        write_model_card(args.model_dir)
    print(metrics_markdown(metrics, f"{args.model_dir} on {args.data}"))


def predict(args) -> None:
    from ..data.source_files import lines_of, read_source_text

    if args.data or args.output:
        if not (args.data and args.output) or args.text or args.file:
            raise ConfigError("Predicting a file takes --data IN and --output OUT (and no --text/--file).")
        from ..estimators.file_predictions import check_paths, predict_file

        check_paths(args.data, args.output, args.overwrite)  # before the model loads
        model = load_task(args.model_dir, args.head)
        count = predict_file(model, args.data, args.output, text_column=args.text_column, overwrite=args.overwrite)
        print(f"{count} rows predicted: {args.output}")
        return
    texts = list(args.text or [])
    if args.file:
        text = read_source_text(args.file, f"file '{args.file}'", needs="one text per line")
        texts += [line for line in lines_of(text) if line.strip()]
    if not texts:
        raise ConfigError("Nothing to predict: pass --text TEXT (repeatable) or --file FILE (one text per line).")
    model = load_task(args.model_dir, args.head)
    if model.task == "ner":
        for text, entities in zip(texts, model.predict(texts)):
            print(json.dumps({"text": text, "entities": entities}))
        return
    proba = model.predict_proba(texts)
    for text, label, row in zip(texts, model.predict(texts), proba):
        print(json.dumps({"text": text, "label": label,
                          "scores": {c: round(float(p), 4) for c, p in zip(model.classes_, row)}}))


def compare(args) -> None:
    from ..comparison.grid import compare

    def listed(text: str) -> list[str]:
        return [x.strip() for x in text.split(",") if x.strip()]

    try:
        fractions = [float(f) for f in listed(args.train_fractions)]
    except ValueError:
        raise ConfigError(f"--train-fractions must be numbers like 0.1,0.5,1; got {args.train_fractions!r}.") from None
    with_task = (args.with_task, args.with_train, args.with_validation)
    flags = ("--with-task", "--with-train", "--with-validation")
    if any(with_task) and not all(with_task):  # the second task is all three or nothing
        given = next(f for f, v in zip(flags, with_task) if v)
        missing = " and ".join(f for f, v in zip(flags, with_task) if not v)
        raise ConfigError(f"{given} needs {missing} too.")
    training = load_run_config(args.config, args.overrides).training
    summary = compare(args.task, args.train, args.validation, args.test, models=listed(args.models),
                      strategies=listed(args.strategies), seeds=args.seeds, train_fractions=fractions,
                      output_dir=args.output_dir, training=training, classic=not args.no_classic,
                      text_column=args.text_column, label_column=args.label_column, adapt=listed(args.adapt),
                      augment=listed(args.augment), with_task=with_task if all(with_task) else None)
    for gain in summary["gains"]:
        print(f"{gain['model']} {gain['strategy']} @ {gain['fraction']:g}: {gain['metric']} {gain['gain']:+.4f} "
              f"vs {gain['reference']} [{gain['ci_low']:+.4f}, {gain['ci_high']:+.4f}] -> {gain['verdict']}")
    print(f"report: {Path(args.output_dir) / 'report.html'}")
    if summary["failed"]:
        print(f"{len(summary['failed'])} run(s) failed (see runs/NAME/log.txt); rerun the same command to retry "
              f"them: {', '.join(summary['failed'])}", file=sys.stderr)
        raise SystemExit(1)


def recommend(args) -> None:
    from ..selection import recommend

    columns = {k: getattr(args, k) for k in ("text_column", "label_column", "tokens_column", "tags_column")
               if getattr(args, k) is not None}
    result = recommend(args.task, args.train, args.validation, models=args.models, strategies=args.strategies and
                       [x.strip() for x in args.strategies.split(",") if x.strip()], budget=args.budget,
                       sample_size=args.sample_size, seed=args.seed, output_dir=args.output_dir,
                       training=load_run_config(args.config, args.overrides).training, **columns)
    print(result.markdown())
    print(f"written: {Path(args.output_dir) / 'recommend.md'}, recommend.json, recommend.png")


def adapt(args) -> None:
    from ..training.adaptation import adapt

    flags = {"resume_from_checkpoint": args.resume_from_checkpoint} if args.resume_from_checkpoint else {}
    training = load_run_config(args.config, args.overrides, **flags).training
    done = adapt(args.model, args.texts, args.output_dir, training=training, text_column=args.text_column,
                 held_out=args.held_out, overwrite=args.overwrite)
    loss = f"; held-out loss {done.held_out_loss_before:.4f} -> {done.held_out_loss_after:.4f}" \
        if done.held_out_loss_after is not None else ""
    print(f"adapted {args.model} ({done.objective}, {done.train_texts} texts, {done.optimizer_steps} steps{loss}): "
          f"use it as --model {args.output_dir}")


def export(args) -> None:
    from ..estimators.fitted import load

    if args.format != "onnx":
        raise ConfigError(f"--format {args.format!r}: only onnx is supported.")
    out = Path(args.output_dir)
    if out.exists() and any(out.iterdir()) and not args.overwrite:  # checked before the model loads
        raise ConfigError(f"--output-dir '{out}' is not empty; pass --overwrite to replace it.")
    model = load(args.model_dir)
    model.export(out, quantize=args.quantize, overwrite=args.overwrite)
    print(f"exported {args.model_dir} to {out} ({args.quantize or 'float32'}); load it with nlptransfer.load or "
          f"nlptransfer predict {out} ...")


def serve(args) -> None:
    try:
        import fastapi  # noqa: F401
        import uvicorn
    except ImportError:
        raise ConfigError('serve needs the serve extra: pip install "nlptransfer[serve]"') from None
    from ..models.model_folder import read_metadata
    from ..serving import build_app

    read_metadata(args.model_dir)  # a wrong folder is named before anything loads
    app = build_app(args.model_dir, max_texts=args.max_texts, max_batch=args.max_batch)
    print(f"serving {args.model_dir} on http://{args.host}:{args.port} (POST /predict, GET /health, GET /info)")
    uvicorn.run(app, host=args.host, port=args.port, log_level="warning")


def report(args) -> None:
    """A compare folder (compare.json) or a run/model folder."""
    path = Path(args.path)
    if (path / "compare.json").exists():
        from ..comparison.report import write_compare_outputs

        write_compare_outputs(path)
        print(f"report: {path / 'report.html'}")
    else:
        from ..evaluation.run_report import write_run_report

        print(f"report: {write_run_report(path)}")
