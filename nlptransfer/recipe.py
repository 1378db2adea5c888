"""The train -> evaluate -> save recipe behind ``nlptransfer train``.

Reads top to bottom. Under ``accelerate launch`` every process runs it; the library's Accelerator
picks the launch up, and only the main process writes files. The task scripts under ``tasks/``
spell the same steps out one by one, for users to read and copy.
"""
from __future__ import annotations

import json

from .config import RunConfig
from .errors import ConfigError
from .task_types import task_type

__all__ = ["run", "run_multi"]


def run(config: RunConfig):
    """Fit on config.train (+validation), save to config.output_dir, then score config.test.
    Every split is read and checked before training. Text classification for sentiment/spam,
    entity tagging for ner."""
    from .estimators.fitted import estimator_class
    from .training.processes import describe_processes, process_state

    if config.train is None:
        raise ConfigError("No training data: set train=PATH (and ideally validation=PATH, test=PATH).")
    state = process_state()
    state.print(describe_processes(config.training))
    model = estimator_class(task_type(config.task).estimator).from_config(config)
    test = model.read(config.test, "test") if config.test is not None else None  # checked before training
    model.fit(config.train, config.validation)
    model.save(config.output_dir)  # first: a failure while testing can never lose the trained model
    state.print(f"saved to {config.output_dir}")
    if test is not None:
        metrics = model.evaluate(test, name="test")
        state.print(json.dumps({k: v for k, v in metrics.items() if not isinstance(v, (dict, list))}, indent=2))
    return model


def run_multi(config):
    """The same recipe for a ``MultiTaskConfig``: every task's test split read and checked first,
    one backbone fitted on all tasks, saved to output_dir, then each task scored on its test split."""
    from .estimators.fitted import estimator_class
    from .estimators.multi_task import MultiTaskModel
    from .training.processes import describe_processes, process_state

    state = process_state()
    state.print(describe_processes(config.training))
    tests = {name: estimator_class(task_type(run.task).estimator).from_config(run).read(run.test, "test")
             for name, run in config.tasks.items() if run.test is not None}  # checked before training
    model = MultiTaskModel.from_config(config).fit()
    folder = model.run_dir_
    model.save(folder)
    state.print(f"saved to {folder}")
    for name, metrics in model.evaluate(tests).items():
        state.print(f"{name} test: " + json.dumps({k: v for k, v in metrics.items()
                                                    if isinstance(v, (int, float)) and not isinstance(v, bool)}))
    return model
