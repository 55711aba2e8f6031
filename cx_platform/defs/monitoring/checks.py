"""Data-quality and freshness checks for every table, next to the assets they check.

One multi-check per table reads the table once (for a daily table: the partitions in hand, so a
single-run range is checked as a whole and a one-day run per partition) and reports each check with
its numbers in metadata. Severity is by consequence: a broken schema is ``ERROR`` and *blocking* (the
run stops before downstream assets read it); impossible values and broken reconciliations are
``ERROR``; drift and quality warnings (negative durations the KPI formulas leave out, anomalies)
are ``WARN``. Freshness checks fail when the latest daily partition due by the deadline is missing.
"""

import datetime as dt
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from zoneinfo import ZoneInfo

import dagster as dg
import numpy as np
import polars as pl

from cx_platform.defs.ingestion.assets import INTERACTION_SOURCES
from cx_platform.defs.monitoring.policies import FRESHNESS_DEADLINE
from cx_platform.defs.partitions import BUSINESS_TZ, daily_partitions, partition_days
from cx_platform.defs.resources import LakeResource
from cx_platform.lib import kpis, schemas, topics
from cx_platform.lib.anomaly import ANOMALIES
from cx_platform.lib.lake import Lake

ERROR, WARN = dg.AssetCheckSeverity.ERROR, dg.AssetCheckSeverity.WARN
SAMPLE = 5  # offending ids / days listed in metadata


@dataclass(frozen=True)
class Rule:
    """One check of a table: ``evaluate(lake, days, frame)`` -> (passed, metadata)."""

    name: str
    description: str
    severity: dg.AssetCheckSeverity
    evaluate: Callable[[Lake, list[dt.date], pl.DataFrame], tuple[bool, dict]]


SCHEMA_CHECK = "schema_matches"


def _same_type(actual: pl.DataType, declared: pl.DataType) -> bool:
    # vectors are as wide as the configured model makes them: the element type is what is declared
    if isinstance(actual, pl.Array) and isinstance(declared, pl.Array):
        return actual.inner == declared.inner
    return actual == declared


def _schema_diff(actual: pl.Schema, declared: pl.Schema, partitioned: bool) -> dict:
    # a daily partition's business_date is its path (date=...), not a stored column
    expected = {n: t for n, t in declared.items() if not (partitioned and n == "business_date")}
    return {
        "missing_columns": sorted(set(expected) - set(actual.names())),
        "unexpected_columns": sorted(set(actual.names()) - set(expected)),
        "wrong_types": {n: f"{actual[n]} (declared {t})" for n, t in expected.items()
                        if n in actual.names() and not _same_type(actual[n], t)},
    }


def _schema_result(
    key: dg.AssetKey, paths: dict[str, Path], declared: pl.Schema, partitioned: bool
) -> dg.AssetCheckResult:
    missing = [label for label, path in paths.items() if not path.exists()]
    broken = {}
    for label, path in paths.items():
        if path.exists():
            diff = _schema_diff(pl.read_parquet_schema(path), declared, partitioned)
            if diff["missing_columns"] or diff["unexpected_columns"] or diff["wrong_types"]:
                broken[label] = diff
    return dg.AssetCheckResult(
        asset_key=key, check_name=SCHEMA_CHECK, passed=not missing and not broken, severity=ERROR,
        metadata={"files_checked": len(paths), "missing_files": missing[:SAMPLE], "files_broken": len(broken),
                  "first_mismatches": {k: broken[k] for k in list(broken)[:SAMPLE]}},
    )


def _specs(key: dg.AssetKey, rules: Sequence[Rule], partitioned: bool) -> list[dg.AssetCheckSpec]:
    partitions = daily_partitions if partitioned else None
    with warnings.catch_warnings():
        # partitioned check specs are "preview" in Dagster 1.13; we use them on purpose, so each day's
        # result is recorded against its partition in one-day runs
        warnings.simplefilter("ignore", dg.PreviewWarning)
        return [
            dg.AssetCheckSpec(
                SCHEMA_CHECK, asset=key, blocking=True, partitions_def=partitions,
                description="Every file has exactly the declared columns and types (blocking).",
            ),
            *(dg.AssetCheckSpec(r.name, asset=key, description=r.description, partitions_def=partitions)
              for r in rules),
        ]


