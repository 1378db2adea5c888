"""The ranked table ``recommend`` prints and writes, and the rules that pick one row.

The rules, numbered as in docs/choosing.md (which gives the measurements behind each):
1. The checkpoint: the best cross-validated probe (at its best layer); within PROBE_TIE of it,
   the cheaper one. The checkpoints further behind follow by probe.
2. Few labels (the smallest class has FEWEST_FOR_PAIRS to FEW_PER_CLASS training examples):
   ``contrastive``. Fewer than FEWEST_FOR_PAIRS: rule 4's order, without rule 3.
3. Text classification with more labels: when the classic baseline's cross-validated score is
   within the best probe's fold spread of it, the classic model (transfer is not measurably ahead).
4. Otherwise the strongest strategy that fits the budget, in the order the benchmarks rank them
   at hundreds to thousands of examples: full, LoRA, contrastive, frozen.
5. Nothing fits the budget: the classic TF-IDF model (seconds to train).
"""
from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path

from ..atomic_files import atomic_write_text

__all__ = ["Candidate", "Recommendation", "choose", "FEW_PER_CLASS", "FEWEST_FOR_PAIRS", "PREFERENCE"]

FEW_PER_CLASS = 32
# Below this many examples in the smallest class, contrastive pairs of that class keep repeating
# the same few texts: with 2 spam messages among 16 it lost to full fine-tuning by 3 to 58 points
# on every seed (BENCHMARKS.md, "SMS Spam learning curve"); 8 per class is the fewest where it
# was measured not to collapse. The classic bar is noise there too (TF-IDF 0.07 spam F1).
FEWEST_FOR_PAIRS = 8
PREFERENCE = ("full", "lora", "contrastive", "frozen")
PROBE_TIE = 0.01


@dataclass(frozen=True)
class Candidate:
    model: str
    strategy: str
    predicted: tuple  # (low, high); high None: no ceiling claimed
    seconds: float
    memory_mb: float
    memory_measured: bool
    steps: int
    epochs: int


@dataclass
class Recommendation:
    task: str
    data: dict
    checkpoints: list[dict]  # per model: layers, LogME per layer, estimates at the best and last layer
    candidates: list[Candidate]
    model: str  # the choice; "classic" when no transformer run fits the budget
    strategy: str
    reason: str
    budget_seconds: float | None = None
    rules: list[str] = field(default_factory=list)

    def to_dict(self) -> dict:
        out = asdict(self)
        out["candidates"] = [asdict(c) for c in self.candidates]
        return out

    def markdown(self) -> str:
        d = self.data
        lines = [f"# Recommendation for {self.task}", "",
                 f"**Train {self.strategy} on {self.model}.** {self.reason}", "",
                 f"Data: {d['train']} training {d['unit']} ({d['sample']} sampled for the estimates), "
                 f"{d['validation']} validation. Classic baseline (TF-IDF; NER: word features), cross-validated on "
                 f"the sample: {d['metric']} {d['classic']['score']:.3f} ± {d['classic']['spread']:.3f}.", "",
                 "| checkpoint | best layer | LogME | H-score | kNN | probe (best layer) | probe (last layer) |",
                 "|---|---:|---:|---:|---:|---:|---:|"]
        for c in self.checkpoints:
            best, last = c["best"], c["last"]
            lines.append(f"| {c['model']} | {best['layer']} of {c['layers'] - 1} | {c['logme']:.3f} | "
                         f"{best['h_score']:.2f} | {best['knn']:.3f} | {best['probe']:.3f} ± {best['probe_spread']:.3f}"
                         f" | {last['probe']:.3f} |")
        # The cost model times one step and multiplies by the planned epochs: an upper bound, since
        # early stopping usually ends sooner (at tiny sizes the plan is up to 60 epochs)
        lines += ["", "| rank | checkpoint | strategy | predicted " + d["metric"] + " | train time, at most (epochs) | "
                  "memory |", "|---:|---|---|---|---:|---:|"]
        for rank, c in enumerate(self.candidates, 1):
            low, high = c.predicted
            predicted = f"{low:.3f} to {high:.3f}" if high is not None else f"at least {low:.3f}"
            memory = f"{c.memory_mb:,.0f} MB" + ("" if c.memory_measured else " (weights + optimizer)")
            lines.append(f"| {rank} | {c.model} | {c.strategy} | {predicted} | {_duration(c.seconds)} ({c.epochs}) | "
                         f"{memory} |")
        lines += ["", "Rules applied, in order (docs/choosing.md has the measurements):", ""]
        lines += [f"{i}. {rule}" for i, rule in enumerate(self.rules, 1)]
        return "\n".join(lines) + "\n"

    def write(self, folder: Path) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        atomic_write_text(folder / "recommend.md", self.markdown())
        atomic_write_text(folder / "recommend.json", json.dumps(self.to_dict(), indent=1) + "\n")
        self._plot(folder / "recommend.png")

    def _plot(self, path: Path) -> None:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        fig, ax = plt.subplots(figsize=(6, 4))
        for c in self.candidates:
            ax.scatter(max(c.seconds, 1e-3), c.predicted[0], marker="o" if c.predicted[1] is None else "s")
            ax.annotate(f"{c.model} {c.strategy}", (max(c.seconds, 1e-3), c.predicted[0]), fontsize=7)
        ax.axhline(self.data["classic"]["score"], linestyle="--", color="grey", label="classic baseline")
        ax.set(xscale="log", xlabel="predicted training time (s)", ylabel=f"predicted {self.data['metric']} (floor)")
        ax.legend(loc="lower right", fontsize=7)
        fig.tight_layout()
        fig.savefig(path, dpi=120)
        plt.close(fig)


