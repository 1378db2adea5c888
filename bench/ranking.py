"""Does ``recommend`` rank checkpoints and strategies as training does? Ground truth against
``recommend`` and transformer-ranker, on the same data.

    python bench/ranking.py --datasets sms_spam,sst2,rotten_tomatoes,imdb,conll2003 --seeds 3

Per dataset, one fixed subset (numpy seed 0): 1,000 training texts (CoNLL: sentences), stratified
for classification; 500 validation rows (SST-2 and IMDB: drawn from the rest of train, the other
sets: their validation split); the test split (IMDB and CoNLL: 1,000 rows of it). Then:

1. **Ground truth**: ``nlptransfer.compare`` of the checkpoints x strategies (+ the classic
   baseline), default training options, on the same subset for each training seed (``--seeds 3``:
   seeds 0, 1, 2; ``--only-seeds 1,2``: those only). Seed S trains with
   ``TrainConfig(seed=42 + S)``, as seed S of a ``compare(seeds=...)`` does. Each seed has its own
   compare folder, out/ranking/<dataset>/compare-seed<S>, so two seeds can run side by side in two
   processes (after the rankings below are kept); a finished run there is reused. Each finished
   run's result.json is also kept, with its commit, under bench/results/ranking-runs/<dataset>/
   seed<S>/ and restored from there, so a seed can be finished by a later session (out/ is not
   kept between sessions); a kept run is reused only where its fingerprint still matches.
   ``--earlier FILE``: the per-cell scores of seeds 0..n-1 from that results file's row for the
   dataset (rows written before per-seed folders, one list per cell) join the seeds run here; the
   row records both, with the earlier row's commit.
2. **recommend** on the same train and validation, same checkpoints and strategies, timed.
3. **transformer-ranker** 0.2.0 (PyPI, in bench/.venv, torch 2.13.0 first) on the sample
   recommend embeds (all 1,000 texts; CoNLL: the same 250 sentences), its defaults (H-score,
   layer mean, mean pooling) and LogME at the best layer, timed.

Both rankings are timed first, on a quiet machine, and kept in bench/results/ranking-runs/<dataset>/
(recommend-result.json, ranker-result.json): later seeds and later sessions reuse them.
``--rankings-only`` stops there, so that a long compare can start with a whole session ahead.

Reported per dataset: Kendall's tau between each predicted checkpoint ranking and the measured one
(each checkpoint's mean test score under full fine-tuning, the quantity transferability estimates
are built to predict), tau of recommend's checkpoint x strategy table against the measured grid,
the regret (best measured mean, classic included, minus the mean of recommend's choice) and
recommend's seconds as a share of one seed's compare (the sum of its runs' wall seconds, averaged
over the seeds run here).
Writes bench/results/ranking-<date>.json and prints a table.

Set-up of the peer's environment: bench/.venv/bin/pip install transformer-ranker==0.2.0 (after
the few_shot.py set-up). smollm2-135m is unpacked from a GGUF file: .venv/bin/pip install gguf
first, or materialize.py fails on it.
"""
from __future__ import annotations

import argparse
import gzip
import json
import subprocess
import time
from pathlib import Path

import numpy as np

import harness

HERE = Path(__file__).resolve().parent
SHARED = HERE.parents[1] / "shared" / "data"
OUT = HERE.parent / "out" / "ranking"
KEPT = HERE / "results" / "ranking-runs"  # <dataset>/{recommend,ranker}-result.json, seed<S>/<run>.json
TASKS = {"sms_spam": "spam", "sst2": "sentiment", "rotten_tomatoes": "sentiment", "imdb": "sentiment",
         "conll2003": "ner"}
MODELS = ("minilm-l6", "mpnet-base", "smollm2-135m")
SAMPLE = 1000  # recommend's default sample_size: texts; NER embeds a quarter as many sentences