def table_checks(table: str, declared: pl.Schema, rules: Sequence[Rule], partitioned: bool = True):
    """A multi-check for one lake table: the blocking schema check, then ``rules`` on its rows. When
    the schema is broken the rules are reported failed without reading the rows."""
    key = dg.AssetKey(table.split("/"))

    @dg.multi_asset_check(specs=_specs(key, rules, partitioned), name=f"{key.to_python_identifier()}_checks")
    def _checks(context: dg.AssetCheckExecutionContext, lake: LakeResource):
        store = lake.lake
        days = partition_days(context) if partitioned else []
        paths = ({d.isoformat(): store.partition_path(table, d) for d in days} if partitioned
                 else {table: store.table_path(table)})
        schema = _schema_result(key, paths, declared, partitioned)
        yield schema
        if not schema.passed:
            for rule in rules:
                yield dg.AssetCheckResult(
                    asset_key=key, check_name=rule.name, passed=False, severity=rule.severity,
                    description="not evaluated: the table does not have its declared schema",
                )
            return
        frame = (store.scan_days(table, days, declared).collect() if partitioned
                 else store.read_table(table, declared))
        for rule in rules:
            passed, metadata = rule.evaluate(store, days, frame)
            yield dg.AssetCheckResult(asset_key=key, check_name=rule.name, passed=bool(passed),
                                      severity=rule.severity, metadata={"rows": frame.height, **metadata})

    return _checks


# ---- rules ------------------------------------------------------------------------------------------


def _count(frame: pl.DataFrame, condition: pl.Expr) -> int:
    return frame.filter(condition.fill_null(False)).height


def _violations(**counts: int) -> tuple[bool, dict]:
    return all(n == 0 for n in counts.values()), counts


def ids_unique(column: str) -> Rule:
    def evaluate(_lake, _days, frame):
        ids = frame[column]
        duplicates = ids.drop_nulls().len() - ids.drop_nulls().n_unique()
        sample = frame.filter(pl.col(column).is_duplicated())[column].drop_nulls().unique().sort()
        return duplicates == 0 and ids.null_count() == 0, {
            "duplicate_ids": duplicates, "null_ids": ids.null_count(),
            "sample_duplicates": sample.head(SAMPLE).to_list()}

    name = f"{column.removesuffix('_id')}_ids_unique"
    return Rule(name, f"{column} is unique and never null.", ERROR, evaluate)


def non_empty(what: str) -> Rule:
    return Rule("non_empty", f"The {what} holds rows.", ERROR, lambda _l, _d, f: (f.height > 0, {}))


def _interaction_values(_lake, _days, frame):
    return _violations(
        csat_outside_1_5=_count(frame, ~pl.col("csat_score").is_between(1, 5)),
        nps_outside_0_10=_count(frame, ~pl.col("nps_score").is_between(0, 10)),
        unknown_kind=_count(frame, ~pl.col("kind").is_in(schemas.KINDS)),
        unknown_channel=_count(frame, ~pl.col("channel").is_in(schemas.CHANNELS)),
        null_source=frame["source"].null_count(),
        null_created_at=frame["created_at"].null_count(),
        negative_messages=_count(frame, pl.col("n_messages") < 0),
    )


def _interaction_durations(_lake, _days, frame):
    return _violations(
        negative_wait_seconds=_count(frame, pl.col("wait_seconds") < 0),
        negative_handle_seconds=_count(frame, pl.col("handle_seconds") < 0),
        first_response_before_creation=_count(frame, pl.col("first_response_at") < pl.col("created_at")),
        resolved_before_creation=_count(frame, pl.col("resolved_at") < pl.col("created_at")),
    )


