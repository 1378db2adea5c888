"""Would ONNX Runtime's transformer optimizer make the fp32 export faster? Measured before adopting it.

    python bench/onnx_fusion.py [--repeats 7] [--work DIR]

bench/throughput.py's SST-2 model (``full``, 2 epochs, seed 0, minilm-l6, 800 training sentences)
and its fp32 export; then the same graph through ``onnxruntime.transformers.optimizer.optimize_model``
(model_type "bert", the checkpoint's heads and hidden size: fused Attention, SkipLayerNormalization,
BiasGelu, EmbedLayerNormalization) at ``--opt-level``. Five paths predict the 872-sentence SST-2
dev set: ``pipeline`` at batch 32 (the reference of issue #15's targets), the fp32 export as
``nlptransfer export`` writes it, the fused graph, each ONNX graph in the default mode (one batch
per core, several at once) and in ``_serial`` mode (one batch at a time on every core). One warm-up
pass each, then ``--repeats`` rounds running every path once (interleaved: the machine's drift hits
all alike); texts/s is the median, ``paired`` the median over rounds of the fp32 export's time over
the path's. Also the largest probability difference of the fused graph against the fp32 export.
Writes bench/results/onnx-fusion-<date>.json.
"""
from __future__ import annotations

import argparse
import json
import shutil
import statistics
import time
from pathlib import Path

import harness
import numpy as np
import throughput


def runners(work: Path) -> dict:
    """path -> (predict, predict_proba) on a list of texts; the pipeline has no predict_proba here."""
    from transformers import AutoModelForSequenceClassification, AutoTokenizer, pipeline

    from nlptransfer import load
    from nlptransfer.models.onnx_net import ONNX_FILE, OnnxNet

    backbone = work / "model" / "backbone"
    pipe = pipeline("text-classification", model=AutoModelForSequenceClassification.from_pretrained(backbone),
                    tokenizer=AutoTokenizer.from_pretrained(backbone), device=-1)
    paths = {"pipeline_b32": (lambda texts: pipe(texts, truncation=True, max_length=128, batch_size=32), None)}
    for folder in ("onnx_fp32", "onnx_fused"):
        for serial in (False, True):
            model = load(work / folder)
            if serial:  # as bench/throughput.py's _serial paths
                model.model_.session = OnnxNet(work / folder / ONNX_FILE, model.model_.pooling,
                                               parallel_batches=1).session
                model.model_.parallel_batches = 1
            paths[folder + ("_serial" if serial else "")] = (model.predict, model.predict_proba)
    return paths


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--repeats", type=int, default=7)
    ap.add_argument("--opt-level", type=int, default=1)
    ap.add_argument("--work", default="/tmp/onnx-fusion")
    args = ap.parse_args()
    work = Path(args.work)
    if not (work / "onnx_fp32").exists():
        throughput.fit_and_export("sst2", work)

    from onnxruntime.transformers.optimizer import optimize_model
    from transformers import AutoConfig

    config = AutoConfig.from_pretrained(work / "model" / "backbone")
    fused = optimize_model(str(work / "onnx_fp32" / "model.onnx"), model_type="bert", opt_level=args.opt_level,
                           num_heads=config.num_attention_heads, hidden_size=config.hidden_size)
    operators = {k: v for k, v in fused.get_fused_operator_statistics().items() if v}
    shutil.rmtree(work / "onnx_fused", ignore_errors=True)
    shutil.copytree(work / "onnx_fp32", work / "onnx_fused")
    fused.save_model_to_file(str(work / "onnx_fused" / "model.onnx"))

    texts = throughput._test("sst2")["text"].tolist()
    paths = runners(work)
    gap = float(np.abs(paths["onnx_fused"][1](texts) - paths["onnx_fp32"][1](texts)).max())
    predict = {name: run for name, (run, _) in paths.items()}
    seconds = {name: [] for name in predict}
    for run in predict.values():
        run(texts)  # warm-up
    for _ in range(args.repeats):
        for name, run in predict.items():
            started = time.perf_counter()
            run(texts)
            seconds[name].append(time.perf_counter() - started)
    rows = []
    for name, times in seconds.items():
        rows.append({"path": name, "texts_per_s": len(texts) / statistics.median(times),
                     "x_pipeline_paired": statistics.median(p / t for p, t in zip(seconds["pipeline_b32"], times)),
                     "x_fp32_export_paired": statistics.median(f / t for f, t in zip(seconds["onnx_fp32"], times)),
                     "seconds": times})
        print(f"{name:20s} {rows[-1]['texts_per_s']:7.1f} texts/s  x pipeline {rows[-1]['x_pipeline_paired']:.2f}"
              f"  x fp32 export {rows[-1]['x_fp32_export_paired']:.3f}")
    print(f"fused operators {operators}; max |probability difference| {gap:.1e}")
    report = harness.save_results("onnx-fusion", rows, ("path",))
    report.update(fused_operators=operators, opt_level=args.opt_level, max_probability_difference=gap,
                  texts=len(texts), repeats=args.repeats)
    path = Path(__file__).parent / "results" / f"onnx-fusion-{report['date']}.json"
    path.write_text(json.dumps(report, indent=1) + "\n")


if __name__ == "__main__":
    main()