def _duration(seconds: float) -> str:
    return f"{seconds:.0f} s" if seconds < 120 else f"{seconds / 60:.0f} min" if seconds < 7200 else \
        f"{seconds / 3600:.1f} h"


def choose(task: str, data: dict, checkpoints: list[dict], candidates: list[Candidate],
           budget: float | None) -> Recommendation:
    probe = {c["model"]: c["best"]["probe"] for c in checkpoints}
    leader = max(probe, key=probe.get)
    top = probe[leader]
    cost = {c.model: sum(x.seconds for x in candidates if x.model == c.model) for c in candidates}
    # rule 1: best probe; near-ties go to the cheaper checkpoint, the rest follow by probe
    tied = {m: probe[m] >= top - PROBE_TIE for m in probe}
    models = sorted(probe, key=lambda m: (not tied[m], cost[m] if tied[m] else -probe[m]))
    smallest = data["smallest_class"]
    tiny = smallest is not None and smallest < FEWEST_FOR_PAIRS
    few = smallest is not None and FEWEST_FOR_PAIRS <= smallest <= FEW_PER_CLASS
    order = ("contrastive", *(s for s in PREFERENCE if s != "contrastive")) if few else PREFERENCE
    ranked = sorted(candidates, key=lambda c: (models.index(c.model), _rank(c.strategy, order)))
    rules = [f"checkpoint: best cross-validated probe, ties within {PROBE_TIE} to the cheaper "
             f"({', '.join(f'{m} {probe[m]:.3f}' for m in models)})"]
    strongest = f"strongest strategy first ({' > '.join(PREFERENCE)})"
    if few:
        rules.append(f"few labels: the smallest class has {smallest} examples ({FEWEST_FOR_PAIRS} to "
                     f"{FEW_PER_CLASS}), so contrastive comes first")
    elif tiny:
        rules.append(f"the smallest class has only {smallest} examples (< {FEWEST_FOR_PAIRS}): too few for "
                     f"contrastive pairs or a classic bar; {strongest}")
    else:
        rules.append(f"{smallest or data['train']} examples in the smallest class: {strongest}")
    if budget is not None:
        rules.append(f"budget {_duration(budget)}: the first row whose predicted training time fits")
    fits = [c for c in ranked if budget is None or c.seconds <= budget]
    bar = data["classic"]["score"]
    best = next(c["best"] for c in checkpoints if c["model"] == leader)
    if not (few or tiny) and data["unit"] == "texts" and bar >= best["probe"] - best["probe_spread"]:  # rule 3
        rules.append(f"classic bar {bar:.3f} within the best probe's fold spread ({best['probe']:.3f} ± "
                     f"{best['probe_spread']:.3f}): the classic model")
        return Recommendation(task, data, checkpoints, ranked, "classic", "classic",
                              f"The classic baseline scored {bar:.3f} on the sample, within the fold spread of the "
                              f"best probe ({leader}, {best['probe']:.3f} ± {best['probe_spread']:.3f}): transfer "
                              "is not measurably ahead on this data, and the classic model trains in seconds. "
                              f"({ranked[0].model} {ranked[0].strategy} would take {_duration(ranked[0].seconds)}; "
                              "strategy=\"auto\" trains it beside the classic model and lets validation decide.)",
                              budget, rules)
    if not fits:
        rules.append("no transformer run fits the budget: the classic model")
        return Recommendation(task, data, checkpoints, ranked, "classic", "classic",
                              f"No candidate trains within {_duration(budget)}; the classic baseline scored "
                              f"{bar:.3f} on the sample and trains in seconds.", budget, rules)
    pick = fits[0]
    why = {"contrastive": f"the smallest class has only {smallest} examples, where contrastive "
                          "pairs make the most of few labels" if few else
                          "neither full fine-tuning nor LoRA fits the budget; contrastive fine-tuning on a bounded "
                          "number of pairs does",
           "full": f"with {smallest} examples in the smallest class, contrastive pairs keep repeating the same few "
                   "texts; fine-tuning every weight held up best at that size" if tiny else
                   "with this much data fine-tuning every weight is the strongest strategy measured",
           "lora": "full fine-tuning does not fit the budget; LoRA trains a fraction of the weights",
           "frozen": "nothing that trains the backbone fits the budget; frozen features train in seconds"}
    reason = (f"{pick.model} has the best probe ({probe[pick.model]:.3f} against the classic baseline's {bar:.3f}); "
              f"{why.get(pick.strategy, 'it ranks first')}; about {_duration(pick.seconds)} to train.")
    if pick is not ranked[0]:
        reason += f" ({ranked[0].model} {ranked[0].strategy} would take {_duration(ranked[0].seconds)}.)"
    return Recommendation(task, data, checkpoints, ranked, pick.model, pick.strategy, reason, budget, rules)


def _rank(strategy: str, order: tuple) -> int:
    return order.index(strategy) if strategy in order else len(order)
