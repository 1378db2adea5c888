"""Train one backbone on several tasks at once, a head per task, step by step:
config -> data -> fit -> save -> evaluate -> export each task.

    accelerate launch tasks/multi_task.py --config tasks/configs/multi.yaml epochs=3
    python tasks/multi_task.py --config tasks/configs/multi.yaml sampling=proportional

The config's tasks: block lists the tasks (sentiment, spam, ner in any mix); everything else is
shared. Copy this file and change any step; nothing in nlptransfer depends on it.
"""
from __future__ import annotations

import argparse
import json

from nlptransfer import MultiTaskModel, exit_on_user_error
from nlptransfer.estimators.fitted import estimator_class
from nlptransfer.multi_task_config import load_multi_task_config
from nlptransfer.task_types import task_type
from nlptransfer.training.processes import describe_processes, process_state


def main(argv=None) -> None:
    # 1. Configuration: the YAML file, then key=value overrides of the shared options.
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", required=True, help="YAML with shared options and a tasks: block")
    parser.add_argument("--export", action="store_true", help="also write each task as its own model folder")
    parser.add_argument("overrides", nargs="*", help="key=value, e.g. epochs=2 sampling=uniform")
    args = parser.parse_args(argv)
    config = load_multi_task_config(args.config, args.overrides)
    state = process_state()
    state.print(describe_processes(config.training))

    # 2. Test splits are read and checked now, with each task's columns, so a bad file fails
    #    before training (fit reads and checks train and validation itself, before the model loads).
    tests = {name: estimator_class(task_type(run.task).estimator).from_config(run).read(run.test, "test")
             for name, run in config.tasks.items() if run.test is not None}

    # 3. Fit: one backbone, a head per task; each batch comes from one task, drawn by the sampling
    #    rule; each task's loss is its own mean; the epoch kept is the best mean validation score;
    #    then each classification task gets its own temperature and threshold on its validation split.
    model = MultiTaskModel.from_config(config).fit()

    # 4. Save first, so nothing after this can lose the trained model.
    model.save(model.run_dir_)
    state.print(f"saved to {model.run_dir_}")

    # 5. Each task scored by its own harness (strict entity F1 for NER, positive-class metrics for spam).
    for name, metrics in model.evaluate(tests).items():
        state.print(f"{name} test: " + json.dumps({k: v for k, v in metrics.items() if isinstance(v, float)}))

    # 6. Optionally, each task as an ordinary single-task folder: nlptransfer predict FOLDER reads it.
    if args.export:
        for name in config.tasks:
            model.export_task(name, model.run_dir_ / "export" / name)
            state.print(f"task {name}: {model.run_dir_ / 'export' / name}")


if __name__ == "__main__":
    exit_on_user_error(main)