def _read_split(dataset: str, split: str) -> list[dict]:
    if dataset == "conll2003":
        from nlptransfer.data.tagged_table import read_tagged_table

        table = read_tagged_table(SHARED / dataset / f"{split}.txt", name=split)
        return [{"tokens": w, "tags": t} for w, t in zip(table.words, table.tags)]
    import pandas as pd

    name = SHARED / dataset / (f"{split}.csv.gz" if dataset == "imdb" else f"{split}.csv")
    frame = pd.read_csv(gzip.open(name) if dataset == "imdb" else name)
    return frame[["text", "label"]].to_dict("records")


def _draw(rows: list[dict], n: int, rng, stratified: bool) -> tuple[list[dict], list[dict]]:
    """n rows (in each class's share when stratified) and the rest, both in file order."""
    if n >= len(rows):
        return rows, []
    if stratified:
        labels = np.asarray([r["label"] for r in rows])
        keep = np.concatenate([rng.choice(np.flatnonzero(labels == c), round(n * np.mean(labels == c)), replace=False)
                               for c in sorted(set(labels))])
    else:
        keep = rng.choice(len(rows), n, replace=False)
    chosen = set(keep.tolist())
    return [r for i, r in enumerate(rows) if i in chosen], [r for i, r in enumerate(rows) if i not in chosen]


def prepare(dataset: str) -> dict[str, Path]:
    """The subset as JSONL under out/ranking/<dataset>/data (outside the repository's tracked files)."""
    rng, stratified = np.random.default_rng(0), dataset != "conll2003"
    train, rest = _draw(_read_split(dataset, "train"), SAMPLE, rng, stratified)
    if dataset in ("sst2", "imdb"):  # SST-2's test is GLUE dev; IMDB has no validation split
        validation = _draw(rest, 500, rng, stratified)[0]
    else:
        validation = _draw(_read_split(dataset, "validation"), 500, rng, stratified)[0]
    test = _read_split(dataset, "validation" if dataset == "sst2" else "test")
    if dataset in ("imdb", "conll2003"):
        test = _draw(test, 1000, rng, stratified)[0]
    paths = {}
    for name, rows in (("train", train), ("validation", validation), ("test", test)):
        paths[name] = OUT / dataset / "data" / f"{name}.jsonl"
        paths[name].parent.mkdir(parents=True, exist_ok=True)
        paths[name].write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows))
    return paths


def ground_truth(dataset: str, paths: dict, models, strategies, seeds: list[int], earlier: dict | None) -> dict:
    from nlptransfer import TrainConfig, compare
    from nlptransfer.comparison.summary import load_runs
    from nlptransfer.task_types import TASK_TYPES

    task, runs, commits = TASKS[dataset], [], set()
    for seed in seeds:
        out, kept = OUT / dataset / f"compare-seed{seed}", KEPT / dataset / f"seed{seed}"
        _keep(out, kept)  # what an interrupted run finished
        _restore(kept, out)
        try:
            compare(task, str(paths["train"]), str(paths["validation"]), str(paths["test"]), models=list(models),
                    strategies=list(strategies), seeds=1, training=TrainConfig(seed=TrainConfig().seed + seed),
                    output_dir=str(out))
        finally:
            _keep(out, kept)
        wanted = json.loads((out / "compare.json").read_text())["runs"]
        runs += load_runs(out, wanted)
        commits.update(json.loads((kept / f"{name}.json").read_text())["commit"] for name in wanted)
    metric = TASK_TYPES[task].primary_metric
    scores: dict[str, list[float]] = {k: list(v) for k, v in (earlier or {}).get("n_seeds", {}).items()}
    seconds: dict[str, list[float]] = {}
    for run in runs:
        scores.setdefault(f"{run['model']}/{run['strategy']}", []).append(run["metrics"][metric])
        seconds.setdefault(f"{run['model']}/{run['strategy']}", []).append(run["train_seconds"])
    return {"metric": metric, "scores": scores, "mean": {k: float(np.mean(v)) for k, v in scores.items()},
            "train_seconds": {k: float(np.mean(v)) for k, v in seconds.items()},
            "compare_seconds": sum(run["wall_seconds"] for run in runs) / len(seeds),
            "run_commits": sorted(commits)}