def _reconciles_with_staging(lake: Lake, days, frame):
    staged = pl.concat([
        pl.scan_parquet(lake.table_path(f"staging/{a.SOURCE}")).filter(pl.col("business_date").is_in(days))
        .group_by("source").len()
        for a in INTERACTION_SOURCES if lake.table_path(f"staging/{a.SOURCE}").exists()
    ] or [pl.LazyFrame(schema={"source": pl.String, "len": pl.UInt32})]).collect()
    expected, actual = dict(staged.rows()), dict(frame.group_by("source").len().rows())
    diff = {s: actual.get(s, 0) - expected.get(s, 0) for s in expected.keys() | actual.keys()
            if actual.get(s, 0) != expected.get(s, 0)}
    return not diff, {"staged_rows": int(sum(expected.values())), "rows_minus_staged_by_source": diff}


def _interaction_ids(lake: Lake, days, with_transcript: bool = False) -> set[str]:
    frame = lake.scan_days("interactions", days, schemas.INTERACTIONS)
    if with_transcript:
        frame = frame.filter(pl.col("transcript").is_not_null())
    return set(frame.select("interaction_id").collect()["interaction_id"].to_list())


def _one_row_each(expected: set[str], frame: pl.DataFrame) -> tuple[bool, dict]:
    """Exactly the expected interaction ids, each once."""
    ids = frame["interaction_id"]
    missing, extra = expected - set(ids.to_list()), set(ids.to_list()) - expected
    duplicates = ids.len() - ids.n_unique()
    return not missing and not extra and not duplicates, {
        "expected": len(expected), "missing": len(missing), "unexpected": len(extra),
        "duplicates": duplicates, "sample_missing": sorted(missing)[:SAMPLE]}


def _covers_transcripts(lake: Lake, days, frame):
    return _one_row_each(_interaction_ids(lake, days, with_transcript=True), frame)


def _covers_interactions(lake: Lake, days, frame):
    return _one_row_each(_interaction_ids(lake, days), frame)


def _unit_vectors(_lake, _days, frame):
    ok = frame.filter(pl.col("status") == "ok")
    if ok.is_empty():
        return True, {"vectors": 0}
    norms = np.linalg.norm(ok["embedding"].to_numpy(), axis=1)
    bad = int(((norms < 0.99) | (norms > 1.01)).sum())
    return bad == 0, {"vectors": ok.height, "not_unit_length": bad,
                      "norm_min": float(norms.min()), "norm_max": float(norms.max())}


def _label_values(_lake, _days, frame):
    return _violations(
        semantic_csat_outside_1_5=_count(frame, ~pl.col("semantic_csat").is_between(1, 5)),
        sentiment_outside_minus1_1=_count(frame, ~pl.col("sentiment").is_between(-1, 1)),
        reason_score_outside_minus1_1=_count(frame, ~pl.col("contact_reason_score").abs().le(1.001)),
        null_status=frame["status"].null_count(),
    )


def _segments_unique(_lake, _days, frame):
    keys = ["business_date", "source", "brand", "channel"]
    dupes = frame.height - frame.select(keys).unique().height
    return dupes == 0, {"duplicate_segments": dupes}


BOUNDS = {"nps": (-100, 100), "nps_net": (None, None), "semantic_csat_mean": (1, 5)}  # others: >= 0


def _kpi_values(_lake, _days, frame):
    counts = {}
    for name, dtype in frame.schema.items():
        if not dtype.is_numeric() or name == "fcr_window_days":
            continue
        low, high = BOUNDS.get(name, (0, None))
        bad = (pl.col(name) < low if low is not None else pl.lit(False)) | (
            pl.col(name) > high if high is not None else pl.lit(False))
        if n := _count(frame, bad):
            counts[name] = n
    nan = sum(int(frame[c].is_nan().sum()) for c, t in frame.schema.items() if t.is_float())
    return not counts and nan == 0, {"columns_out_of_range": counts, "nan_values": nan}


