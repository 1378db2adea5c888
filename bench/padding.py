"""How much padding each way of batching computes, and what the CPU padding cap saves in time.

    python bench/padding.py WORK                 # WORK: the --work folder of bench/throughput.py
    python bench/padding.py WORK --rounds 4      # also time predict at each cap, paired by round

Tokens: for SST-2 dev and the SMS Spam test split, the tokens a forward pass computes when the
texts go in file order in batches of 32, each padded to its longest (what
``transformers.pipeline(..., batch_size=32)`` does), against ``models.inference.length_batches``
at several padding caps (sorted by length; batches of at most 64, the predict default). On a CPU
that is compute-bound the pipeline's time over ours cannot much exceed the ratio of these
counts unless our kernels are faster per token.

Timing (``--rounds``): per round, each of WORK/sst2's ``model``, ``onnx_fp32`` and ``onnx_int8``
folders predicts each file once at the old cap (0.25) and once at the new (0.05), each in a fresh
process after an untimed pass; prints each pair's time ratio (new / old) and their median. The
weights do not matter for speed, so the SST-2 model reads the SMS texts too.
"""
from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data"
FILES = {"sst2": SHARED / "sst2/validation.csv", "sms_spam": SHARED / "sms_spam/test.csv"}
CAPS = (0.25, 0.1, 0.05, 0.0)


def tokens(folder: Path) -> None:
    import pandas as pd
    from transformers import AutoTokenizer

    import nlptransfer.models.inference as inference
    from nlptransfer.data.batching import encode_texts

    tokenizer = AutoTokenizer.from_pretrained(folder / "backbone")
    for name, path in FILES.items():
        lengths = encode_texts(tokenizer, pd.read_csv(path)["text"].tolist(), 128).lengths  # as predict does
        pipeline = sum(max(lengths[i:i + 32]) * len(lengths[i:i + 32]) for i in range(0, len(lengths), 32))
        print(f"{name}: {sum(lengths)} real tokens; pipeline, batch 32 in file order: {pipeline}")
        ordered = sorted(lengths)
        for cap in CAPS:
            inference.MAX_PADDING = cap
            batches = inference.length_batches(ordered, 64, cap_padding=True)
            padded = sum(ordered[b[-1]] * len(b) for b in batches)
            print(f"  cap {cap:.2f}: {padded} tokens in {len(batches)} batches, pipeline / ours "
                  f"{pipeline / padded:.3f}")


def time_one(folder: str, dataset: str, cap: float) -> float:
    import pandas as pd

    import nlptransfer.models.inference as inference
    from nlptransfer import load

    texts = pd.read_csv(FILES[dataset])["text"].tolist()
    model = load(folder)
    inference.MAX_PADDING = cap
    model.predict(texts)  # untimed: steady state
    started = time.perf_counter()
    model.predict(texts)
    return time.perf_counter() - started


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("work", type=Path)
    ap.add_argument("--rounds", type=int, default=0)
    ap.add_argument("--one", help=argparse.SUPPRESS)  # child: folder:dataset:cap
    args = ap.parse_args()
    if args.one:
        folder, dataset, cap = args.one.rsplit(":", 2)
        print(json.dumps(time_one(folder, dataset, float(cap))))
        return
    tokens(args.work / "sst2" / "model")
    def child(folder: Path, dataset: str, cap: float) -> float:  # a fresh process per timing
        out = subprocess.run([sys.executable, __file__, str(args.work), "--one", f"{folder}:{dataset}:{cap}"],
                             check=True, capture_output=True, text=True).stdout
        return float(out.strip().splitlines()[-1])

    ratios = {}
    for _ in range(args.rounds):
        for dataset in FILES:
            for path in ("model", "onnx_fp32", "onnx_int8"):
                folder = args.work / "sst2" / path
                old, new = child(folder, dataset, 0.25), child(folder, dataset, 0.05)
                ratios.setdefault((dataset, path), []).append(new / old)
                print(f"{dataset} {path}: 0.25 cap {old:.2f} s, 0.05 cap {new:.2f} s", flush=True)
    for (dataset, path), values in ratios.items():
        print(f"{dataset} {path}: time at 0.05 / at 0.25, per round {[round(v, 3) for v in values]}, "
              f"median {statistics.median(values):.3f}")


if __name__ == "__main__":
    main()