def _keep(out: Path, kept: Path) -> None:
    """Each finished run's result.json, with the commit it ran at, into bench/results: out/ does not
    outlive a session, and one seed of IMDB takes longer than one."""
    for result in sorted((out / "runs").glob("*/result.json")):
        run, target = json.loads(result.read_text()), kept / f"{result.parent.name}.json"
        if not target.exists() or json.loads(target.read_text())["fingerprint"] != run["fingerprint"]:
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(json.dumps({**run, "commit": run.get("commit") or harness.git_commit()}, indent=1))


def _restore(kept: Path, out: Path) -> None:
    """Kept results back into the compare folder, where compare reuses those whose job (data,
    options, seed and paths: the fingerprint) is unchanged; it reruns the others."""
    for path in sorted(kept.glob("*.json")):
        target = out / "runs" / path.stem / "result.json"
        if not target.exists():
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(path.read_text())


def earlier_row(path: str | None, dataset: str, seeds: list[int]) -> dict | None:
    """The dataset's row of an earlier results file, whose per-cell lists are seeds 0..n-1."""
    if path is None:
        return None
    row = next((r for r in json.loads(Path(path).read_text())["rows"] if r["dataset"] == dataset), None)
    if row is None:
        raise SystemExit(f"{path} has no row for {dataset}")
    had = range(max(len(v) for v in row["n_seeds"].values()))
    if set(had) & set(seeds):
        raise SystemExit(f"{path} already holds seeds {list(had)} of {dataset}; run other seeds with --only-seeds")
    return {"file": path, "seeds": list(had), "commit": row["commit"], "n_seeds": row["n_seeds"]}


def ours(dataset: str, paths: dict, models, strategies) -> dict:
    from nlptransfer import recommend

    started = time.perf_counter()
    result = recommend(TASKS[dataset], str(paths["train"]), str(paths["validation"]), models=list(models),
                       strategies=list(strategies), sample_size=SAMPLE, output_dir=OUT / dataset / "recommend")
    seconds = time.perf_counter() - started
    return {"seconds": seconds, "choice": f"{result.model}/{result.strategy}", "commit": harness.git_commit(),
            "checkpoint_scores": {c["model"]: c["best"]["probe"] for c in result.checkpoints},
            "logme": {c["model"]: c["logme"] for c in result.checkpoints},
            "ranked": [f"{c.model}/{c.strategy}" for c in result.candidates],
            "predicted_seconds": _predicted_seconds(dataset)}


def _predicted_seconds(dataset: str) -> dict[str, float]:
    """recommend's cost prediction per checkpoint/strategy, from the recommend.json it wrote."""
    table = json.loads((OUT / dataset / "recommend" / "recommend.json").read_text())["candidates"]
    return {f"{c['model']}/{c['strategy']}": c["seconds"] for c in table}