def _contacts_reconcile(lake: Lake, days, frame):
    facts = lake.scan_days("interactions", days, schemas.INTERACTIONS).filter(
        (pl.col("kind") == "contact") & (pl.col("status").fill_null("") != "merged")
    ).select("interaction_id").unique().collect()
    return facts.height == frame["contacts"].sum(), {
        "contacts_in_interactions": facts.height, "contacts_in_table": int(frame["contacts"].sum())}


def _no_anomalies(_lake, _days, frame):
    bad = frame.filter(pl.col("direction") == "bad")
    top = frame.sort(pl.col("score").abs(), descending=True).head(SAMPLE)
    shown = ("kpi", "segment", "value", "expected", "score", "direction", "drivers")
    return frame.is_empty(), {
        "anomalies": frame.height, "bad": bad.height,
        "kpis": sorted(frame["kpi"].unique().to_list()),
        "top": dg.MetadataValue.json([
            {"business_date": str(r["business_date"]), **{k: r[k] for k in shown}}
            for r in top.iter_rows(named=True)
        ]),
    }


def _topic_volumes(_lake, _days, frame):
    return _violations(
        window_not_recent_plus_baseline=_count(
            frame, pl.col("volume_window") != pl.col("volume_recent") + pl.col("volume_baseline")),
        daily_volumes_not_window=_count(frame, pl.col("daily_volume").list.sum() != pl.col("volume_window")),
        day_above_recent=_count(frame, pl.col("volume_day") > pl.col("volume_recent")),
        shares_outside_0_1=_count(frame, ~pl.col("share_recent").fill_null(0).is_between(0, 1)
                                  | ~pl.col("share_baseline").fill_null(0).is_between(0, 1)),
        unnamed=_count(frame, pl.col("name").fill_null("") == ""),
    )


KPI_RULES = [
    Rule("one_row_per_segment", "One row per day x source x brand x channel.", ERROR, _segments_unique),
    Rule("values_in_range", "Counts, sums and durations >= 0, NPS in [-100, 100], semantic CSAT mean in "
         "[1, 5], no NaN.", ERROR, _kpi_values),
    Rule("contacts_reconcile", "The table's contacts add up to the contacts in interactions for the "
         "same days (deduplicated, merged tickets excluded).", ERROR, _contacts_reconcile),
]

DAILY_CHECKS = [
    table_checks("interactions", schemas.INTERACTIONS, [
        Rule("values_in_range", "CSAT 1-5, NPS 0-10, known kind and channel, source and created_at "
             "present, message counts >= 0.", ERROR, _interaction_values),
        Rule("durations_non_negative", "Waits and handle times >= 0, no reply or resolution before "
             "creation (the KPI formulas leave such durations out; this shows how many).", WARN,
             _interaction_durations),
        Rule("reconciles_with_staging", "Rows per source = staged rows of the same days.", ERROR,
             _reconciles_with_staging),
    ]),
    table_checks("transcript_embeddings", schemas.TRANSCRIPT_EMBEDDINGS, [
        ids_unique("interaction_id"),
        Rule("covers_transcripts", "Exactly one vector per interaction with a transcript.", ERROR,
             _covers_transcripts),
        Rule("unit_vectors", "Vectors of status ok have unit length (+-1%).", WARN, _unit_vectors),
    ]),
    table_checks("interaction_labels", schemas.INTERACTION_LABELS, [
        ids_unique("interaction_id"),
        Rule("covers_interactions", "Every interaction of the day is labelled (100%), nothing else.", ERROR,
             _covers_interactions),
        Rule("values_in_range", "Semantic CSAT 1-5, sentiment -1..1, reason score -1..1, a status on every "
             "row.", ERROR, _label_values),
    ]),
    table_checks("contact_topics", topics.CONTACT_TOPICS, [
        Rule("volumes_consistent", "Per topic: window volume = recent + baseline = sum of the daily volumes, "
             "the day's volume <= recent volume, shares in [0, 1], a name.", ERROR, _topic_volumes),
    ]),
    *(table_checks(t, s, KPI_RULES) for t, s in [
        ("kpi_funnel_daily", kpis.FUNNEL_DAILY),
        ("kpi_operating_daily", kpis.OPERATING_DAILY),
        ("kpi_performance_daily", kpis.PERFORMANCE_DAILY),
    ]),
    table_checks("kpi_anomalies", ANOMALIES, [
        Rule("no_anomalies", "No KPI left its trailing baseline (fails with the anomalies in metadata).",
             WARN, _no_anomalies),
    ]),
]

