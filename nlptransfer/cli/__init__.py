"""``nlptransfer train | train-multi | evaluate | predict | compare | recommend | adapt | export |
export-task | serve | report | options``."""
from .parser import main

__all__ = ["main"]
