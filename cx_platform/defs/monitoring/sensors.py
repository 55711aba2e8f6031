"""Sensors for event-driven work: new or changed landing files, anomaly alerts, freshness checks.

* ``landing_sensor`` hashes every landing file; a file whose bytes changed (or a new or removed file) is
  parsed by its adapter to find the business days whose rows changed. It requests one run per window of
  changed days: the source's staging asset and the daily tables of those days, from 7 days before
  (the FCR/deflection KPIs of D-7..D-1 read day D) to the last changed day, as one single-run range.
  A file that was only touched is ignored; a re-sent corrected file re-runs just the days it corrects.
* ``topics_follow_up_sensor`` waits for such a run to succeed, then re-runs ``contact_topics`` alone for
  the 27 days after its range (up to the latest partition): their trailing 28-day window clusters the
  changed days. Running after the landing run, never beside it, it always reads the new embeddings; the
  KPI tables of those days, which do not read day D, are not re-run.
* ``anomaly_alert_sensor`` sends the anomalies of newly materialized ``kpi_anomalies`` partitions to the
  alert sink, which never sends the same (KPI, segment, day) twice.
* ``kpi_freshness_sensor`` runs the freshness checks after every deadline and whenever a monitored
  table gets new materializations, so a missing partition fails at the deadline and a late one turns
  the check green when it lands.
"""

import datetime as dt
import hashlib
import json
from pathlib import Path
from types import ModuleType

import dagster as dg
import polars as pl

from cx_platform.defs.ingestion.assets import INTERACTION_SOURCES
from cx_platform.defs.monitoring import checks
from cx_platform.defs.partitions import BUSINESS_TZ, daily_partitions
from cx_platform.defs.resources import AlertSinkResource, LakeResource, LandingResource
from cx_platform.lib import kpis, topics
from cx_platform.lib.anomaly import ANOMALIES
from cx_platform.lib.landing import (
    FileChanges,
    FileState,
    LandingState,
    changed_days,
    day_digests,
    diff_files,
    file_digest,
    landed_files,
    rerun_windows,
)
from cx_platform.lib.sources import telco

ADAPTERS: dict[str, ModuleType] = {a.SOURCE: a for a in (*INTERACTION_SOURCES, telco)}
DAILY_CHAIN = [
    dg.AssetKey(k)
    for k in ("interactions", "transcript_embeddings", "interaction_labels", "contact_topics",
              "kpi_funnel_daily", "kpi_operating_daily", "kpi_performance_daily", "kpi_anomalies")
]
CUSTOMER_CHAIN = [dg.AssetKey("customers"), dg.AssetKey("kpi_customer_base")]
# Changed days closer than this are re-run as one range (the days between are re-run too, idempotently).
MERGE_GAP_DAYS = 31
RANGE_START, RANGE_END = "dagster/asset_partition_range_start", "dagster/asset_partition_range_end"
# On a landing run: the last day whose contact topics read its range (their 28-day window looks back).
TOPICS_THROUGH = "cx/topics_through"

topics_job = dg.define_asset_job(
    "topics_job",
    selection=dg.AssetSelection.assets("contact_topics"),
    description="Re-discover the contact topics of a range of days (after late data changed their window).",
)


def staging_key(source: str) -> dg.AssetKey:
    return dg.AssetKey(["staging", source])


def _days_in_file(adapter: ModuleType, path: Path, log) -> dict[str, str] | None:
    """Per-day hashes of the file's rows; None when the adapter cannot read it (the staging run will
    fail and say why)."""
    try:
        rows = adapter.read([path], business_tz=BUSINESS_TZ).accepted
    except Exception as error:  # noqa: BLE001 - any parse failure is reported by the staging asset itself
        log.warning(f"{path}: cannot be read by {adapter.__name__} ({error}); re-staging the source only")
        return None
    return day_digests(rows, "customer_id" if adapter is telco else "interaction_id")


def _batch_id(changes: FileChanges, digests: dict[str, str]) -> str:
    touched = changes.new + changes.changed
    payload = json.dumps([touched, changes.removed, [digests[n] for n in touched]])
    return hashlib.blake2b(payload.encode(), digest_size=6).hexdigest()