def ranker_sample(dataset: str, paths: dict) -> list[dict]:
    """The rows recommend embedded: every training text (1,000 = the sample size), or for NER the
    same seeded draw of SAMPLE / 4 sentences TaggedSample makes."""
    from nlptransfer.data.source_files import lines_of  # not splitlines(): IMDB reviews hold a raw U+0085

    rows = [json.loads(line) for line in lines_of(paths["train"].read_text(encoding="utf-8")) if line]
    if dataset != "conll2003":
        return rows
    n = min(max(20, -(-SAMPLE // 4)), len(rows))
    return [rows[i] for i in sorted(np.random.default_rng(0).choice(len(rows), n, replace=False).tolist())]


def transformer_ranker(dataset: str, paths: dict, models) -> dict:
    from nlptransfer.models.pretrained import resolve

    rows = ranker_sample(dataset, paths)
    job = OUT / dataset / "ranker-job.json"
    job.write_text(json.dumps({"rows": rows, "models": {m: resolve(m) for m in models},
                               "ner": dataset == "conll2003"}))
    out = subprocess.run([str(HERE / ".venv" / "bin" / "python"), __file__, "--ranker-child", str(job)],
                         capture_output=True, text=True)
    found = [line for line in out.stdout.splitlines() if line.startswith("RESULT ")]
    if not found:
        raise SystemExit(f"transformer-ranker failed:\n{out.stderr[-3000:]}")
    return json.loads(found[-1][7:])


def ranker_child(job_path: str) -> None:
    """Runs in bench/.venv: transformer-ranker's own API on the job's rows."""
    from datasets import Dataset
    from transformer_ranker import TransformerRanker

    job = json.loads(Path(job_path).read_text())
    if job["ner"]:  # its token-classification path wants integer tags
        tags = sorted({t for r in job["rows"] for t in r["tags"]})
        data = Dataset.from_dict({"tokens": [r["tokens"] for r in job["rows"]],
                                  "ner_tags": [[tags.index(t) for t in r["tags"]] for r in job["rows"]]})
        columns = {"text_column": "tokens", "label_column": "ner_tags",
                   "label_map": {t: i for i, t in enumerate(tags)}}  # name -> id, as it maps them
    else:
        data = Dataset.from_dict({"text": [r["text"] for r in job["rows"]], "label": [r["label"] for r in job["rows"]]})
        columns = {"text_column": "text", "label_column": "label"}
    result = {}
    for estimator, aggregator in (("hscore", "layermean"), ("logme", "bestlayer")):
        started = time.perf_counter()
        ranker = TransformerRanker(data, **columns)
        scores = ranker.run(models=list(job["models"].values()), estimator=estimator, layer_aggregator=aggregator,
                            batch_size=32, device="cpu")  # gpu_estimation=False: a TypeError in 0.2.0
        # keyed by each model's config.name_or_path, in the order they ran: ours
        result[f"{estimator}/{aggregator}"] = {
            "seconds": time.perf_counter() - started,
            "checkpoint_scores": {m: float(v) for m, v in zip(job["models"], scores.scores.values())}}
    print("RESULT " + json.dumps(result), flush=True)


def tau(predicted: dict[str, float], measured: dict[str, float]) -> float:
    from scipy.stats import kendalltau

    keys = sorted(measured)
    return float(kendalltau([predicted[k] for k in keys], [measured[k] for k in keys]).statistic)


def evaluate(dataset: str, truth: dict, mine: dict, theirs: dict, seeds: list[int], earlier: dict | None) -> dict:
    mean = truth["mean"]
    full = {m.split("/")[0]: v for m, v in mean.items() if m.endswith("/full")}
    grid = {k: v for k, v in mean.items() if not k.startswith("classic/")}
    ranks = {k: -i for i, k in enumerate(mine["ranked"])}  # recommend's table order, best first
    best = max(mean, key=mean.get)
    predicted_seconds = mine["predicted_seconds"]
    row = {"dataset": dataset, "metric": truth["metric"], "measured": mean, "n_seeds": truth["scores"],
           "measured_best": best, "recommended": mine["choice"],
           "regret": mean[best] - mean.get(mine["choice"], float("nan")),
           "tau_checkpoints": {"recommend": tau(mine["checkpoint_scores"], full),
                               "recommend (LogME)": tau(mine["logme"], full),
                               **{f"transformer-ranker {k}": tau(v["checkpoint_scores"], full)
                                  for k, v in theirs.items()}},
           "tau_grid": tau(ranks, grid), "recommend_seconds": mine["seconds"],
           "ranker_seconds": {k: v["seconds"] for k, v in theirs.items()},
           # one seed's compare (the mean over the seeds run here): the share of a 3-seed compare is a third
           "compare_seconds": truth["compare_seconds"], "time_share": mine["seconds"] / truth["compare_seconds"],
           "seeds_run": seeds, "run_commits": truth["run_commits"],
           "earlier_seeds": {k: v for k, v in (earlier or {}).items() if k != "n_seeds"},
           # the cost model's upper bound (planned epochs) against the training seconds measured
           "train_seconds": {k: {"predicted": predicted_seconds.get(k), "measured": v}
                             for k, v in truth["train_seconds"].items()},
           "recommend": mine, "transformer_ranker": theirs}
    return row


def markdown(row: dict) -> str:
    """The measured grid beside recommend's table, then the scores of the rankings."""
    order = row["recommend"]["ranked"]
    lines = [f"{row['dataset']}: {row['metric']}, mean of {max(len(v) for v in row['n_seeds'].values())} seed(s)", "",
             "| checkpoint/strategy | measured | recommend's rank | train s: predicted at most / measured |",
             "|---|---:|---:|---:|"]
    for cell, score in sorted(row["measured"].items(), key=lambda kv: -kv[1]):
        seconds = row["train_seconds"].get(cell, {})
        predicted = seconds.get("predicted")
        lines.append(f"| {cell} | {score:.3f} | {order.index(cell) + 1 if cell in order else '-'} | "
                     f"{'-' if predicted is None else f'{predicted:.0f}'} / {seconds.get('measured', 0):.0f} |")
    lines += ["", f"recommended {row['recommended']}, best measured {row['measured_best']}: regret "
              f"{100 * row['regret']:.1f} points; checkpoint x strategy tau {row['tau_grid']:.2f}",
              "checkpoint tau against full fine-tuning: " + ", ".join(f"{k} {v:.2f}"
                                                                      for k, v in row["tau_checkpoints"].items()),
              f"seconds: recommend {row['recommend_seconds']:.0f}, transformer-ranker "
              + ", ".join(f"{k} {v:.0f}" for k, v in row["ranker_seconds"].items())
              + f", one seed's compare {row['compare_seconds']:.0f} (recommend = {100 * row['time_share']:.1f}%)"]
    return "\n".join(lines)


def _kept(path: Path, key: list, compute):
    """compute()'s result, reused from path (under bench/results, so a later session reuses it
    too) when it was computed for the same key."""
    if not path.exists() or json.loads(path.read_text())["key"] != key:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps({"key": key, "value": compute()}, indent=1))
    return json.loads(path.read_text())["value"]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--datasets", default="sms_spam,sst2,rotten_tomatoes,imdb,conll2003")
    ap.add_argument("--models", default=",".join(MODELS))
    ap.add_argument("--strategies", default="frozen,lora,full,contrastive", help="contrastive: not for NER")
    ap.add_argument("--seeds", type=int, default=3, help="seeds 0..N-1")
    ap.add_argument("--only-seeds", help="these seeds instead, such as 1,2")
    ap.add_argument("--earlier", help="a results file whose rows hold seeds 0..n-1 (see above)")
    ap.add_argument("--rankings-only", action="store_true",
                    help="time and keep the two rankings, print recommend's choice and predicted grid time; no compare")
    ap.add_argument("--ranker-child", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.ranker_child:
        return ranker_child(args.ranker_child)
    models, rows = args.models.split(","), []
    seeds = [int(s) for s in args.only_seeds.split(",")] if args.only_seeds else list(range(args.seeds))
    for dataset in args.datasets.split(","):
        strategies = [s for s in args.strategies.split(",") if not (dataset == "conll2003" and s == "contrastive")]
        paths = prepare(dataset)
        key = [models, strategies]
        mine = _kept(KEPT / dataset / "recommend-result.json", key, lambda: ours(dataset, paths, models, strategies))
        theirs = _kept(KEPT / dataset / "ranker-result.json", key[:1], lambda: transformer_ranker(dataset, paths, models))
        if args.rankings_only:  # a long compare (IMDB) can then start on a later session's clock
            print(f"{dataset}: recommend chose {mine['choice']} in {mine['seconds']:.0f} s; transformer-ranker "
                  + ", ".join(f"{k} {v['seconds']:.0f} s" for k, v in theirs.items())
                  + f"; predicted seconds of one seed's training, at most: {sum(mine['predicted_seconds'].values()):.0f}")
            continue
        earlier = earlier_row(args.earlier, dataset, seeds)
        truth = ground_truth(dataset, paths, models, strategies, seeds, earlier)
        rows.append(evaluate(dataset, truth, mine, theirs, seeds, earlier))
        report = harness.save_results("ranking", rows, ("dataset",))
        print(markdown(rows[-1]), flush=True)
    if rows:
        print(f"wrote {len(report['rows'])} rows")


if __name__ == "__main__":
    main()
