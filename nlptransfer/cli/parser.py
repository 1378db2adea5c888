"""The ``nlptransfer`` command line: every command's flags; ``commands.py`` does the work."""
from __future__ import annotations

import argparse
import dataclasses

from ..config import RunConfig, TrainConfig, describe_options
from ..errors import exit_on_user_error
from ..strategies import NEURAL
from ..task_types import TASK_TYPES
import nlptransfer.cli.commands as commands
from .commands import TRAIN_FLAGS

__all__ = ["main"]


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
    for flag in TRAIN_FLAGS:
        meta = fields[flag].metadata
        train.add_argument("--" + flag.replace("_", "-"), dest=flag, choices=meta["choices"], help=meta["help"])
    train.add_argument("overrides", nargs="*", help=options_help)
    train.set_defaults(fn=commands.train)

    multi = sub.add_parser("train-multi", help="one backbone on several tasks (a tasks: block in --config), a head "
                                               "each; save, then score each task's test split")
    multi.add_argument("--config", required=True, help="YAML: shared options, then tasks: {name: {task, train, ...}}")
    for flag in ("model", "strategy", "output_dir", "resume_from_checkpoint", "report_to"):
        multi.add_argument("--" + flag.replace("_", "-"), dest=flag, help=fields[flag].metadata["help"])
    multi.add_argument("overrides", nargs="*", help=options_help + "; also sampling=, sampling_temperature=")
    multi.set_defaults(fn=commands.train_multi)

    head_help = "a multi-task model: the task to use"
    evaluate = sub.add_parser("evaluate", help="metrics of a saved model on labelled data")
    evaluate.add_argument("model_dir")
    evaluate.add_argument("--data", required=True)
    evaluate.add_argument("--name", default="test", help="names the metrics-NAME.json/.md files")
    evaluate.add_argument("--head", help=head_help)
    _column_flags(evaluate)
    evaluate.set_defaults(fn=commands.evaluate)

    predict = sub.add_parser("predict", help="labels and scores (NER: entities) for texts, one JSON line each")
    predict.add_argument("model_dir")
    predict.add_argument("--text", action="append")
    predict.add_argument("--file", help="one text per line")
    predict.add_argument("--head", help=head_help)
    predict.add_argument("--data", help="a CSV/TSV/JSONL file (NER: also CoNLL) to predict row by row, in chunks")
    predict.add_argument("--output", help="with --data: where the rows and their predictions go (.csv/.tsv/.jsonl; "
                                          "CoNLL for CoNLL)")
    predict.add_argument("--overwrite", action="store_true", help="replace an existing --output")
    predict.add_argument("--text-column", help="with --data: the column of the texts (default: the training one)")
    predict.set_defaults(fn=commands.predict)

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
    comp.add_argument("--with-task", choices=tuple(TASK_TYPES),
                      help="a second task: each strategy that can share a backbone also trained on both tasks "
                           "(rows STRATEGY+multi, scored on --task); needs --with-train and --with-validation")
    comp.add_argument("--with-train", help="the second task's training data (same columns as --train)")
    comp.add_argument("--with-validation", help="the second task's validation data")
    comp.add_argument("--seeds", type=int, default=3)
    comp.add_argument("--train-fractions", default="1.0", help="e.g. 0.05,0.25,1.0 (learning curve)")
    comp.add_argument("--output-dir", default="out/compare")
    comp.add_argument("--no-classic", action="store_true", help="skip the TF-IDF / feature-tagger baseline")
    comp.add_argument("--text-column", default="text")
    comp.add_argument("--label-column", default="label")
    comp.add_argument("--config", help="YAML of training options shared by every run")
    comp.add_argument("overrides", nargs="*", help=options_help)
    comp.set_defaults(fn=commands.compare)

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
    rec.set_defaults(fn=commands.recommend)

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
    ada.set_defaults(fn=commands.adapt)

    exp = sub.add_parser("export", help="write an ONNX copy of a saved model (needs the onnx extra)")
    exp.add_argument("model_dir")
    exp.add_argument("--output-dir", required=True)
    exp.add_argument("--format", default="onnx", help="onnx (the only format so far)")
    exp.add_argument("--quantize", choices=("int8",), help="int8 weights (dynamic quantisation): smaller, faster")
    exp.add_argument("--overwrite", action="store_true")
    exp.set_defaults(fn=commands.export)

    ext = sub.add_parser("export-task", help="write one task of a multi-task model as an ordinary model folder")
    ext.add_argument("model_dir")
    ext.add_argument("--head", required=True, help="the task to export")
    ext.add_argument("--output-dir", required=True)
    ext.add_argument("--self-contained", action="store_true", help="LoRA: save the base weights, not a reference")
    ext.add_argument("--overwrite", action="store_true")
    ext.set_defaults(fn=commands.export_task)

    srv = sub.add_parser("serve", help="answer POST /predict over HTTP (needs the serve extra)")
    srv.add_argument("model_dir")
    srv.add_argument("--host", default="127.0.0.1", help="0.0.0.0 to accept other machines")
    srv.add_argument("--port", type=int, default=8000)
    srv.add_argument("--max-texts", type=int, default=256, help="texts per request at most")
    srv.add_argument("--max-batch", type=int, default=64, help="texts per model call, across concurrent requests")
    srv.set_defaults(fn=commands.serve)

    rep = sub.add_parser("report", help="rebuild report.md/.html from a compare or run folder's saved results")
    rep.add_argument("path")
    rep.set_defaults(fn=commands.report)

    opts = sub.add_parser("options", help="every option a YAML file or key=value can set: type, default, meaning")
    opts.set_defaults(fn=lambda _: print(describe_options()))

    # key=value options may stand anywhere among the flags (argparse alone takes them only in one run)
    args, extra = parser.parse_known_args(argv)
    if extra and hasattr(args, "overrides") and not any(item.startswith("-") for item in extra):
        args.overrides = [*args.overrides, *extra]
    elif extra:
        parser.error(f"unrecognized arguments: {' '.join(extra)}")
    exit_on_user_error(args.fn, args)
