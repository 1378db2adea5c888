"""Prediction throughput of a fitted minilm-l6 model: PyTorch, ONNX fp32, ONNX int8 and the HTTP
server, against ``transformers.pipeline("text-classification")`` on the same encoder weights.

    python bench/throughput.py [--datasets sms_spam,sst2] [--repeats 7] [--work DIR]

Per dataset, one model is fitted first (``full``, 2 epochs, seed 0, minilm-l6; SMS Spam: the bundled
800-message sample; SST-2: 800 training sentences drawn with seed 0), saved, and exported twice
(``--quantize`` none and int8). The ``_serial`` paths run the exports as before parallel batches
(one batch at a time on all cores), beside the default (one batch per core, several at once).
Then each path predicts the whole test file (SMS Spam: 821 test messages; SST-2: the 872-sentence
GLUE dev set) in its own process: one untimed warm-up pass over the whole file (steady state:
every batch shape and allocator size seen once), then one timed pass; ``--repeats`` rounds run
every path once each (interleaved, so that the shared machine's drifting speed hits all paths
alike), the median reported as texts/s, and the ratio to the pipeline both as medians' ratio
(``x_pipeline``) and as the median of the per-round ratios (``x_pipeline_paired``).
Tokenisation is inside the timing for every path. Threads: each library's default on this machine
(torch 2 threads; ONNX Runtime one per batch and two batches at once, ``_serial`` one per core on
each batch).

The pipeline reference loads the saved ``backbone/`` folder (the fine-tuned encoder) as
``AutoModelForSequenceClassification``: the same encoder, Hugging Face's own head (CLS pooler +
linear, not our mean-pooled head), so only its speed is comparable, not its labels. It is timed at
its default (one text per forward pass) and at ``batch_size=32``; the ratios use the faster one.

Server: ``nlptransfer serve`` in a subprocess on localhost, on the PyTorch folder and on the int8 export; requests of 1 text, sequential and from 16
concurrent clients (the server batches concurrent requests), and of 32 texts, sequential; requests/s,
texts/s and latency percentiles (ms). Writes bench/results/throughput-<date>.json and prints a table.
"""
from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
SHARED = HERE.parents[1] / "shared" / "data"
DATASETS = {  # name -> (task, train file or None for the bundled sample, test file, positive label)
    "sms_spam": ("spam", None, "sms_spam/test.csv", "spam"),
    "sst2": ("sentiment", "sst2/train.csv", "sst2/validation.csv", None),
}
PATHS = ("pipeline_b1", "pipeline_b32", "pytorch", "onnx_fp32", "onnx_fp32_serial", "onnx_int8",
         "onnx_int8_serial")


def _test(dataset: str):
    import pandas as pd

    return pd.read_csv(SHARED / DATASETS[dataset][2])


def fit_and_export(dataset: str, work: Path) -> None:
    import pandas as pd

    from nlptransfer import TextClassifier, TrainConfig
    from nlptransfer.samples import sms_spam

    task, train_file, _, _ = DATASETS[dataset]
    if train_file is None:
        train, validation = sms_spam()["train"], sms_spam()["validation"]
    else:
        whole = pd.read_csv(SHARED / train_file).sample(n=1000, random_state=0)
        train, validation = whole.iloc[:800], whole.iloc[800:]
    clf = TextClassifier("minilm-l6", task, "full", output_dir=str(work / "run"),
                         training=TrainConfig(epochs=2, seed=0, progress=False))
    clf.fit(train, validation)
    clf.save(work / "model")
    clf.export(work / "onnx_fp32")
    clf.export(work / "onnx_int8", quantize="int8")


def _metric(dataset: str, truth, predicted) -> float:
    from sklearn.metrics import accuracy_score, f1_score

    positive = DATASETS[dataset][3]
    return float(f1_score(truth, predicted, pos_label=positive) if positive else accuracy_score(truth, predicted))


def time_path(dataset: str, work: Path, path: str, repeats: int) -> dict:
    """Texts/s of one prediction path over the whole test file (median of ``repeats`` passes)."""
    test = _test(dataset)
    texts, truth = test["text"].tolist(), test["label"].astype(str).tolist()
    if path.startswith("pipeline"):
        from transformers import AutoModelForSequenceClassification, AutoTokenizer, pipeline

        from nlptransfer.models.model_folder import read_metadata

        meta = read_metadata(work / "model")
        net = AutoModelForSequenceClassification.from_pretrained(work / "model" / "backbone",
                                                                 num_labels=len(meta["classes"]))
        tokenizer = AutoTokenizer.from_pretrained(work / "model" / "backbone")
        pipe = pipeline("text-classification", model=net, tokenizer=tokenizer, device=-1)
        kwargs = {"batch_size": 32} if path == "pipeline_b32" else {}
        run = lambda batch: pipe(batch, truncation=True, max_length=128, **kwargs)  # noqa: E731
    else:
        from nlptransfer import load

        folder = "model" if path == "pytorch" else path.removesuffix("_serial")
        model = load(work / folder)
        if path.endswith("_serial"):  # as before parallel batches: one batch at a time, on every core
            from nlptransfer.models.onnx_net import ONNX_FILE, OnnxNet

            net = model.model_
            net.session = OnnxNet(work / folder / ONNX_FILE, net.pooling, parallel_batches=1).session
            net.parallel_batches = 1
        run = model.predict
    run(texts)  # warm-up: the whole file once, so the timed pass measures steady state for every path
    seconds, predicted = [], None
    for _ in range(repeats):
        started = time.perf_counter()
        predicted = run(texts)
        seconds.append(time.perf_counter() - started)
    row = {"texts_per_s": len(texts) / statistics.median(seconds), "seconds": seconds, "texts": len(texts)}
    if not path.startswith("pipeline"):
        row["metric"] = _metric(dataset, truth, predicted)
    return row


