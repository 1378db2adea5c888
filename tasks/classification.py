"""Fine-tune a text classifier (sentiment or spam), step by step:
config -> data -> model -> strategy -> train -> calibrate/threshold -> save -> evaluate.

    accelerate launch tasks/classification.py --config tasks/configs/spam.yaml strategy=lora
    python tasks/classification.py --config tasks/configs/sentiment.yaml epochs=1

Each step is the library function that ``TextClassifier.fit`` calls, in the same order, so this
script and the Python API train the same model from the same config and seed (a test checks it).
Copy this file and change any step; nothing in nlptransfer depends on it.
"""
from __future__ import annotations

import dataclasses
import json
import time

from nlptransfer import config_from_command_line, exit_on_user_error
from nlptransfer.data.batching import text_collator
from nlptransfer.data.splits import read_text_splits
from nlptransfer.estimators.auto import is_auto
from nlptransfer.estimators.classification import (calibrate, classification_loss, encode_labelled, predict_proba,
                                                   score_texts, text_proba, validation_scorer)
from nlptransfer.estimators.fitted import Fitted, save_fitted
from nlptransfer.models.inference import extract_features
from nlptransfer.models.task_model import build_task_model
from nlptransfer.recipe import run as train_whole
from nlptransfer.strategies import strategy
from nlptransfer.task_types import task_type
from nlptransfer.training.processes import describe_processes, process_state
from nlptransfer.training.adaptation import task_backbone
from nlptransfer.training.run_folder import start_fit, write_run_records
from nlptransfer.training.train_weights import train_weights


def main(argv=None) -> None:
    # 1. Configuration: the YAML file, then key=value overrides; every value is checked here.
    run = config_from_command_line(argv, description=__doc__.splitlines()[0])
    # 1b. Two strategies are not one network trained by the steps below: classic (TF-IDF, no
    #     network) and auto (ranks the candidates, trains the best few and the classic model, keeps
    #     the best on validation). They run whole, as `nlptransfer train` runs them, and stop here.
    if is_auto(run) or not strategy(run.strategy).neural:
        train_whole(run)
        return

    task, cfg = task_type(run.task), run.training
    state = process_state()
    state.print(describe_processes(cfg))

    # 2. Data: every split is read and checked now, so a bad test file fails before training.
    #    Labels come from train in a stable order; spam's positive class is "spam" (or the rarer).
    splits = read_text_splits(run, run.train, run.validation, run.test)
    positive = splits.classes.index(splits.positive) if splits.positive is not None else None

    # 3. The run folder, the Accelerator (the launch's processes and precision) and the seeds; then
    #    the train texts as the model sees them: augment=eda|mlm adds seeded copies with words
    #    swapped, deleted or inserted, or replaced by a masked LM's guesses, written to the
    #    run folder. Validation and test are never augmented.
    accelerator, run_dir, train_table = start_fit(run, splits.train)

    # 4. Model and strategy: tokenizer, backbone and a linear head; the strategy sets what trains.
    #    adapt=task first continues the checkpoint's pretraining (masked or causal LM) on the train texts.
    source, adapt_seconds = task_backbone(run, splits.train.texts, splits.validation and splits.validation.texts,
                                         accelerator, run_dir)
    built = build_task_model(source, len(splits.classes), run.strategy, cfg)
    accelerator.print(f"{run.strategy}: {built.parameters}")

    # 5. Tokenise once, up front (texts over max_length as long_texts says); batches are padded later.
    train_set = encode_labelled(built.tokenizer, train_table, splits.classes, cfg, "train", accelerator.print)
    val_set = encode_labelled(built.tokenizer, splits.validation, splits.classes, cfg, "validation",
                              accelerator.print)

    # 6. The loss (class-weighted for imbalanced spam) and the validation score that picks the
    #    epoch whose weights are kept (PR-AUC for spam, macro F1 for sentiment).
    loss_fn, balanced = classification_loss(task, train_set, len(splits.classes), cfg.class_weights)
    score = validation_scorer(task, val_set, positive)

    # 7. Train: the one loop, or for frozen the features once and the head on them.
    started = time.perf_counter()
    result = train_weights(built.net, run.strategy, train_set, val_set, text_collator(built.tokenizer), config=cfg,
                           accelerator=accelerator, loss_fn=loss_fn, run_dir=run_dir, balanced=balanced,
                           score_fn=score, score_name=task.selection_metric, extract=extract_features,
                           identity={"model": run.model, "strategy": run.strategy,
                                                                "adapt": cfg.adapt})
    fitted = Fitted(kind="text-classifier", run=run, net=built.net.eval(), tokenizer=built.tokenizer,
                    model_type=built.model_type, classes=splits.classes, parameters=built.parameters,
                    history=result.history, positive_label=splits.positive, run_dir=run_dir,
                    train_seconds=adapt_seconds + time.perf_counter() - started,
                    feature_seconds=result.feature_seconds,
                    train_texts=frozenset(splits.train.texts), train_over_max_length=train_set.over_limit)

    # 8. Calibrate on validation: a softmax temperature if asked, then spam's decision threshold.
    #    The kept epoch's validation logits are reused when the loop has them.
    val_proba = None
    if splits.validation is not None:
        val_proba = text_proba(task, result.best_logits, val_set, positive) if result.best_logits is not None \
            else predict_proba(fitted, splits.validation.texts)
    temperature, threshold, val_proba = calibrate(run, splits, val_proba)
    fitted = dataclasses.replace(fitted, temperature=temperature, threshold=threshold)
    if temperature is not None:
        accelerator.print(f"temperature scaling: T = {temperature:.3f}")
    write_run_records(run_dir, run, fitted.history, accelerator)
    if splits.validation is not None:
        score_texts(fitted, splits.validation, "validation", val_proba)

    # 9. Save first (written to a temporary folder, then swapped in), so nothing after this can
    #    lose the trained model; then score the test split into the same folder.
    save_fitted(fitted, run.output_dir)
    if splits.test is not None:
        metrics = score_texts(fitted, splits.test, "test")
        state.print(json.dumps({k: v for k, v in metrics.items() if not isinstance(v, (dict, list))}, indent=2))
    state.print(f"saved to {run.output_dir}")


if __name__ == "__main__":
    exit_on_user_error(main)
