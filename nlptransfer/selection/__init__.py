"""Choosing before training: transferability estimates, measured costs, and ``recommend``."""
from .recommend import parse_budget, recommend
from .recommendation import Candidate, Recommendation

__all__ = ["recommend", "parse_budget", "Recommendation", "Candidate"]