def serve_load(dataset: str, work: Path, folder: str, port: int) -> list[dict]:
    """Requests/s and latency of ``nlptransfer serve work/folder`` on localhost, at batch 1 and 32."""
    import concurrent.futures

    import requests

    texts = _test(dataset)["text"].tolist()
    server = subprocess.Popen([str(Path(sys.executable).parent / "nlptransfer"), "serve", str(work / folder),
                               "--port", str(port)], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(600):
            try:
                if requests.get(url + "/health", timeout=1).ok:
                    break
            except requests.ConnectionError:
                time.sleep(0.2)
        else:
            raise SystemExit(f"the server did not start: {server.stderr.read()[-2000:]}")
        session = requests.Session()

        def call(batch):
            started = time.perf_counter()
            answer = session.post(url + "/predict", json={"texts": batch}, timeout=120)
            answer.raise_for_status()
            return time.perf_counter() - started

        rows = []
        for label, size, clients, n_requests in (("batch 1, sequential", 1, 1, 300),
                                                 ("batch 1, 16 clients", 1, 16, 800),
                                                 ("batch 32, sequential", 32, 1, 25)):
            batches = [texts[(i * size) % len(texts):(i * size) % len(texts) + size] for i in range(n_requests)]
            batches = [b for b in batches if len(b) == size]
            call(batches[0])  # warm-up
            started = time.perf_counter()
            with concurrent.futures.ThreadPoolExecutor(clients) as pool:
                latencies = sorted(pool.map(call, batches))
            wall = time.perf_counter() - started
            pct = lambda q: 1000 * latencies[min(len(latencies) - 1, int(q * len(latencies)))]  # noqa: E731
            rows.append({"dataset": dataset, "path": f"server {folder}", "load": label, "requests": len(batches),
                         "requests_per_s": len(batches) / wall, "texts_per_s": len(batches) * size / wall,
                         "p50_ms": pct(0.50), "p95_ms": pct(0.95), "p99_ms": pct(0.99)})
            print(rows[-1], flush=True)
        return rows
    finally:
        server.terminate()
        server.wait(30)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--datasets", default=",".join(DATASETS))
    ap.add_argument("--repeats", type=int, default=7, help="rounds over all paths")
    ap.add_argument("--work", help="folder for the fitted and exported models (default: a temporary one)")
    ap.add_argument("--port", type=int, default=8765)
    ap.add_argument("--one", help=argparse.SUPPRESS)  # child: dataset:path:work
    args = ap.parse_args()
    if args.one:
        dataset, path, work = args.one.split(":", 2)
        row = fit_and_export(dataset, Path(work)) if path == "fit" else \
            time_path(dataset, Path(work), path, args.repeats)
        print("RESULT " + json.dumps(row or {}), flush=True)
        return
    import harness

    root = Path(args.work or tempfile.mkdtemp(prefix="throughput-"))
    rows = []
    for dataset in args.datasets.split(","):
        work = root / dataset
        if not (work / "onnx_int8").exists():
            harness.run_child([sys.executable, __file__, "--one", f"{dataset}:fit:{work}"], f"{dataset} fit")
        # Rounds: every path once per round, each in a fresh process, so that drift in this shared
        # machine's speed (steal time) falls on all paths alike rather than on whichever ran last.
        by_path = {}
        for round_ in range(args.repeats):
            for path in PATHS:
                row = harness.run_child([sys.executable, __file__, "--repeats", "1", "--one",
                                         f"{dataset}:{path}:{work}"], f"{dataset}/{path} round {round_ + 1}")
                if path in by_path:
                    by_path[path]["seconds"] += row["seconds"]
                else:
                    by_path[path] = row
        for path, row in by_path.items():
            row["texts_per_s"] = row["texts"] / statistics.median(row["seconds"])
            rows.append({"dataset": dataset, "path": path, **row})
            print(rows[-1], flush=True)
        reference = max(by_path["pipeline_b1"]["texts_per_s"], by_path["pipeline_b32"]["texts_per_s"])
        # Also paired by round: the pipeline's time in the same round over the path's, median over
        # rounds; the drift that a round shares cancels out of each ratio.
        per_round = [min(b1, b32) for b1, b32 in zip(by_path["pipeline_b1"]["seconds"],
                                                      by_path["pipeline_b32"]["seconds"])]
        for row in rows:
            if row["dataset"] == dataset and row["path"] in PATHS:
                row["x_pipeline"] = row["texts_per_s"] / reference
                row["x_pipeline_paired"] = statistics.median(r / s for r, s in zip(per_round, row["seconds"]))
        for folder in ("model", "onnx_int8"):
            rows += serve_load(dataset, work, folder, args.port)
    report = harness.save_results("throughput", rows, ("dataset", "path", "load"))
    print(f"\n{'dataset':9} {'path':16} {'load':22} {'texts/s':>8} {'x pipeline':>10} {'paired':>6} {'metric':>7} "
          f"{'p50 ms':>7} {'p95 ms':>7}")
    for r in report["rows"]:
        print(f"{r['dataset']:9} {r['path']:16} {r.get('load', ''):22} {r['texts_per_s']:8.1f} "
              f"{r.get('x_pipeline', float('nan')):10.2f} {r.get('x_pipeline_paired', float('nan')):6.2f} "
              f"{r.get('metric', float('nan')):7.3f} "
              f"{r.get('p50_ms', float('nan')):7.1f} {r.get('p95_ms', float('nan')):7.1f}")


if __name__ == "__main__":
    main()
