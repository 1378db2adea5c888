"""The train -> evaluate -> save recipe behind ``nlptransfer train`` and the task scripts.

Reads top to bottom. Under ``accelerate launch`` every process runs it; the library's Accelerator
picks the launch up, and only the main process writes files.
"""
from __future__ import annotations

import argparse
import json
import sys

from .config import RunConfig, load_run_config

__all__ = ["run", "main"]


def run(config: RunConfig):
    """Fit on config.train (+validation), evaluate on config.test, save to config.output_dir.
    Text classification for sentiment/spam, entity tagging for ner."""
    from .classifier import TextClassifier
    from .tagger import EntityTagger
    from .training import process_state

    if config.train is None:
        raise SystemExit("No training data: set train=PATH (and ideally validation=PATH, test=PATH).")
    state = process_state()
    state.print(f"processes: {state.num_processes} ({state.distributed_type.value})")
    if config.task == "ner":
        model = EntityTagger(config.model, config.strategy, training=config.training,
                             tokens_column=config.tokens_column, tags_column=config.tags_column,
                             tag_column_index=config.tag_column_index, repair_tags=config.repair_tags,
                             output_dir=config.output_dir)
    else:
        model = TextClassifier(config.model, config.task, config.strategy, training=config.training,
                               text_column=config.text_column, label_column=config.label_column,
                               output_dir=config.output_dir)
    model.fit(config.train, config.validation)
    if config.test is not None:
        metrics = model.evaluate(config.test, name="test")
        state.print(json.dumps({k: v for k, v in metrics.items() if not isinstance(v, (dict, list))}, indent=2))
    model.save(config.output_dir)
    state.print(f"saved to {config.output_dir}")
    return model


def main(argv: list[str] | None = None, task: str | None = None) -> None:
    """Entry point of the task scripts: ``--config FILE`` then ``key=value`` overrides."""
    parser = argparse.ArgumentParser(description=f"Fine-tune a {task or 'text'} model (see README).")
    parser.add_argument("--config", help="YAML file of RunConfig/TrainConfig fields")
    parser.add_argument("--resume-from-checkpoint", help="latest (under output_dir/checkpoints) or a checkpoint folder")
    parser.add_argument("--report-to", help="tensorboard, mlflow or both, comma-separated (metrics.jsonl always)")
    parser.add_argument("overrides", nargs="*", help="key=value, e.g. strategy=lora epochs=2")
    args = parser.parse_args(sys.argv[1:] if argv is None else argv)
    fixed = {"task": task} if task else {}
    fixed.update({k: getattr(args, k) for k in ("resume_from_checkpoint", "report_to") if getattr(args, k)})
    run(load_run_config(args.config, args.overrides, **fixed))
