"""``strategy="auto"`` / ``model="auto"``: rank the candidates with ``recommend``, train the best
few that fit the budget, train the classic model beside them, and keep the best on validation.

The classic model (TF-IDF or word features, seconds to train) is always a candidate, so the result
is never worse on validation than the classic baseline; when it wins the user gets it, as an
ordinary fitted model of the same estimator (``predict``, ``evaluate``, ``save``, ``load``).
Candidates train one after another in ``output_dir/candidates/``; ``auto.md`` and ``auto.json``
there say what trained, what each scored on validation and why the winner was kept.
"""
from __future__ import annotations

import dataclasses
import json
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from ..atomic_files import atomic_write_text
from ..config import RunConfig
from ..config_fields import parse_budget
from ..errors import ConfigError
from ..selection import recommend
from ..strategies import AUTO
from ..task_types import task_type
from ..training.processes import process_state
from ..training.run_folder import decide_output_dir, prepare_run_folder
from .fitted import Fitted, run_record_files

__all__ = ["AutoChoice", "fit_auto", "is_auto", "candidate_models", "OFFLINE_CANDIDATES"]

OFFLINE_CANDIDATES = ("minilm-l6", "mpnet-base", "smollm2-135m")  # model="auto": the aliases that work offline


def is_auto(run: RunConfig) -> bool:
    return run.strategy == AUTO or run.model == AUTO or "," in run.model


def candidate_models(model: str) -> list[str]:
    """``auto``: the offline aliases; ``a,b``: those; otherwise the one checkpoint."""
    names = OFFLINE_CANDIDATES if model == AUTO else [m.strip() for m in model.split(",") if m.strip()]
    if not names:
        raise ConfigError(f"model={model!r}: name a checkpoint, a comma-separated list of candidates, or auto.")
    return list(names)


@dataclass
class AutoChoice:
    """What ``auto`` trained and why it kept the winner."""

    task: str
    metric: str
    rows: list[dict] = field(default_factory=list)  # model, strategy, predicted_seconds, train_seconds, validation
    skipped: list[dict] = field(default_factory=list)  # ranked candidates left out, with the reason
    model: str = ""
    strategy: str = ""
    reason: str = ""

    def markdown(self) -> str:
        lines = [f"# auto: {self.strategy} on {self.model}", "", self.reason, "",
                 f"| candidate | strategy | predicted training | training | validation {self.metric} |",
                 "|---|---|---:|---:|---:|"]
        for r in sorted(self.rows, key=lambda r: -r["validation"]):
            predicted = f"{r['predicted_seconds']:.0f} s" if r["predicted_seconds"] is not None else "-"
            lines.append(f"| {r['model']} | {r['strategy']} | {predicted} | {r['train_seconds']:.0f} s | "
                         f"{r['validation']:.4f} |")
        if self.skipped:
            lines += ["", "Not trained: " + "; ".join(f"{s['model']} {s['strategy']} ({s['why']})"
                                                       for s in self.skipped) + "."]
        lines += ["", "The ranking and the estimates behind it: recommend.md."]
        return "\n".join(lines) + "\n"

    def write(self, folder: Path) -> None:
        atomic_write_text(folder / "auto.md", self.markdown())
        atomic_write_text(folder / "auto.json", json.dumps(dataclasses.asdict(self), indent=1) + "\n")


def _plan(ranked, budget: float | None, how_many: int) -> tuple[list, list[dict]]:
    """The first ``how_many`` ranked candidates whose predicted times add up within ``budget``."""
    chosen, skipped, spent = [], [], 0.0
    for c in ranked:
        if len(chosen) == how_many:
            skipped.append({"model": c.model, "strategy": c.strategy, "why": f"auto_candidates={how_many}"})
        elif budget is not None and spent + c.seconds > budget:
            skipped.append({"model": c.model, "strategy": c.strategy,
                            "why": f"about {c.seconds:.0f} s, over what is left of the budget"})
        else:
            chosen.append(c)
            spent += c.seconds
    return chosen, skipped


