"""The daily job and its 03:00 UTC schedule."""

import dagster as dg

DAILY_JOB_NAME = "safebeat_daily_job"

safebeat_daily_job = dg.define_asset_job(
    name=DAILY_JOB_NAME,
    selection=dg.AssetSelection.all(),
    description="Materializes the whole SafeBeat graph: raw → warehouse → models → risk → report.",
)

daily_schedule = dg.ScheduleDefinition(
    name="safebeat_daily_schedule",
    job=safebeat_daily_job,
    cron_schedule="0 3 * * *",
    execution_timezone="UTC",
    default_status=dg.DefaultScheduleStatus.RUNNING,
    description="Every day at 03:00 UTC, after the overnight export lands.",
)
