"""The fairness suite and the reference's full marks for 05_tuning (tests/fairness_suite.py)."""
from fairness_suite import *  # noqa: F403 (its fixture and tests, run for ASSIGNMENT)

ASSIGNMENT = "05_tuning"
