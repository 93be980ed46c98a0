"""The jobs, and the run tags that keep pipeline runs from overlapping.

The daily job builds everything but the report; the report job runs after it, whatever the
daily run's outcome (the report-after-run sensor), so a day always ends with a report.
Every pipeline run carries `PIPELINE_QUEUE_TAG`: the instance allows one such run at a time
(`concurrency.runs.tag_concurrency_limits` in dagster.yaml and the local instance), so a second
request queues instead of overlapping. `dagster/max_runtime` is the 2-hour run timeout that run
monitoring enforces.
"""

import dagster as dg

from ..asset_names import DAILY_REPORT
from ..settings import RUN_TIMEOUT_SECONDS

DAILY_JOB_NAME = "safebeat_daily_job"
REPORT_JOB_NAME = "safebeat_report_job"
PIPELINE_QUEUE_TAG = "safebeat/queue"
PIPELINE_QUEUE = "pipeline"
# Runs whose end (success, failure or cancellation) is followed by a report run.
REPORT_AFTER_TAG = "safebeat/report-after"
REPORT_SOURCE_RUN_TAG = "safebeat/report-for-run"
MAX_RUNTIME_TAG = "dagster/max_runtime"

PIPELINE_RUN_TAGS = {PIPELINE_QUEUE_TAG: PIPELINE_QUEUE, MAX_RUNTIME_TAG: str(RUN_TIMEOUT_SECONDS)}
DAILY_RUN_TAGS = {**PIPELINE_RUN_TAGS, REPORT_AFTER_TAG: "true"}

EVERYTHING_BUT_REPORT = dg.AssetSelection.all() - dg.AssetSelection.assets(DAILY_REPORT)

safebeat_daily_job = dg.define_asset_job(
    name=DAILY_JOB_NAME,
    selection=EVERYTHING_BUT_REPORT,
    tags=DAILY_RUN_TAGS,
    description=(
        "Materializes the SafeBeat graph: raw → warehouse → models → risk. The daily report "
        "follows in its own run (report-after-run sensor), whatever this run's outcome."
    ),
)

safebeat_report_job = dg.define_asset_job(
    name=REPORT_JOB_NAME,
    selection=dg.AssetSelection.assets(DAILY_REPORT),
    tags=PIPELINE_RUN_TAGS,
    description="The daily report (HTML/JSON) and alerts for the day, with an honest status.",
)
