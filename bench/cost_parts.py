"""Where a cost probe's training step goes: the forward-backward against the AdamW update.

    python bench/cost_parts.py [--models mpnet-base,minilm-l6] [--train out/ranking/sst2/data/train.jsonl]

``recommend`` times a few steps on one typical batch of the user's data (``typical_batch``: 16 texts
around the median length) and scales them by the average batch's padded length over that batch's.
This times the two parts of such a step apart (median of 3 after one untimed step), ``full``
strategy, in a fresh process, to see which part the length scaling should apply to. The default
train file is the SST-2 subset ``bench/ranking.py`` writes. Prints one line per checkpoint.
"""
from __future__ import annotations

import argparse
import json
import statistics
import time
from pathlib import Path

import torch

from nlptransfer import TrainConfig
from nlptransfer.data.batching import encode_texts, text_collator
from nlptransfer.models.task_model import build_task_model
from nlptransfer.selection.sample import typical_batch
from nlptransfer.training.optimizer import optimizer_groups

HERE = Path(__file__).resolve().parent


def parts(model: str, texts: list[str]) -> dict:
    config = TrainConfig(progress=False)
    built = build_task_model(model, 2, "full", config)
    dataset = encode_texts(built.tokenizer, texts, config.max_length, [0] * len(texts))
    rows, scale = typical_batch(dataset.lengths, config.batch_size)
    batch = text_collator(built.tokenizer)([dataset[i] for i in rows])
    inputs = {k: batch[k] for k in ("input_ids", "attention_mask")}
    net = built.net.train()
    optimizer = torch.optim.AdamW(optimizer_groups(net, 2e-5, None, 0.0))

    def forward_backward():
        optimizer.zero_grad(set_to_none=True)
        net(**inputs).float().square().mean().backward()

    forward_backward()
    optimizer.step()
    passes, updates = [], []
    for _ in range(3):
        for fn, times in ((forward_backward, passes), (optimizer.step, updates)):
            started = time.perf_counter()
            fn()
            times.append(time.perf_counter() - started)
    fb, update = statistics.median(passes), statistics.median(updates)
    return {"model": model, "batch": list(inputs["input_ids"].shape), "length_scale": scale,
            "forward_backward_s": fb, "update_s": update,
            "step_scaled_whole_s": scale * (fb + update), "step_scaled_pass_only_s": scale * fb + update}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--models", default="mpnet-base,minilm-l6")
    ap.add_argument("--train", default=str(HERE.parent / "out" / "ranking" / "sst2" / "data" / "train.jsonl"))
    args = ap.parse_args()
    texts = [json.loads(line)["text"] for line in open(args.train)]
    for model in args.models.split(","):
        print(json.dumps(parts(model, texts)), flush=True)


if __name__ == "__main__":
    main()
