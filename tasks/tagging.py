"""Fine-tune a named-entity tagger (NER), step by step:
config -> data -> model -> strategy -> train -> save -> evaluate.

    accelerate launch tasks/tagging.py --config tasks/configs/ner.yaml strategy=lora
    python tasks/tagging.py --config tasks/configs/ner.yaml epochs=1 train=my_train.conll

Each step is the library function that ``EntityTagger.fit`` calls, in the same order, so this
script and the Python API train the same model from the same config and seed (a test checks it).
Copy this file and change any step; nothing in nlptransfer depends on it.
"""
from __future__ import annotations

import json
import time

from nlptransfer import ConfigError, config_from_command_line, exit_on_user_error
from nlptransfer.data.splits import read_tagged_splits
from nlptransfer.estimators.auto import is_auto
from nlptransfer.data.word_windows import encode_tagged, sentence_logits, tag_collator
from nlptransfer.estimators.fitted import Fitted, save_fitted
from nlptransfer.estimators.tagging import decode_tags, score_tagged
from nlptransfer.evaluation.metrics import entity_metrics
from nlptransfer.models.inference import extract_word_features
from nlptransfer.models.task_model import build_task_model
from nlptransfer.recipe import run as train_whole
from nlptransfer.strategies import strategy
from nlptransfer.task_types import task_type
from nlptransfer.training.adaptation import task_backbone
from nlptransfer.training.losses import SummedCrossEntropy
from nlptransfer.training.processes import describe_processes, process_state
from nlptransfer.training.run_folder import start_fit, write_run_records
from nlptransfer.training.train_weights import train_weights


def main(argv=None) -> None:
    # 1. Configuration: the YAML file, then key=value overrides; every value is checked here.
    run = config_from_command_line(argv, description=__doc__.splitlines()[0])
    if run.task != "ner":
        raise ConfigError(f"tasks/tagging.py trains task=ner; for task={run.task} use tasks/classification.py.")
    # 1b. Two strategies are not one network trained by the steps below: classic (a word-feature
    #     tagger, no network) and auto (ranks the candidates, trains the best few and the classic
    #     model, keeps the best on validation). They run whole, as `nlptransfer train` runs them, and stop here.
    if is_auto(run) or not strategy(run.strategy).neural:
        train_whole(run)
        return

    cfg = run.training
    state = process_state()
    state.print(describe_processes(cfg))

    # 2. Data: every split is read and checked now (CoNLL or JSONL; IOB1 and BIOES become IOB2),
    #    so a bad test file fails before training. The tag set comes from train, "O" first.
    splits = read_tagged_splits(run, run.train, run.validation, run.test)

    # 3. The run folder, the Accelerator (the launch's processes and precision) and the seeds; then
    #    the train sentences as the model sees them: augment=eda|mlm adds seeded copies whose words
    #    tagged O are swapped, deleted, inserted or replaced by a masked LM's guesses; mention swaps
    #    entity mentions for others of their type. Written to the run folder; validation and test
    #    are never augmented.
    accelerator, run_dir, train_table = start_fit(run, splits.train)

    # 4. Model and strategy: tokenizer, backbone and a per-token head; the strategy sets what trains.
    #    adapt=task first continues the checkpoint's pretraining (masked or causal LM) on the train sentences.
    source, adapt_seconds = task_backbone(run, splits.train.texts, splits.validation and splits.validation.texts,
                                         accelerator, run_dir)
    built = build_task_model(source, len(splits.tags), run.strategy, cfg, pooling="none")
    accelerator.print(f"{run.strategy}: {built.parameters}")

    # 5. Words to sub-word windows: the first sub-token of each word carries its tag; sentences
    #    longer than max_length become overlapping windows, each word predicted exactly once.
    train_set = encode_tagged(built.tokenizer, train_table, splits.tags, cfg)
    val_set = encode_tagged(built.tokenizer, splits.validation, splits.tags, cfg)

    # 6. The validation score that picks the epoch whose weights are kept: strict entity F1.
    def entity_f1(logits, _labels) -> float:
        predicted = decode_tags(sentence_logits(logits, val_set), splits.tags)[0]
        return entity_metrics(splits.validation.tags, predicted)["f1"]

    # 7. Train: the one loop, or for frozen each word's features once and the head on them.
    started = time.perf_counter()
    result = train_weights(built.net, run.strategy, train_set, val_set, tag_collator(built.tokenizer), config=cfg,
                           accelerator=accelerator, loss_fn=SummedCrossEntropy(), score_fn=entity_f1,
                           score_name=task_type(run.task).selection_metric, extract=extract_word_features,
                           run_dir=run_dir, identity={"model": run.model, "strategy": run.strategy,
                                                                "adapt": cfg.adapt})
    fitted = Fitted(kind="entity-tagger", run=run, net=built.net.eval(), tokenizer=built.tokenizer,
                    model_type=built.model_type, classes=splits.tags, parameters=built.parameters,
                    history=result.history, run_dir=run_dir, feature_seconds=result.feature_seconds,
                    train_seconds=adapt_seconds + time.perf_counter() - started)
    write_run_records(run_dir, run, fitted.history, accelerator)
    if splits.validation is not None:  # the kept epoch's validation logits are reused
        logits = sentence_logits(result.best_logits, val_set) if result.best_logits is not None else None
        score_tagged(fitted, splits.validation, "validation", logits)

    # 8. Save first (written to a temporary folder, then swapped in), so nothing after this can
    #    lose the trained model; then score the test split into the same folder.
    save_fitted(fitted, run.output_dir)
    if splits.test is not None:
        metrics = score_tagged(fitted, splits.test, "test")
        state.print(json.dumps({k: v for k, v in metrics.items() if not isinstance(v, (dict, list))}, indent=2))
    state.print(f"saved to {run.output_dir}")


if __name__ == "__main__":
    exit_on_user_error(main)
