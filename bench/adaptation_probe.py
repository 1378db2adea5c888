"""What does language-model adaptation do to a checkpoint's features? (issue #13: why adaptive
pretraining never helped minilm-l6). A linear probe on frozen features, before and after adaptation,
for a sentence encoder shipped without an LM head (minilm-l6: masked LM through a fresh head) and a
decoder whose LM head is pretrained (smollm2-135m: causal LM, its own objective):

    python bench/adaptation_probe.py [--models minilm-l6,smollm2-135m] [--adaptations none,imdb,task]
        [--imdb-texts 250] [--sizes 100,400,1600] [--seeds 0,1,2] [--out DIR]

- adaptations (``nlptransfer.adapt``, one epoch, the library's defaults, the same texts for every model):
  ``imdb``: ``--imdb-texts`` IMDB training reviews (seed 0; movie reviews, Rotten Tomatoes' domain;
  rows and folders ``imdbN``; with 2000, the adaptation bench/techniques.py's part C makes);
  ``task``: the 1,600 Rotten Tomatoes training sentences of seed 0 (task-adaptive; the probes of
  seeds 1 and 2 train on other sentences of the same set).
- features: every version of every model embeds the same sentences; mean and last-token pooling of
  the last hidden layer, each at unit length (what the frozen strategy's head reads).
- probe: LogisticRegression, C from (0.01 ... 100) on 300 validation sentences (seed 0), on the first
  100 / 400 / 1,600 sentences of a per-seed sample of the 8,530 training sentences; macro F1 and
  accuracy on the complete test set (1,066).
CPU subset, said in the results. Writes bench/results/adaptation-probe-<date>.json and prints a table.
"""
from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import harness
import numpy as np
import pandas as pd
import torch
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import accuracy_score, f1_score

RT = harness.SHARED / "rotten_tomatoes"
GRID = (0.01, 0.03, 0.1, 0.3, 1, 3, 10, 30, 100)


def embed(checkpoint: str, texts: list[str]) -> dict[str, np.ndarray]:
    """{"mean": ..., "last": ...}: unit-length pooled last hidden states, batches sorted by length."""
    from nlptransfer import TrainConfig
    from nlptransfer.data.batching import encode_texts, text_collator
    from nlptransfer.models.task_model import build_task_model, pool

    # "full" builds the plain backbone: the frozen strategy's unit_features would normalise every token
    # before pooling here (pooling="none"), where the frozen head normalises the pooled vector.
    built = build_task_model(checkpoint, 2, "full", TrainConfig(), pooling="none")
    data = encode_texts(built.tokenizer, texts, 128)
    collate = text_collator(built.tokenizer)
    order = np.argsort([len(data[i]["input_ids"]) for i in range(len(data))], kind="stable")
    out = {how: np.zeros((len(texts), built.net.backbone.config.hidden_size), np.float32) for how in ("mean", "last")}
    built.net.eval()
    with torch.no_grad():
        for start in range(0, len(order), 64):
            rows = order[start:start + 64]
            batch = collate([{k: data[i][k] for k in ("input_ids", "attention_mask")} for i in rows])
            hidden = built.net.features(batch["input_ids"], batch["attention_mask"])
            for how in out:
                out[how][rows] = torch.nn.functional.normalize(pool(hidden, batch["attention_mask"], how), dim=-1)
    return out