def landing_run_requests(
    days_by_source: dict[str, set[dt.date]], batch: str, first: dt.date, last: dt.date
) -> list[dg.RunRequest]:
    """Run requests for the changed days of each changed source (see the module docstring). Each
    window's run re-stages the sources with changed days in it, so staging always precedes the days
    that read it; a source with no changed day in any partition (e.g. only quarantined records
    changed) is re-staged on its own."""
    requests = []
    interaction_sources = sorted(s for s in days_by_source if s != telco.SOURCE)
    days = set().union(*(days_by_source[s] for s in interaction_sources))
    staged_with_days: set[str] = set()
    # a changed day D is read by the FCR of D-7..D-1 (re-run here) and by the contact topics of
    # D+1..D+27 (re-run by topics_follow_up_sensor once this run has succeeded)
    for start, end in rerun_windows(days, kpis.FCR_WINDOW_DAYS, MERGE_GAP_DAYS, first, last):
        sources = [s for s in interaction_sources if any(start <= d <= end for d in days_by_source[s])]
        staged_with_days.update(sources)
        tags = {RANGE_START: start.isoformat(), RANGE_END: end.isoformat(),
                "cx/trigger": "landing", "cx/sources": ",".join(sources)}
        if (through := min(end + dt.timedelta(days=topics.WINDOW_DAYS - 1), last)) > end:
            tags[TOPICS_THROUGH] = through.isoformat()
        requests.append(dg.RunRequest(
            run_key=f"landing-{batch}-{start}-{end}",
            asset_selection=[*(staging_key(s) for s in sources), *DAILY_CHAIN],
            tags=tags,
        ))
    if rest := [s for s in interaction_sources if s not in staged_with_days]:
        requests.append(dg.RunRequest(
            run_key=f"landing-{batch}-staging", asset_selection=[staging_key(s) for s in rest],
            tags={"cx/trigger": "landing", "cx/sources": ",".join(rest)},
        ))
    if telco.SOURCE in days_by_source:
        requests.append(dg.RunRequest(run_key=f"landing-{batch}-customers", asset_selection=CUSTOMER_CHAIN,
                                      tags={"cx/trigger": "landing", "cx/sources": telco.SOURCE}))
    return requests


@dg.sensor(
    job_name="landing_job",
    minimum_interval_seconds=60,
    default_status=dg.DefaultSensorStatus.STOPPED,
    description="New, changed or removed landing files (by content hash) -> re-stage the source and "
    "re-run the daily tables of the days whose rows changed (plus the 7 days whose FCR reads them); "
    "topics_follow_up_sensor then re-runs the contact topics of the 27 days after.",
)
def landing_sensor(
    context: dg.SensorEvaluationContext, landing: LandingResource
) -> dg.SensorResult | dg.SkipReason:
    previous = LandingState.from_cursor(context.cursor)
    files = landed_files(Path(landing.root), {s: a.FILE_PATTERNS for s, a in ADAPTERS.items()})
    digests = {name: file_digest(path) for name, path in files.items()}
    changes = diff_files(previous.files, digests)
    if not changes.any:
        return dg.SkipReason(f"{len(digests)} landing files, none new or changed by content")

    state = LandingState({n: previous.files[n] for n in changes.unchanged})
    days_by_source: dict[str, set[dt.date]] = {}
    for name in changes.new + changes.changed:
        source = name.split("/", 1)[0]
        parsed = _days_in_file(ADAPTERS[source], files[name], context.log)
        old = previous.files.get(name, FileState(""))
        if parsed is None:  # unreadable: the days it held before are suspect
            days = {dt.date.fromisoformat(d) for d in old.days}
        else:
            days = changed_days(old.days, parsed)
        state.files[name] = FileState(digests[name], parsed or {})
        days_by_source.setdefault(source, set()).update(days)
    for name in changes.removed:
        gone = changed_days(previous.files[name].days, {})
        days_by_source.setdefault(name.split("/", 1)[0], set()).update(gone)

    first = dt.date.fromisoformat(daily_partitions.get_first_partition_key())
    last_key = daily_partitions.get_last_partition_key()
    requests = landing_run_requests(days_by_source, _batch_id(changes, digests), first,
                                    dt.date.fromisoformat(last_key) if last_key else first)
    context.log.info(
        f"new {changes.new}, changed {changes.changed}, removed {changes.removed}; changed days per source: "
        f"{ {s: len(d) for s, d in days_by_source.items()} }; {len(requests)} run(s)"
    )
    return dg.SensorResult(run_requests=requests, cursor=state.to_cursor())


