"""Landing-folder change detection: by content, per file and per business day."""

from __future__ import annotations

import datetime as dt
import os

import polars as pl

from cx_platform.lib.landing import (
    FileState,
    LandingState,
    active_windows,
    changed_days,
    day_digests,
    diff_files,
    file_digest,
    landed_files,
    rerun_windows,
)

D = dt.date


def test_digest_follows_content_not_file_times(tmp_path):
    path = tmp_path / "a.csv"
    path.write_bytes(b"id,x\n1,2\n")
    before = file_digest(path)
    os.utime(path, (0, 0))  # times go backwards: same content, same digest
    assert file_digest(path) == before
    path.write_bytes(b"id,x\n1,3\n")
    assert file_digest(path) != before


def test_landed_files_are_named_by_source_folder_and_filtered_by_pattern(tmp_path):
    (tmp_path / "twcs").mkdir()
    (tmp_path / "twcs" / "twcs.csv").write_text("x")
    (tmp_path / "twcs" / "SOURCE.md").write_text("x")
    (tmp_path / "other").mkdir()
    (tmp_path / "other" / "b.csv").write_text("x")
    assert list(landed_files(tmp_path, {"twcs": ("*.csv",)})) == ["twcs/twcs.csv"]


def test_diff_separates_new_changed_removed_unchanged():
    previous = {"s/a.csv": FileState("1"), "s/b.csv": FileState("2"), "s/c.csv": FileState("3")}
    changes = diff_files(previous, {"s/a.csv": "1", "s/b.csv": "22", "s/d.csv": "4"})
    assert (changes.new, changes.changed, changes.removed, changes.unchanged) == (
        ["s/d.csv"], ["s/b.csv"], ["s/c.csv"], ["s/a.csv"])
    assert changes.any
    assert not diff_files(previous, {"s/a.csv": "1", "s/b.csv": "2", "s/c.csv": "3"}).any


def test_day_digests_see_which_days_changed_whatever_the_row_order():
    rows = pl.DataFrame({"interaction_id": ["a", "b", "c"], "x": [1, 2, 3],
                         "business_date": [D(2024, 1, 1), D(2024, 1, 1), D(2024, 1, 2)]})
    before = day_digests(rows)
    assert day_digests(rows.reverse()) == before
    corrected = rows.with_columns(pl.when(pl.col("interaction_id") == "c").then(9).otherwise("x").alias("x"))
    extra = pl.DataFrame({"interaction_id": ["z"], "x": [0], "business_date": [D(2023, 12, 20)]})
    late = pl.concat([rows, extra])
    assert changed_days(before, day_digests(corrected)) == {D(2024, 1, 2)}
    assert changed_days(before, day_digests(late)) == {D(2023, 12, 20)}
    assert changed_days(before, {}) == {D(2024, 1, 1), D(2024, 1, 2)}  # file removed


def test_cursor_round_trip():
    state = LandingState({"s/a.csv": FileState("ab", {"2024-01-01": "x"})})
    assert LandingState.from_cursor(state.to_cursor()) == state
    assert LandingState.from_cursor(None) == LandingState()


def test_rerun_windows_look_back_merge_and_clip():
    days = [D(2024, 1, 10), D(2024, 1, 12), D(2024, 3, 1)]
    assert active_windows(days, 31) == [(D(2024, 1, 10), D(2024, 1, 12)), (D(2024, 3, 1), D(2024, 3, 1))]
    assert rerun_windows(days, 7, 31, D(2024, 1, 5), D(2024, 12, 31)) == [
        (D(2024, 1, 5), D(2024, 1, 12)), (D(2024, 2, 23), D(2024, 3, 1))]
    # windows that meet after the look-back are merged; days after the last partition are dropped
    assert rerun_windows([D(2024, 1, 1), D(2024, 1, 5)], 7, 2, D(2023, 1, 1), D(2024, 1, 3)) == [
        (D(2023, 12, 25), D(2024, 1, 3))]