def probe(x: dict[str, np.ndarray], y: dict[str, np.ndarray]) -> dict:
    fits = {c: LogisticRegression(C=c, max_iter=5000).fit(x["train"], y["train"]) for c in GRID}
    c = max(GRID, key=lambda c: f1_score(y["validation"], fits[c].predict(x["validation"]), average="macro"))
    predicted = fits[c].predict(x["test"])
    return {"C": c, "macro_f1": float(f1_score(y["test"], predicted, average="macro")),
            "accuracy": float(accuracy_score(y["test"], predicted))}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--models", default="minilm-l6,smollm2-135m")
    ap.add_argument("--adaptations", default="none,imdb,task")
    ap.add_argument("--imdb-texts", type=int, default=250)
    ap.add_argument("--sizes", default="100,400,1600")
    ap.add_argument("--seeds", default="0,1,2")
    ap.add_argument("--out", default="/tmp/adaptation-probe")
    args = ap.parse_args()
    from nlptransfer import TrainConfig, adapt

    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    sizes, seeds = [int(s) for s in args.sizes.split(",")], [int(s) for s in args.seeds.split(",")]
    train = pd.read_csv(RT / "train.csv")
    samples = {s: train.sample(n=max(sizes), random_state=s) for s in seeds}
    validation = pd.read_csv(RT / "validation.csv").sample(n=300, random_state=0)
    test = pd.read_csv(RT / "test.csv")
    pool_rows = sorted(set().union(*(set(frame.index) for frame in samples.values())))
    texts = train.loc[pool_rows, "text"].tolist() + validation["text"].tolist() + test["text"].tolist()
    corpora = {"imdb": lambda: pd.read_csv(harness.SHARED / "imdb" / "train.csv.gz")["text"].sample(
                   n=args.imdb_texts, random_state=0).tolist(),
               "task": lambda: train.sample(n=max(sizes), random_state=0)["text"].tolist()}  # seed 0's sample
    at = {row: i for i, row in enumerate(pool_rows)}
    n_pool, n_val = len(pool_rows), len(validation)
    y_eval = {"validation": validation["label"].to_numpy(), "test": test["label"].to_numpy()}
    rows = []
    for model in args.models.split(","):
        for adaptation in args.adaptations.split(","):
            checkpoint = model
            corpus, adaptation = adaptation, f"imdb{args.imdb_texts}" if adaptation == "imdb" else adaptation
            if adaptation != "none":
                folder = out / f"{model}-{adaptation}"
                if not (folder / "adaptation.json").exists():
                    adapt(model, corpora[corpus](), folder, training=TrainConfig(epochs=1, progress=False),
                          overwrite=True)
                checkpoint, record = str(folder), json.loads((folder / "adaptation.json").read_text())
                rows.append({"kind": "adaptation", "model": model, "adaptation": adaptation,
                             **{k: record[k] for k in ("objective", "optimizer_steps", "train_texts", "train_windows",
                                                       "held_out_loss_before", "held_out_loss_after", "seconds")}})
                print(rows[-1], flush=True)
            # the cache keeps the training rows it embedded: other --sizes/--seeds embed anew
            cache = out / f"features-{model}-{adaptation}.npz"
            features = dict(np.load(cache)) if cache.exists() else {}
            if not np.array_equal(features.get("rows", []), pool_rows):
                started = time.perf_counter()
                features = {**embed(checkpoint, texts), "rows": np.asarray(pool_rows)}
                np.savez(cache, seconds=time.perf_counter() - started, **features)
            for pooling in ("mean", "last"):
                f = features[pooling]
                x_eval = {"validation": f[n_pool:n_pool + n_val], "test": f[n_pool + n_val:]}
                for seed in seeds:
                    for size in sizes:
                        part = samples[seed].iloc[:size]
                        x = {"train": f[[at[i] for i in part.index]], **x_eval}
                        y = {"train": part["label"].to_numpy(), **y_eval}
                        rows.append({"kind": "probe", "model": model, "adaptation": adaptation, "pooling": pooling,
                                     "size": size, "seed": seed, **probe(x, y)})
                print(model, adaptation, pooling, [round(r["macro_f1"], 3) for r in rows[-len(seeds) * len(sizes):]],
                      flush=True)
    report = harness.save_results("adaptation-probe", rows, ("kind", "model", "adaptation", "pooling", "size", "seed"))
    report["subsets"] = (f"Rotten Tomatoes: probe train sizes {args.sizes} (first rows of a per-seed sample of 8,530), "
                         f"validation 300 (seed 0), test complete; IMDB adaptation on {args.imdb_texts} reviews")
    (Path(__file__).parent / "results" / f"adaptation-probe-{report['date']}.json").write_text(
        json.dumps(report, indent=1) + "\n")
    table = pd.DataFrame([r for r in report["rows"] if r["kind"] == "probe"])
    print(table.groupby(["model", "pooling", "size", "adaptation"])["macro_f1"].agg(["mean", "std"]).round(3))


if __name__ == "__main__":
    main()
