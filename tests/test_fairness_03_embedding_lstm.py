"""The fairness suite and the reference's full marks for 03_embedding_lstm (tests/fairness_suite.py)."""
from fairness_suite import *  # noqa: F403 (its fixture and tests, run for ASSIGNMENT)

ASSIGNMENT = "03_embedding_lstm"
