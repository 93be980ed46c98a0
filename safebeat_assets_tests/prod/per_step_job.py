"""The daily job as a reconstructable target: a run with one process per step re-imports its
job in every step's process, from this module, with the environment the test set."""

import dagster as dg

from safebeat_assets.definitions import build_definitions
from safebeat_assets.defs.jobs import DAILY_JOB_NAME


def safebeat_daily_job() -> dg.JobDefinition:
    return build_definitions().resolve_job_def(DAILY_JOB_NAME)
