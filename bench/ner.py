"""Benchmark: EntityTagger vs the transformers run_ner.py recipe on CoNLL-2003, per strategy.

    python bench/ner.py --train-size 2000 --validation-size 1000 --strategies full,frozen,lora

The reference: AutoModelForTokenClassification + DataCollatorForTokenClassification + Trainer,
first sub-token of each word labelled (label_all_tokens off), same checkpoint and
hyperparameters, per-epoch validation. Both sides are scored by the same strict IOB2 seqeval on
word-level tags of the full test split (3,453 sentences); a word the reference truncates away
counts as predicted "O". Data is read from ../shared/data/conll2003 at run time.
"""
from __future__ import annotations

import random
import tempfile
import time

import harness
from harness import LR, SHARED

CONLL = SHARED / "conll2003"


def load_splits(args):
    from nlptransfer.data.tagged_table import read_tagged_table

    train = read_tagged_table(CONLL / "train.txt")
    validation = read_tagged_table(CONLL / "validation.txt", name="validation")
    test = read_tagged_table(CONLL / "test.txt", name="test")
    for table, size in ((train, args.train_size), (validation, args.validation_size)):
        if size and size < len(table):
            keep = sorted(random.Random(args.seed).sample(range(len(table)), size))
            table.words, table.tags = [table.words[i] for i in keep], [table.tags[i] for i in keep]
    return train, validation, test


def run_ours(args, strategy):
    from nlptransfer import EntityTagger, TrainConfig

    train, validation, test = load_splits(args)
    cfg = TrainConfig(epochs=args.epochs, batch_size=args.batch_size, learning_rate=LR[strategy],
                      max_length=args.max_length, early_stopping_patience=None, progress=False, seed=args.seed)
    tagger = EntityTagger("minilm-l6", strategy, training=cfg, output_dir=tempfile.mkdtemp()).fit(train, validation)
    row = {"metric": tagger.evaluate(test)["f1"], "train_s": tagger.train_seconds_,
           "trainable": tagger.parameters_.trainable}
    if strategy == "frozen":
        started = time.perf_counter()
        tagger.predict_tags(train.words)
        row.update(one_forward_pass_s=time.perf_counter() - started, feature_extraction_s=tagger.feature_seconds_)
    return row


def run_trainer(args, strategy):
    import numpy as np
    from datasets import Dataset
    from transformers import (AutoModelForTokenClassification, AutoTokenizer, DataCollatorForTokenClassification,
                              Trainer, set_seed)

    from nlptransfer.models.pretrained import resolve
    from nlptransfer.evaluation.metrics import entity_metrics
    from nlptransfer.data.tagged_table import tag_order

    train, validation, test = load_splits(args)
    tags = tag_order(train.tags)
    path = resolve("minilm-l6")
    tok = AutoTokenizer.from_pretrained(path)
    set_seed(args.seed)  # before the head exists, as run_ner.py does (the Trainer seeds only when built)
    model = AutoModelForTokenClassification.from_pretrained(path, num_labels=len(tags))
    if strategy == "frozen":
        model.base_model.requires_grad_(False)
    elif strategy == "lora":
        from peft import LoraConfig, TaskType, get_peft_model

        model = get_peft_model(model, LoraConfig(task_type=TaskType.TOKEN_CLS, r=8, lora_alpha=16, lora_dropout=0.1,
                                                 target_modules=["query", "value"]))

    def encode(table):
        enc = tok(table.words, is_split_into_words=True, truncation=True, max_length=args.max_length)
        labels = []
        for i, sentence in enumerate(table.tags):
            previous, row = None, []
            for word in enc.word_ids(i):
                row.append(-100 if word is None or word == previous else tags.index(sentence[word]))
                previous = word
            labels.append(row)
        return Dataset.from_dict({"input_ids": enc["input_ids"], "attention_mask": enc["attention_mask"],
                                  "labels": labels}), enc

    train_ds, _ = encode(train)
    val_ds, _ = encode(validation)
    test_ds, test_enc = encode(test)
    targs = harness.trainer_arguments(args, strategy, len(train_ds))
    trainer = Trainer(model=model, args=targs, train_dataset=train_ds, eval_dataset=val_ds,
                      data_collator=DataCollatorForTokenClassification(tok))
    started = time.perf_counter()
    trainer.train()
    train_s = time.perf_counter() - started
    logits = trainer.predict(test_ds).predictions
    predicted = []
    for i, sentence in enumerate(test.words):
        out, previous = ["O"] * len(sentence), None
        for position, word in enumerate(test_enc.word_ids(i)):
            if word is not None and word != previous:
                out[word] = tags[int(np.argmax(logits[i][position]))]
            previous = word
        predicted.append(out)
    return {"metric": entity_metrics(test.tags, predicted)["f1"], "train_s": train_s,
            "trainable": sum(p.numel() for p in model.parameters() if p.requires_grad)}


def main():
    ap = harness.parser(__doc__)
    ap.add_argument("--validation-size", type=int, default=1000)
    args = ap.parse_args()
    if not CONLL.exists():
        raise SystemExit(f"{CONLL} not found: this benchmark reads ../shared/data.")
    harness.main(args, {"nlptransfer": run_ours, "trainer": run_trainer}, "conll2003", "entity_f1",
                 lambda a: min(a.train_size or 10**9, 14041))


if __name__ == "__main__":
    main()
