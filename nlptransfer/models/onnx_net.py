"""A task model exported to ONNX, run by ONNX Runtime behind the ``TaskModel`` interface.

``OnnxNet(input_ids, attention_mask)`` returns the same logits tensor a ``TaskModel`` returns, so
every prediction path (thresholds, temperature, long-text chunks, NER windows and spans) runs
unchanged on an exported model: there is one prediction code path, not two.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from torch import nn

__all__ = ["OnnxNet", "ONNX_FILE", "TOKENIZER_DIR"]

ONNX_FILE, TOKENIZER_DIR = "model.onnx", "tokenizer"


class OnnxNet(nn.Module):
    backbone = None  # nothing to merge or train: an exported model only predicts
    layer_spec = None

    def __init__(self, path: str | Path, pooling: str, unit_features: bool = False,
                 parallel_batches: int | None = None):
        super().__init__()
        import onnxruntime as ort

        # One thread per batch, ``parallel_batches`` (default: one per torch thread) batches at once
        # (``run_batches``): a batch's matrix products are small (~800 x 384 for minilm on SST-2),
        # and threads sharing each product synchronise per operator; whole batches on separate
        # cores do not. Measured: int8 about 15% faster on SST-2; fp32, and SMS Spam, alike within
        # noise (bench/throughput.py, BENCHMARKS.md 2026-12-04). ORT's ``run`` is thread-safe and
        # releases the GIL. With 1: one batch at a time on ORT's default threads.
        options = ort.SessionOptions()
        self.parallel_batches = parallel_batches or torch.get_num_threads()
        if self.parallel_batches > 1:
            options.intra_op_num_threads = 1
        self.session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
        self.pooling, self.unit_features = pooling, unit_features

    def forward(self, input_ids=None, attention_mask=None, features=None) -> torch.Tensor:
        if features is not None:
            raise ValueError("an exported model reads token ids, not cached features")
        feeds = {"input_ids": np.asarray(input_ids.cpu(), dtype=np.int64),
                 "attention_mask": np.asarray(attention_mask.cpu(), dtype=np.int64)}
        return torch.from_numpy(self.session.run(None, feeds)[0])
