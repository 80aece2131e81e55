"""Re-export of the baseline agents, which live in :mod:`agents.baselines`, for older imports."""

from .baselines import HeuristicAgent, MajorityAgent, OracleAgent, RandomAgent, random_choices  # noqa: F401

__all__ = ["HeuristicAgent", "MajorityAgent", "OracleAgent", "RandomAgent", "random_choices"]
