"""The fairness suite and the reference's full marks for 01_epochs (tests/fairness_suite.py)."""
from fairness_suite import *  # noqa: F403 (its fixture and tests, run for ASSIGNMENT)

from fairness_suite import test_the_same_submission_graded_twice_gets_identical_points  # noqa: F401 (here only)

ASSIGNMENT = "01_epochs"
