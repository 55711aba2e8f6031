"""The one daily partitions definition shared by every daily asset.

Partition key = the interaction's local business date in ``CX_BUSINESS_TZ`` (default UTC).
"""

import datetime as dt

from dagster import DailyPartitionsDefinition

from cx_platform.lib.settings import business_tz, partitions_start

BUSINESS_TZ = business_tz()

daily_partitions = DailyPartitionsDefinition(start_date=partitions_start(), timezone=BUSINESS_TZ)


def partition_days(context) -> list[dt.date]:
    """The business dates a run covers: one day, or every day of a single-run backfill range."""
    return [dt.date.fromisoformat(key) for key in context.partition_keys]
