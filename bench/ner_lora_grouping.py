"""Follow-up to bench/ner.py: our LoRA on the same CoNLL subset with length grouping off.

    python bench/ner_lora_grouping.py        # prints test entity F1, per-epoch history, train seconds
"""
import tempfile

import harness
import ner

from nlptransfer import EntityTagger, TrainConfig

if __name__ == "__main__":
    args = harness.parser("").parse_args(["--train-size", "2000"])
    args.validation_size = 1000
    train, validation, test = ner.load_splits(args)
    cfg = TrainConfig(epochs=3, batch_size=32, learning_rate=harness.LR["lora"], max_length=128,
                      early_stopping_patience=None, progress=False, seed=42, group_by_length=False)
    tagger = EntityTagger("minilm-l6", "lora", training=cfg, output_dir=tempfile.mkdtemp()).fit(train, validation)
    print("test f1", tagger.evaluate(test)["f1"], "history", tagger.history_, "train_s", tagger.train_seconds_)
