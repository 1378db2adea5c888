"""Small bundled datasets for demos and the quickstart (see ATTRIBUTION.md beside this file)."""
from pathlib import Path

__all__ = ["sms_spam"]

_HERE = Path(__file__).parent


def sms_spam() -> dict[str, Path]:
    """Paths of the SMS Spam sample: {"train": 800 rows, "validation": 200, "test": 400}; ~13% spam."""
    return {split: _HERE / f"sms_spam_{split}.csv" for split in ("train", "validation", "test")}
