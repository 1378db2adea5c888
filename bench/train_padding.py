"""Tokens one training pass computes (padded to each batch's longest) over the real tokens, for
random batches and for length groups drawn among N batches' texts.

    python bench/train_padding.py --dataset sst2 --train-size 4000 --seed 42 --mega-batch 1,2,4,8,0

The training sample is bench/classification.py's (sampled with the seed); lengths come from the
library's own tokenisation (``encode_texts``, max length 128). ``--mega-batch 0`` is the default
grouping (transformers' choice: up to 50 batches); 1 is random batches. The order is drawn with
torch seed 0; the ratio hardly moves with it. Writes bench/results/train-padding-<date>.json.
"""
from __future__ import annotations

import argparse

import torch
from transformers.trainer_pt_utils import get_length_grouped_indices

import harness
from classification import load_splits


def padded_over_real(lengths: list[int], batch_size: int, mega_batch: int | None) -> float:
    order = get_length_grouped_indices(lengths, batch_size, mega_batch_mult=mega_batch,
                                       generator=torch.Generator().manual_seed(0))
    batches = [order[i:i + batch_size] for i in range(0, len(order), batch_size)]
    return sum(max(lengths[i] for i in b) * len(b) for b in batches) / sum(lengths)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--dataset", default="sst2")
    ap.add_argument("--train-size", type=int, default=4000)
    ap.add_argument("--seed", type=int, default=42)
    ap.add_argument("--batch-size", type=int, default=32)
    ap.add_argument("--mega-batch", default="1,2,4,8,0")
    args = ap.parse_args()
    from nlptransfer.data.batching import encode_texts
    from nlptransfer.models.pretrained import load_tokenizer

    train, _, _ = load_splits(args.dataset, args.train_size, args.seed)
    lengths = encode_texts(load_tokenizer("minilm-l6"), train["text"].tolist(), 128).lengths
    rows = [{"dataset": args.dataset, "seed": args.seed, "mega_batch": m or "default",
             "padded_over_real": padded_over_real(lengths, args.batch_size, m or None)}
            for m in map(int, args.mega_batch.split(","))]
    for row in rows:
        print(f"groups among {row['mega_batch']} batches' texts: {row['padded_over_real']:.2f}x the real tokens")
    harness.save_results("train-padding", rows, ("dataset", "seed", "mega_batch"))


if __name__ == "__main__":
    main()
