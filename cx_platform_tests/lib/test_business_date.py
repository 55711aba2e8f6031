"""Daily buckets follow the business time zone, including the days when clocks change."""

import datetime as dt

import polars as pl
import pytest

from cx_platform.lib.sources.base import with_business_date


def bucket(utc_times: list[dt.datetime], tz: str) -> list[dt.date]:
    frame = pl.DataFrame({"created_at": utc_times}, schema={"created_at": pl.Datetime("us", "UTC")})
    return with_business_date(frame, tz)["business_date"].to_list()


def test_utc_default_buckets_by_utc_date():
    assert bucket([dt.datetime(2024, 3, 10, 3, 30, tzinfo=dt.UTC)], "UTC") == [dt.date(2024, 3, 10)]


def test_new_york_spring_forward_day():
    # 2024-03-10: New York moves from UTC-5 to UTC-4 at 07:00 UTC.
    times = [
        dt.datetime(2024, 3, 10, 4, 59, tzinfo=dt.UTC),  # 23:59 EST on 9 March
        dt.datetime(2024, 3, 10, 5, 0, tzinfo=dt.UTC),  # 00:00 EST on 10 March
        dt.datetime(2024, 3, 11, 3, 59, tzinfo=dt.UTC),  # 23:59 EDT on 10 March (a 23-hour day)
        dt.datetime(2024, 3, 11, 4, 0, tzinfo=dt.UTC),  # 00:00 EDT on 11 March
    ]
    assert bucket(times, "America/New_York") == [
        dt.date(2024, 3, 9), dt.date(2024, 3, 10), dt.date(2024, 3, 10), dt.date(2024, 3, 11)
    ]


def test_new_york_fall_back_day_is_25_hours():
    # 2024-11-03 lasts from 04:00 UTC to 05:00 UTC the next day (25 hours).
    times = [dt.datetime(2024, 11, 3, 4, 0, tzinfo=dt.UTC), dt.datetime(2024, 11, 4, 4, 59, tzinfo=dt.UTC),
             dt.datetime(2024, 11, 4, 5, 0, tzinfo=dt.UTC)]
    assert bucket(times, "America/New_York") == [dt.date(2024, 11, 3), dt.date(2024, 11, 3), dt.date(2024, 11, 4)]


def test_unknown_zone_is_a_clear_error():
    with pytest.raises(Exception, match="Mars/Olympus"):
        bucket([dt.datetime(2024, 1, 1, tzinfo=dt.UTC)], "Mars/Olympus")