@dg.run_status_sensor(
    run_status=dg.DagsterRunStatus.SUCCESS,
    request_job=topics_job,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="After a successful landing run, re-runs contact_topics for the 27 days after its range: "
    "their trailing window clusters the changed days.",
)
def topics_follow_up_sensor(context: dg.RunStatusSensorContext) -> dg.RunRequest | dg.SkipReason:
    tags = context.dagster_run.tags
    if TOPICS_THROUGH not in tags or RANGE_END not in tags:
        return dg.SkipReason(f"run {context.dagster_run.run_id} changed no day that later topics read")
    start = dt.date.fromisoformat(tags[RANGE_END]) + dt.timedelta(days=1)
    through = dt.date.fromisoformat(tags[TOPICS_THROUGH])
    if start > through:
        return dg.SkipReason(f"run {context.dagster_run.run_id}: no day after its range to re-run")
    return dg.RunRequest(
        run_key=f"topics-after-{context.dagster_run.run_id}",
        tags={RANGE_START: start.isoformat(), RANGE_END: through.isoformat(),
              "cx/trigger": "landing-topics", "cx/after_run": context.dagster_run.run_id},
    )


ALERT_BATCH = 100  # materializations read per evaluation


@dg.sensor(
    minimum_interval_seconds=60,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="Sends the anomalies of new kpi_anomalies partitions (bad and neutral ones, recent days "
    "only) to the alert sink: one alert per KPI, segment and day, ever.",
)
def anomaly_alert_sensor(
    context: dg.SensorEvaluationContext, lake: LakeResource, alert_sink: AlertSinkResource
) -> dg.SkipReason:
    after = int(context.cursor) if context.cursor else None
    records = context.instance.fetch_materializations(
        dg.AssetRecordsFilter(asset_key=dg.AssetKey("kpi_anomalies"), after_storage_id=after),
        limit=ALERT_BATCH, ascending=True,
    ).records
    if not records:
        return dg.SkipReason("no new kpi_anomalies partitions")
    days = sorted({dt.date.fromisoformat(r.partition_key) for r in records if r.partition_key})
    max_age = alert_sink.max_age_days
    oldest = checks.now().date() - dt.timedelta(days=max_age) if max_age else dt.date.min
    store = lake.lake
    found = store.scan_days("kpi_anomalies", [d for d in days if d >= oldest], ANOMALIES).collect()
    alerts = [
        {**row, "business_date": row["business_date"].isoformat()}
        for row in found.filter(pl.col("direction") != "good").iter_rows(named=True)
    ]
    sent = alert_sink.send(alerts)
    context.update_cursor(str(records[-1].storage_id))
    return dg.SkipReason(
        f"{len(records)} kpi_anomalies materializations ({len(days)} days): {len(alerts)} alertable "
        f"anomalies, {len(sent)} alerts sent, {len(alerts) - len(sent)} already sent"
    )


@dg.sensor(
    job_name="freshness_checks_job",
    minimum_interval_seconds=300,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="Runs the latest_partition_on_time checks after each daily deadline and after new "
    "materializations of the monitored tables.",
)
def kpi_freshness_sensor(context: dg.SensorEvaluationContext) -> dg.RunRequest | dg.SkipReason:
    _, deadline = checks.due_partition(checks.now())
    latest = max(
        (r.storage_id for table in checks.FRESHNESS_TABLES
         for r in context.instance.fetch_materializations(dg.AssetKey(table), limit=1).records),
        default=0,
    )
    cursor = f"{deadline.isoformat()}|{latest}"
    if cursor == context.cursor:
        return dg.SkipReason(f"no deadline passed and no new materialization since {context.cursor}")
    context.update_cursor(cursor)
    return dg.RunRequest(run_key=f"freshness-{cursor}", tags={"cx/trigger": "freshness"})
