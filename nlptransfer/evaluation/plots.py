"""The report's figures (matplotlib, PNG). Each function draws one figure from saved numbers only,
so ``nlptransfer report`` can redraw everything without a model."""
from __future__ import annotations

from pathlib import Path

__all__ = ["available", "metric_vs_cost", "learning_curve", "confusion", "reliability_diagram", "pr_curve",
           "per_type_f1"]

MARKERS = "os^xDvP*<>"  # one per strategy, in the order strategies first appear in a figure


def available() -> bool:
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        return False
    return True


def _figure(width=6.4, height=4.2):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt, *plt.subplots(figsize=(width, height), dpi=110)


def _save(plt, fig, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
    return path


def _plain_log_x(ax) -> None:
    from matplotlib.ticker import ScalarFormatter

    ax.set_xscale("log")
    ax.xaxis.set_major_formatter(ScalarFormatter())
    ax.xaxis.set_minor_formatter(ScalarFormatter())


def _marker(strategy: str, seen: list[str]) -> str:
    if strategy not in seen:
        seen.append(strategy)
    return MARKERS[seen.index(strategy) % len(MARKERS)]


def _label(group: dict) -> str:
    return "classic" if group["strategy"] == "classic" else f"{group['model']} {group['strategy']}"


def metric_vs_cost(groups: list[dict], metric: str, path: Path) -> Path:
    """Score against training time at the largest train fraction: what each strategy buys."""
    plt, fig, ax = _figure()
    top, seen = max(g["fraction"] for g in groups), []
    for g in (g for g in groups if g["fraction"] == top):
        ax.errorbar(max(g["train_seconds"], 1e-2), g["mean"], yerr=g["std"] or 0, marker=_marker(g["strategy"], seen),
                    linestyle="none", capsize=3, label=_label(g))
    _plain_log_x(ax)
    ax.set_xlabel("training time per run (s, log scale)")
    ax.set_ylabel(f"test {metric} (mean over seeds, bars: std)")
    ax.set_title(f"{metric} vs cost (train fraction {top:g})")
    ax.legend(fontsize=7)
    return _save(plt, fig, path)


def learning_curve(groups: list[dict], metric: str, path: Path) -> Path:
    plt, fig, ax = _figure()
    seen = []
    for key in sorted({(g["model"], g["strategy"]) for g in groups}):
        curve = sorted((g for g in groups if (g["model"], g["strategy"]) == key), key=lambda g: g["n_train"])
        ax.errorbar([g["n_train"] for g in curve], [g["mean"] for g in curve], yerr=[g["std"] or 0 for g in curve],
                    marker=_marker(key[1], seen), capsize=3, label=_label(curve[0]))
    _plain_log_x(ax)
    ax.set_xlabel("training examples (log scale)")
    ax.set_ylabel(f"test {metric}")
    ax.set_title("learning curve")
    ax.legend(fontsize=7)
    return _save(plt, fig, path)


def confusion(metrics: dict, title: str, path: Path) -> Path:
    import numpy as np

    labels, matrix = metrics["confusion_matrix"]["labels"], np.asarray(metrics["confusion_matrix"]["matrix"])
    plt, fig, ax = _figure(4.6, 4.0)
    ax.imshow(matrix, cmap="Blues")
    for (i, j), v in np.ndenumerate(matrix):
        ax.text(j, i, str(v), ha="center", va="center", color="white" if v > matrix.max() / 2 else "black")
    ax.set_xticks(range(len(labels)), labels, rotation=45, ha="right")
    ax.set_yticks(range(len(labels)), labels)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    ax.set_title(title, fontsize=9)
    return _save(plt, fig, path)


def reliability_diagram(curves: dict[str, dict], path: Path) -> Path:
    """``curves``: name -> metrics with ``reliability`` bins and ``ece``."""
    plt, fig, ax = _figure(5.0, 4.4)
    ax.plot([0, 1], [0, 1], color="grey", linestyle=":", label="perfectly calibrated")
    for name, m in curves.items():
        bins = m["reliability"]
        ax.plot([b["confidence"] for b in bins], [b["accuracy"] for b in bins], marker="o",
                label=f"{name} (ECE {m['ece']:.3f})")
    ax.set_xlabel("confidence (top class)")
    ax.set_ylabel("accuracy")
    ax.set_title("reliability diagram")
    ax.legend(fontsize=7)
    return _save(plt, fig, path)


def pr_curve(metrics: dict, title: str, path: Path) -> Path:
    """Precision-recall of the positive class, with the operating threshold marked."""
    curve = metrics["pr_curve"]
    plt, fig, ax = _figure(5.0, 4.4)
    ax.plot(curve["recall"], curve["precision"], label=f"PR-AUC {metrics['pr_auc']:.3f}")
    ax.plot([metrics["positive_recall"]], [metrics["positive_precision"]], marker="*", markersize=14, color="red",
            linestyle="none", label=f"threshold {metrics['threshold']:.3f}")
    ax.set_xlabel(f"recall ({metrics['positive_label']})")
    ax.set_ylabel("precision")
    ax.set_ylim(0, 1.02)
    ax.set_title(title, fontsize=9)
    ax.legend(fontsize=8)
    return _save(plt, fig, path)


def per_type_f1(curves: dict[str, dict], path: Path) -> Path:
    """NER: F1 per entity type, one bar group per system."""
    import numpy as np

    types = sorted({t for m in curves.values() for t in m["per_class"]})
    plt, fig, ax = _figure()
    width = 0.8 / max(len(curves), 1)
    for i, (name, m) in enumerate(curves.items()):
        ax.bar(np.arange(len(types)) + i * width, [m["per_class"].get(t, {}).get("f1", 0) for t in types], width,
               label=name)
    ax.set_xticks(np.arange(len(types)) + 0.4 - width / 2, types)
    ax.set_ylabel("entity F1 (strict)")
    ax.set_title("F1 per entity type")
    ax.legend(fontsize=7)
    return _save(plt, fig, path)
