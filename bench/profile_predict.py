"""Where ``predict`` spends its time on SST-2 dev: the whole call against tokenisation alone.

    python bench/profile_predict.py MODEL_DIR     # e.g. the sst2/model folder bench/throughput.py --work fitted

One warm-up call, then two timed ``predict`` calls over the 872 sentences, then ``encode_texts``
alone; prints seconds and the token lengths. A one-off probe, not a benchmark with a reference.
"""
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

from nlptransfer import load
from nlptransfer.data.batching import encode_texts

texts = pd.read_csv(Path(__file__).resolve().parents[2] / "shared/data/sst2/validation.csv")["text"].tolist()
model = load(sys.argv[1])
model.predict(texts)
for _ in range(2):
    started = time.perf_counter()
    model.predict(texts)
    print(f"predict: {time.perf_counter() - started:.2f} s")
started = time.perf_counter()
rows = encode_texts(model.tokenizer_, texts, 128)
print(f"encode_texts: {time.perf_counter() - started:.3f} s; tokens per text mean {np.mean(rows.lengths):.1f}, "
      f"max {max(rows.lengths)}")