def fit_auto(run: RunConfig, train, validation, fit: Callable[[RunConfig, object, object], Fitted],
             columns: dict) -> tuple[Fitted, AutoChoice]:
    """Choose, train and keep the best candidate; ``fit(run, train, validation)`` fits one."""
    if validation is None:
        raise ConfigError(f"strategy/model {AUTO} keeps the candidate that scores best on validation data: pass "
                          "validation data (--validation, validation=PATH, or fit(train, validation)).")
    cfg, kind = run.training, task_type(run.task)
    budget = parse_budget(cfg.budget)
    models = candidate_models(run.model)
    strategies = None if run.strategy == AUTO else [run.strategy]
    if strategies == ["classic"]:
        raise ConfigError("strategy=classic trains no checkpoint, so there is nothing for model=auto to choose; "
                          "give one model, or strategy=auto.")
    state = process_state()  # under accelerate launch every process runs this; the main one writes
    out = decide_output_dir(run, f"{run.task}-auto")
    prepare_run_folder(out, resuming=False, overwrite=cfg.overwrite_output_dir)
    ranking = recommend(run.task, train, validation, models=models, strategies=strategies, budget=budget,
                        output_dir=out, training=cfg, seed=cfg.seed, **columns)
    chosen, skipped = _plan(ranking.candidates, budget, cfg.auto_candidates)
    choice = AutoChoice(run.task, kind.primary_metric, skipped=skipped)
    state.print(f"auto: training {len(chosen)} of {len(ranking.candidates)} ranked candidates and the classic model "
                f"({', '.join(f'{c.model} {c.strategy}' for c in chosen) or 'no transformer fits the budget'})")
    kept = None  # only the best so far stays in memory; a tie goes to the classic model (cheaper to run)
    for i, c in enumerate([*chosen, None]):
        model, strategy = (c.model, c.strategy) if c is not None else ("classic", "classic")
        name = f"{i + 1}-{Path(model).name}-{strategy}"
        sub = dataclasses.replace(run, model=model, strategy=strategy,
                                  output_dir=str(out / "candidates" / name),
                                  training=dataclasses.replace(cfg, overwrite_output_dir=True))
        fitted = fit(sub, train, validation)
        state.wait_for_everyone()  # the main process writes the validation metrics every process reads
        score = json.loads((fitted.run_dir / "metrics-validation.json").read_text())[kind.primary_metric]
        choice.rows.append({"model": model, "strategy": strategy, "folder": name, "validation": float(score),
                            "predicted_seconds": c.seconds if c is not None else None,
                            "train_seconds": float(fitted.train_seconds or 0.0)})
        state.print(f"auto: {model} {strategy}: validation {kind.primary_metric} {score:.4f}")
        if kept is None or score > kept[0]["validation"] or (c is None and score == kept[0]["validation"]):
            kept = (choice.rows[-1], fitted)
        del fitted
    winner, classic = kept[0], choice.rows[-1]
    choice.model, choice.strategy = winner["model"], winner["strategy"]
    if winner is classic:
        choice.reason = (f"The classic model scored best on validation ({classic['validation']:.4f} "
                         f"{kind.primary_metric}); no transformer candidate beat it, so it is the model kept.")
    else:
        choice.reason = (f"{winner['model']} {winner['strategy']} scored best on validation "
                         f"({winner['validation']:.4f} {kind.primary_metric}; the classic model "
                         f"{classic['validation']:.4f}). Before training, recommend had picked {ranking.model} "
                         f"{ranking.strategy}: {ranking.reason}")
    # The kept candidate's records move up beside auto.md, and the run folder is the auto folder
    # from here on: a later evaluate() writes metrics-test there, not into candidates/.
    if state.is_main_process:
        choice.write(out)
        for record in run_record_files(kept[1].run_dir):
            if record.exists():
                shutil.copy2(record, out / record.name)
    state.wait_for_everyone()
    state.print(f"auto: kept {choice.model} {choice.strategy}. {choice.reason}")
    return dataclasses.replace(kept[1], run_dir=out), choice