SOURCE_CHECKS = [
    *(table_checks(f"staging/{a.SOURCE}", schemas.INTERACTIONS,
                   [ids_unique("interaction_id"), non_empty("staged export")], partitioned=False)
      for a in INTERACTION_SOURCES),
    table_checks("customers", schemas.CUSTOMERS, [ids_unique("customer_id"), non_empty("customers snapshot")],
                 partitioned=False),
]


# ---- freshness --------------------------------------------------------------------------------------

FRESHNESS_CHECK = "latest_partition_on_time"
FRESHNESS_TABLES = ("kpi_funnel_daily", "kpi_operating_daily", "kpi_performance_daily", "kpi_anomalies")


def now() -> dt.datetime:
    """The evaluation time (a function, so tests can pin it)."""
    return dt.datetime.now(tz=ZoneInfo(BUSINESS_TZ))


def due_partition(at: dt.datetime, deadline: dt.time = FRESHNESS_DEADLINE) -> tuple[dt.date, dt.datetime]:
    """The latest business day that must be materialized at ``at``, and its deadline: day D is due at
    ``deadline`` local time on D+1. Before today's deadline, the day before yesterday is the one due."""
    local = at.astimezone(ZoneInfo(BUSINESS_TZ))
    today_deadline = dt.datetime.combine(local.date(), deadline, tzinfo=ZoneInfo(BUSINESS_TZ))
    deadline_at = today_deadline if local >= today_deadline else today_deadline - dt.timedelta(days=1)
    return deadline_at.date() - dt.timedelta(days=1), deadline_at


def freshness_check(table: str) -> dg.AssetChecksDefinition:
    key = dg.AssetKey(table)

    @dg.asset_check(
        asset=key, name=FRESHNESS_CHECK,
        description=f"The latest business day is materialized by {FRESHNESS_DEADLINE:%H:%M} {BUSINESS_TZ} "
        "the day after (a missing or late partition fails).",
    )
    def _check(context: dg.AssetCheckExecutionContext) -> dg.AssetCheckResult:
        evaluated_at = now()
        due, deadline = due_partition(evaluated_at)
        records = context.instance.fetch_materializations(
            dg.AssetRecordsFilter(asset_key=key, asset_partitions=[due.isoformat()]), limit=1
        ).records
        materialized = sorted(context.instance.get_materialized_partitions(key))
        latest = materialized[-1] if materialized else None
        at = records[0].timestamp if records else None
        metadata = {
            "due_partition": due.isoformat(),
            "deadline": dg.MetadataValue.timestamp(deadline),
            "evaluated_at": dg.MetadataValue.timestamp(evaluated_at),
            "latest_materialized_partition": latest or "none",
            "late": bool(at and at > deadline.timestamp()),
        }
        if latest:
            metadata["days_behind"] = max((due - dt.date.fromisoformat(latest)).days, 0)
        if at:
            metadata["materialized_at"] = dg.MetadataValue.timestamp(at)
        return dg.AssetCheckResult(passed=bool(records), severity=ERROR, metadata=metadata)

    return _check


FRESHNESS_CHECKS = [freshness_check(t) for t in FRESHNESS_TABLES]
