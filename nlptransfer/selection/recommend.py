"""``recommend``: which checkpoint and strategy to train, decided in minutes before any training.

For each candidate checkpoint: embed a stratified sample of the training data once with the frozen
backbone (every layer), score the layers (LogME, H-score, kNN, a cross-validated probe), and time
a few optimizer steps per strategy on this machine. The classic TF-IDF baseline is scored on the
same folds: it is the bar transfer has to clear. The choice follows the rules in
docs/choosing.md, each backed by a measurement in BENCHMARKS.md.
"""
from __future__ import annotations

import math
from pathlib import Path

from ..config import RunConfig, TrainConfig
from ..config_fields import parse_budget
from ..errors import ConfigError
from ..strategies import STRATEGIES
from ..task_types import task_type, training_for
from .costs import measure_cost
from .recommendation import Candidate, Recommendation, choose
from .sample import TaggedSample, TextSample

__all__ = ["recommend"]


def recommend(task: str, train, validation=None, *, models=("minilm-l6",), strategies=None, budget=None,
              sample_size: int = 1000, seed: int = 0, output_dir=None, training: TrainConfig | None = None,
              **columns) -> Recommendation:
    """Rank ``models`` x ``strategies`` for ``train`` and recommend one (see docs/choosing.md).

    strategies: default every pretrained strategy the task takes. budget: seconds or "30m", the
    longest training the user will wait for. ``columns``: text_column/label_column or
    tokens_column/tags_column as for ``TextClassifier``/``EntityTagger``. Writes recommend.md,
    recommend.json and recommend.png to ``output_dir`` when given.
    """
    from accelerate import Accelerator
    from accelerate.utils import broadcast_object_list

    seconds = parse_budget(budget)
    kind = task_type(task)
    names = list(strategies or [n for n, s in STRATEGIES.items()
                                if s.pretrained and (kind.classification or not s.classification_only)])
    for name in names:
        if name not in STRATEGIES:
            raise ConfigError(f"unknown strategy {name!r}; choose from {', '.join(STRATEGIES)}.")
        if not STRATEGIES[name].neural:
            raise ConfigError(f"strategy {name!r} needs no ranking: the classic model is always scored, as the bar "
                              "the transformer candidates have to clear.")
        if not kind.classification and STRATEGIES[name].classification_only:
            raise ConfigError(f"strategy {name!r} is for text classification, not {task}.")
    models = [m.strip() for m in (models.split(",") if isinstance(models, str) else models) if m.strip()]
    if not models:
        raise ConfigError("models: name at least one checkpoint (hub id, folder or alias).")
    if sample_size < 20:
        raise ConfigError(f"sample_size={sample_size}: at least 20 examples are needed to cross-validate.")
    config = training_for(kind, training or TrainConfig(progress=False, seed=seed))  # priced as fit trains
    run = RunConfig(task=task, model=models[0], **columns, training=config)
    data = _read(run, train, validation, sample_size, seed)  # every file checked before a model loads
    accelerator = Accelerator(cpu=not _has_gpu())
    checkpoints, candidates = [], []
    for model in models:
        accelerator.print(f"recommend: {model}: embedding {data.sample_n} {data.unit} from every layer")
        scores, batch, built_pooling, length_scale = data.score(model, config, accelerator, seed)
        checkpoints.append({"model": model, **scores})
        for name in names:
            cost = measure_cost(model, name, data.num_labels, batch, data.n_train, data.n_validation, config,
                                accelerator, pooling=built_pooling, length_scale=length_scale)
            predicted = _predicted(name, scores, ranged=kind.classification)
            candidates.append(Candidate(model, name, predicted, cost.seconds, cost.memory_mb,
                                        cost.memory_measured, cost.steps, cost.epochs))
            accelerator.print(f"recommend: {model} {name}: about {cost.seconds:.0f} s to train, "
                              f"{cost.memory_mb:.0f} MB")
    result = choose(task, data.summary(), checkpoints, candidates, seconds)
    # Under accelerate launch each process timed its own steps, so their rankings may differ: the
    # main process's is everyone's (auto then trains the same candidates on every process).
    result = broadcast_object_list([result if accelerator.is_main_process else None])[0]
    if output_dir is not None:
        if accelerator.is_main_process:
            result.write(Path(output_dir))
        accelerator.wait_for_everyone()
    return result


def _has_gpu() -> bool:
    import torch

    return torch.cuda.is_available()


def _predicted(strategy_name: str, scores: dict, ranged: bool) -> tuple[float, float | None]:
    """The range a strategy is expected to land in, from what the probes measured: the frozen
    head trains on the last layer, so its probe there (with the fold spread); training the
    backbone starts from features at least as good as the best layer's, so that probe is the
    floor (no ceiling is claimed). ``ranged`` False (NER): frozen gets a floor too. The NER probe
    fits a quarter-size sample of sentences, and on the CoNLL ranking subset frozen scored 4 to 27
    points above the range's top (BENCHMARKS.md, "CoNLL-2003, seed 0"); on text classification it
    landed within 3.5 points of it (bench/frozen_range.py)."""
    if STRATEGIES[strategy_name].caches_features:
        last = scores["last"]
        low = max(0.0, last["probe"] - last["probe_spread"])
        return low, min(1.0, last["probe"] + last["probe_spread"]) if ranged else None
    return scores["best"]["probe"], None


def _read(run: RunConfig, train, validation, sample_size: int, seed: int):
    if task_type(run.task).classification:
        return TextSample(run, train, validation, sample_size, seed)
    return TaggedSample(run, train, validation, max(20, math.ceil(sample_size / 4)), seed)

