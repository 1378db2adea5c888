"""Export a fitted model to ONNX (optionally int8), as a folder ``load`` reads back.

    DIR/model.onnx        the task model: token ids and attention mask in, logits out (dynamic
                          batch and length); LoRA merged into the weights first
    DIR/tokenizer/        the tokenizer, saved by transformers
    DIR/nlptransfer.json  labels, threshold, temperature, pooling, "format": "onnx", quantisation
    DIR/config.yaml       the run's settings (max_length, long_texts, NER windows), metrics, model card

The graph comes from ``torch.onnx.export`` (the TorchScript exporter: it handles every family we
support with dynamic shapes, where the dynamo exporter needs per-family work) and int8 from
ONNX Runtime's dynamic quantisation; nothing here writes graph code by hand. The backbone is
traced with transformers' eager attention: the SDPA trace adds NaN guards (IsNaN/Where) to every
layer, and the eager graph ran about 10% faster in ONNX Runtime on SMS Spam (BENCHMARKS.md).
Every export is checked: ONNX Runtime must reproduce PyTorch's logits on a probe batch (fp32
within 1e-4).
"""
from __future__ import annotations

import copy
import json
import shutil
import tempfile
import warnings
from pathlib import Path

import numpy as np
import torch

from ..config import config_to_dict
from ..errors import ConfigError
from ..models.classic import is_classic
from ..models.onnx_net import ONNX_FILE, TOKENIZER_DIR, OnnxNet
from ..strategies import merge_adapter

__all__ = ["export_fitted"]

PROBE = ["Export check: a short text.", "And a second, somewhat longer one, to make the batch ragged."]
FP32_TOLERANCE = 1e-4


def _probe_batch(tokenizer, max_length: int) -> dict:
    batch = tokenizer(PROBE, padding=True, truncation=True, max_length=max_length, return_tensors="pt")
    return {"input_ids": batch["input_ids"], "attention_mask": batch["attention_mask"]}


def export_fitted(fitted, folder, *, quantize: str | None = None, overwrite: bool = False) -> Path:
    """Write ``fitted`` to ``folder`` as ONNX (``quantize="int8"``: dynamic int8 weights)."""
    if quantize not in (None, "int8"):
        raise ConfigError(f"quantize={quantize!r}: choose int8, or leave it out for float32.")
    if isinstance(fitted.net, OnnxNet):
        raise ConfigError("this model is already exported; export from the saved PyTorch folder.")
    if is_classic(fitted.net):
        raise ConfigError("a classic (TF-IDF) model has no network to export: its saved folder is already small "
                          "and predicts in milliseconds on CPU; copy the folder instead.")
    folder = Path(folder)
    if folder.exists() and any(folder.iterdir()) and not overwrite:
        raise ConfigError(f"--output-dir '{folder}' is not empty; pass --overwrite to replace it.")
    net = copy.deepcopy(fitted.net).cpu().eval()
    merge_adapter(net)  # LoRA folded in: the graph has plain weights
    if hasattr(net.backbone, "set_attn_implementation"):  # see the module docstring
        net.backbone.set_attn_implementation("eager")
    probe = _probe_batch(fitted.tokenizer, fitted.run.training.max_length)
    with torch.no_grad():
        expected = net(**probe).numpy()
    folder.parent.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(dir=folder.parent, prefix=".export-"))  # beside the target: the rename is atomic
    try:
        graph = work / ONNX_FILE
        with warnings.catch_warnings():  # tracer notes about Python control flow on shapes
            warnings.simplefilter("ignore")
            torch.onnx.export(net, (probe["input_ids"], probe["attention_mask"]), str(graph),
                              input_names=["input_ids", "attention_mask"], output_names=["logits"],
                              dynamic_axes={"input_ids": {0: "batch", 1: "tokens"},
                                            "attention_mask": {0: "batch", 1: "tokens"},
                                            "logits": {0: "batch"} if net.pooling != "none" else
                                            {0: "batch", 1: "tokens"}},
                              opset_version=17, dynamo=False)
        if quantize == "int8":
            from onnxruntime.quantization import QuantType, quantize_dynamic

            full = work / "model-fp32.onnx"
            graph.rename(full)
            quantize_dynamic(str(full), str(graph), weight_type=QuantType.QInt8)
            full.unlink()
        got = OnnxNet(graph, net.pooling, net.unit_features)(**probe).numpy()
        gap = float(np.abs(got - expected).max())
        if quantize is None and gap > FP32_TOLERANCE:
            raise RuntimeError(f"ONNX Runtime's logits differ from PyTorch's by {gap:.2e} on the probe batch "
                               f"(allowed {FP32_TOLERANCE}); the export is not faithful, nothing was written.")
        fitted.tokenizer.save_pretrained(work / TOKENIZER_DIR)
        meta = {"format_version": 1, "format": "onnx", "quantized": quantize, "kind": fitted.kind,
                "task": fitted.task, "strategy": fitted.strategy, "model": fitted.model, "model_type": fitted.model_type,
                "classes": fitted.classes, "pooling": net.pooling, "unit_features": net.unit_features,
                "parameters": {"trainable": fitted.parameters.trainable, "total": fitted.parameters.total},
                "positive_label": fitted.positive_label, "threshold": fitted.threshold,
                "temperature": fitted.temperature, "probe_max_abs_diff": gap}
        (work / "nlptransfer.json").write_text(json.dumps(meta, indent=2) + "\n")
        import yaml

        (work / "config.yaml").write_text(yaml.safe_dump(config_to_dict(fitted.run), sort_keys=False))
        if folder.exists():
            shutil.rmtree(folder)
        work.rename(folder)
    except BaseException:
        shutil.rmtree(work, ignore_errors=True)
        raise
    return folder
