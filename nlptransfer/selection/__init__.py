"""Choosing before training: transferability estimates, measured costs, and ``recommend``."""
from .recommend import recommend
from .recommendation import Candidate, Recommendation

__all__ = ["recommend", "Recommendation", "Candidate"]
