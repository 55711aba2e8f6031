"""KPI formulas of the three tiers, as pure polars functions (no Dagster import).

Input is a *facts* frame: interactions (canonical schema) joined with their labels (``contact_reason``,
``is_sales``, ``semantic_csat``). Output is one row per business date and segment (``source``,
``brand``, ``channel``) holding numerators and denominators; every rate column is then derived from
them by the KPI catalog (:mod:`cx_platform.lib.kpi_catalog`), so any rollup (week, month, all brands)
is a ratio of sums, never an average of ratios, and a rate whose denominator is zero is null.
"""

from __future__ import annotations

import datetime as dt

import polars as pl

from cx_platform.lib.economics import Economics
from cx_platform.lib.kpi_catalog import SEGMENTS, apply_rates
from cx_platform.lib.schemas import INTERACTIONS
from cx_platform.lib.taxonomy import Qualification

FCR_WINDOW_DAYS = 7
UNKNOWN = "(unknown)"
SATISFIED_THRESHOLD = 3.5  # a predicted 1-5 score that rounds to 4 or 5

FACTS = pl.Schema(
    {**INTERACTIONS, "contact_reason": pl.String, "is_sales": pl.Boolean, "semantic_csat": pl.Float32}
)
SURVEY_ANSWERS = pl.Schema(
    {"interaction_id": pl.String, "answered_at": pl.Datetime("us", "UTC"), "csat_score": pl.Int8,
     "nps_score": pl.Int8}
)

_KEYS = {"business_date": pl.Date, "source": pl.String, "brand": pl.String, "channel": pl.String}
_I, _F = pl.Int64, pl.Float64

FUNNEL_DAILY = pl.Schema(
    {**_KEYS, "contacts": _I, "leads": _I, "qualified_leads": _I, "qualification_rate": _F}
)

OPERATING_DAILY = pl.Schema(
    {
        **_KEYS,
        "contacts": _I, "resolved_contacts": _I, "open_contacts": _I,
        "handled_contacts": _I, "handle_seconds_sum": _F, "aht_seconds": _F,
        "frt_count": _I, "frt_seconds_sum": _F, "frt_seconds_mean": _F, "frt_seconds_median": _F,
        "frt_business_seconds_sum": _F, "frt_business_seconds_mean": _F,
        "resolution_count": _I, "resolution_seconds_sum": _F, "resolution_seconds_mean": _F,
        "fcr_resolved_contacts": _I, "fcr_first_contact_resolutions": _I, "fcr_rate": _F,
        "fcr_window_days": pl.Int32, "fcr_window_complete": pl.Boolean,
        "bot_contacts": _I, "deflected_contacts": _I, "handed_off_contacts": _I, "bot_abandoned_contacts": _I,
        "deflection_rate": _F, "handoff_rate": _F,
        "offered_calls": _I, "abandoned_calls": _I, "short_abandoned_calls": _I, "abandonment_rate": _F,
        "reopen_known_contacts": _I, "reopened_contacts": _I, "reopen_rate": _F,
        "escalation_known_contacts": _I, "escalated_contacts": _I, "escalation_rate": _F,
        "transfer_known_contacts": _I, "transferred_contacts": _I, "transfer_rate": _F,
        "sla_eligible_contacts": _I, "sla_met_contacts": _I, "sla_attainment": _F,
    }
)

PERFORMANCE_DAILY = pl.Schema(
    {
        **_KEYS,
        "contacts": _I, "resolved_contacts": _I,
        "csat_responses": _I, "csat_satisfied": _I, "csat_rate": _F, "csat_coverage": _F,
        "semantic_scored": _I, "semantic_satisfied": _I, "semantic_csat_rate": _F,
        "semantic_csat_sum": _F, "semantic_csat_mean": _F, "semantic_coverage": _F,
        "nps_responses": _I, "nps_promoters": _I, "nps_detractors": _I, "nps_net": _I, "nps": _F,
        "support_cost": _F, "cost_per_contact": _F, "cost_per_resolution": _F,
        "deflected_contacts": _I, "deflection_savings": _F,
    }
)

CUSTOMER_BASE = pl.Schema(
    {
        "source": pl.String, "contract": pl.String, "customers": _I, "churned": _I, "retained": _I,
        "churn_rate": _F, "retention_rate": _F, "monthly_revenue_sum": _F, "arpa": _F,
        "gross_margin": _F, "margin_per_month": _F, "ltv": _F,
        "new_customers": _I, "marketing_spend": _F, "cac": _F, "ltv_to_cac": _F,
    }
)


def _count(condition: pl.Expr) -> pl.Expr:
    return condition.fill_null(False).cast(pl.Int64).sum()


def _count_known(column: str) -> pl.Expr:
    return pl.col(column).is_not_null().cast(pl.Int64).sum()


def _seconds_between(start: str, end: str) -> pl.Expr:
    """Duration in seconds; negative durations (clock skew, end before start) become null, never averaged."""
    seconds = (pl.col(end) - pl.col(start)).dt.total_microseconds().cast(pl.Float64) / 1e6
    return pl.when(seconds >= 0).then(seconds).otherwise(None)


def _finish(frame: pl.DataFrame, table: str, schema: pl.Schema) -> pl.DataFrame:
    return apply_rates(frame, table).select(schema.names()).sort(["business_date", *SEGMENTS])


# ---- facts ------------------------------------------------------------------------------------------


def build_facts(
    interactions: pl.DataFrame, labels: pl.DataFrame, survey_answers: pl.DataFrame | None = None
) -> pl.DataFrame:
    """The KPI input: one row per interaction id (a duplicate delivered twice counts once; a ticket
    merged into another, status ``merged``, is not a contact of its own), with its labels, and with
    survey answers that arrived separately attached to the interaction - so an answer given days later
    belongs to the interaction's date, and a changed answer counts once (the latest wins)."""
    frame = interactions.unique("interaction_id", keep="first", maintain_order=True).filter(
        pl.col("status").fill_null("") != "merged"
    )
    if survey_answers is not None and survey_answers.height:
        latest = (
            survey_answers.sort("answered_at")
            .group_by("interaction_id")
            .agg(pl.col("csat_score").drop_nulls().last().alias("_csat"),
                 pl.col("nps_score").drop_nulls().last().alias("_nps"))
        )
        frame = (
            frame.join(latest, on="interaction_id", how="left")
            .with_columns(pl.coalesce("_csat", "csat_score").alias("csat_score"),
                          pl.coalesce("_nps", "nps_score").alias("nps_score"))
            .drop("_csat", "_nps")
        )
    return (
        frame.join(labels.select("interaction_id", "contact_reason", "is_sales", "semantic_csat"),
                   on="interaction_id", how="left")
        .with_columns(pl.col(list(SEGMENTS)).fill_null(UNKNOWN))
        .select(FACTS.names())
    )


def flag_repeat_contacts(facts: pl.DataFrame, window_days: int = FCR_WINDOW_DAYS) -> pl.DataFrame:
    """Add ``repeat_within_window``: the same customer contacted the same source again about the same
    issue (contact reason, else the source's own reason, else queue) within ``window_days`` after this
    contact. Null when the customer is unknown (such contacts are left out of FCR)."""
    issue = pl.coalesce("contact_reason", "source_reason", "queue").fill_null(UNKNOWN)
    ordered = (
        facts.with_row_index("_row")
        .with_columns(issue.alias("_issue"))
        .sort(["source", "customer_id", "_issue", "created_at", "_row"])
    )
    next_at = pl.col("created_at").shift(-1).over(["source", "customer_id", "_issue"])
    gap = (next_at - pl.col("created_at")).dt.total_seconds()
    repeat = (
        pl.when(pl.col("customer_id").is_null())
        .then(None)
        .otherwise(gap.is_not_null() & (gap <= window_days * 86_400))
    )
    return ordered.with_columns(repeat.alias("repeat_within_window")).sort("_row").drop("_row", "_issue")


def _contacts_of(facts: pl.DataFrame, days: list[dt.date], window_days: int) -> pl.DataFrame:
    """Contacts of ``days``, flagged for repeats against everything in ``facts`` (which also holds the
    ``window_days`` days after the last day, so a repeat that lands in a later partition is seen)."""
    contacts = facts.filter(pl.col("kind") == "contact")
    return flag_repeat_contacts(contacts, window_days).filter(pl.col("business_date").is_in(days))


# Bot outcomes: every contact that entered automation is exactly one of these three.
_BOT = pl.col("handled_by_bot").fill_null(False)
_HANDED_OFF = _BOT & pl.col("handed_off_to_human").fill_null(False)
_DEFLECTED = (
    _BOT & ~_HANDED_OFF & pl.col("resolved").fill_null(False) & ~pl.col("repeat_within_window").fill_null(False)
)
_BOT_ABANDONED = _BOT & ~_HANDED_OFF & ~_DEFLECTED


# ---- funnel -----------------------------------------------------------------------------------------


def funnel_daily(facts: pl.DataFrame, qualification: Qualification) -> pl.DataFrame:
    """leads = contacts whose contact reason is a sales reason; qualified = a human engaged with the lead
    (answered call of >= min_handle_seconds, or a conversation of >= min_messages messages)."""
    is_lead = pl.col("is_sales").fill_null(False)
    engaged = (pl.col("handle_seconds") >= qualification.min_handle_seconds) | (
        pl.col("n_messages") >= qualification.min_messages
    )
    out = (
        facts.filter(pl.col("kind") == "contact")
        .group_by(["business_date", *SEGMENTS])
        .agg(
            pl.len().cast(pl.Int64).alias("contacts"),
            _count(is_lead).alias("leads"),
            _count(is_lead & engaged).alias("qualified_leads"),
        )
    )
    return _finish(out, "kpi_funnel_daily", FUNNEL_DAILY)


# ---- operating --------------------------------------------------------------------------------------


def _business_frt(contacts: pl.DataFrame, economics: Economics) -> pl.Series:
    hours = economics.business_hours
    if hours is None:
        return pl.Series("_frt_business", [None] * contacts.height, dtype=pl.Float64)
    values = [
        hours.seconds_between(start, end) if start is not None and end is not None else None
        for start, end in zip(contacts["created_at"].to_list(), contacts["first_response_at"].to_list())
    ]
    return pl.Series("_frt_business", values, dtype=pl.Float64)


def operating_daily(
    facts: pl.DataFrame,
    days: list[dt.date],
    window_complete_days: set[dt.date],
    economics: Economics,
    window_days: int = FCR_WINDOW_DAYS,
) -> pl.DataFrame:
    """Operating KPIs for ``days`` (see the catalog for each definition)."""
    contacts = _contacts_of(facts, days, window_days)
    frt = _seconds_between("created_at", "first_response_at")
    targets = pl.col("channel").replace_strict(economics.sla_targets_seconds, default=None, return_dtype=_F)
    sla_met = pl.coalesce(pl.col("responded_in_time"), pl.when(frt.is_not_null() & targets.is_not_null())
                          .then(frt <= targets))
    answered_known = pl.col("answered").is_not_null()
    short_abandon = (
        pl.col("abandoned").fill_null(False)
        & (pl.col("wait_seconds").fill_null(float("inf")) < economics.short_abandon_seconds)
    )
    offered = answered_known & ~short_abandon
    fcr_eligible = pl.col("resolved").fill_null(False) & pl.col("repeat_within_window").is_not_null()
    handle = pl.when(pl.col("handle_seconds") > 0).then(pl.col("handle_seconds"))
    out = (
        contacts.with_columns(
            handle.alias("_handle"), frt.alias("_frt"), _business_frt(contacts, economics),
            _seconds_between("created_at", "resolved_at").alias("_res"), sla_met.alias("_sla"),
        )
        .group_by(["business_date", *SEGMENTS])
        .agg(
            pl.len().cast(pl.Int64).alias("contacts"),
            _count(pl.col("resolved")).alias("resolved_contacts"),
            _count(pl.col("status").is_in(["open", "pending"])).alias("open_contacts"),
            pl.col("_handle").count().cast(pl.Int64).alias("handled_contacts"),
            pl.col("_handle").sum().alias("handle_seconds_sum"),
            pl.col("_frt").count().cast(pl.Int64).alias("frt_count"),
            pl.col("_frt").sum().alias("frt_seconds_sum"),
            pl.col("_frt").median().alias("frt_seconds_median"),
            pl.when(pl.col("_frt_business").count() > 0).then(pl.col("_frt_business").sum())
            .alias("frt_business_seconds_sum"),
            pl.col("_res").count().cast(pl.Int64).alias("resolution_count"),
            pl.col("_res").sum().alias("resolution_seconds_sum"),
            _count(fcr_eligible).alias("fcr_resolved_contacts"),
            _count(fcr_eligible & ~pl.col("repeat_within_window").fill_null(True)).alias(
                "fcr_first_contact_resolutions"
            ),
            _count(_BOT).alias("bot_contacts"),
            _count(_DEFLECTED).alias("deflected_contacts"),
            _count(_HANDED_OFF).alias("handed_off_contacts"),
            _count(_BOT_ABANDONED).alias("bot_abandoned_contacts"),
            _count(offered).alias("offered_calls"),
            _count(offered & pl.col("abandoned")).alias("abandoned_calls"),
            _count(answered_known & short_abandon).alias("short_abandoned_calls"),
            _count(pl.col("resolved").fill_null(False) & pl.col("reopened").is_not_null())
            .alias("reopen_known_contacts"),
            _count(pl.col("resolved").fill_null(False) & pl.col("reopened")).alias("reopened_contacts"),
            _count_known("escalated").alias("escalation_known_contacts"),
            _count(pl.col("escalated")).alias("escalated_contacts"),
            _count_known("transferred").alias("transfer_known_contacts"),
            _count(pl.col("transferred")).alias("transferred_contacts"),
            _count_known("_sla").alias("sla_eligible_contacts"),
            _count(pl.col("_sla")).alias("sla_met_contacts"),
        )
        .with_columns(
            pl.lit(window_days, dtype=pl.Int32).alias("fcr_window_days"),
            pl.col("business_date").is_in(sorted(window_complete_days)).alias("fcr_window_complete"),
        )
    )
    return _finish(out, "kpi_operating_daily", OPERATING_DAILY)


# ---- performance ------------------------------------------------------------------------------------


def _human_cost(economics: Economics) -> pl.Expr:
    """The channel's human cost per contact (unknown channels at the ``other`` rate)."""
    return pl.col("channel").replace_strict(
        economics.human_cost_per_contact, default=economics.human_cost_per_contact.get("other"),
        return_dtype=_F,
    )


def _unit_cost(economics: Economics) -> pl.Expr:
    """Activity-based cost of a contact: automation cost while it stays with a bot, else human cost."""
    automation = pl.lit(economics.automation_cost_per_contact)
    return pl.when(_BOT & ~_HANDED_OFF).then(automation).otherwise(_human_cost(economics))


def performance_daily(
    facts: pl.DataFrame, days: list[dt.date], economics: Economics, window_days: int = FCR_WINDOW_DAYS
) -> pl.DataFrame:
    """Performance KPIs for ``days``. Survey rows (kind ``survey``) count for CSAT / NPS only."""
    contacts = _contacts_of(facts, days, window_days)
    surveys = facts.filter(pl.col("kind") == "survey", pl.col("business_date").is_in(days))
    rows = pl.concat([contacts, surveys.with_columns(pl.lit(None, pl.Boolean).alias("repeat_within_window"))])
    is_contact = pl.col("kind") == "contact"
    csat = pl.col("csat_score").cast(pl.Int64)
    nps = pl.col("nps_score").cast(pl.Int64)
    scored = is_contact & pl.col("semantic_csat").is_not_null()
    saving = _human_cost(economics) - economics.automation_cost_per_contact
    out = (
        rows.with_columns(pl.when(is_contact).then(_unit_cost(economics)).alias("_cost"))
        .group_by(["business_date", *SEGMENTS])
        .agg(
            _count(is_contact).alias("contacts"),
            _count(is_contact & pl.col("resolved")).alias("resolved_contacts"),
            _count(csat.is_between(1, 5)).alias("csat_responses"),
            _count(csat.is_between(4, 5)).alias("csat_satisfied"),
            _count(scored).alias("semantic_scored"),
            _count(scored & (pl.col("semantic_csat") >= SATISFIED_THRESHOLD)).alias("semantic_satisfied"),
            pl.col("semantic_csat").filter(scored).cast(_F).sum().alias("semantic_csat_sum"),
            _count(nps.is_between(0, 10)).alias("nps_responses"),
            _count(nps.is_between(9, 10)).alias("nps_promoters"),
            _count(nps.is_between(0, 6)).alias("nps_detractors"),
            pl.col("_cost").sum().alias("support_cost"),
            _count(_DEFLECTED).alias("deflected_contacts"),
            saving.filter(_DEFLECTED).sum().alias("deflection_savings"),
        )
        .with_columns((pl.col("nps_promoters") - pl.col("nps_detractors")).alias("nps_net"))
    )
    return _finish(out, "kpi_performance_daily", PERFORMANCE_DAILY)


# ---- customer base ----------------------------------------------------------------------------------


def customer_base(customers: pl.DataFrame, economics: Economics) -> pl.DataFrame:
    """Churn, retention, ARPA, LTV, CAC and LTV:CAC from a customers snapshot, per contract type.
    LTV = ARPA x gross margin / monthly churn rate (the churn flag means 'left within the last month').
    CAC = marketing spend of the acquisition window / customers whose tenure is within the window; the
    spend is not split by contract, so CAC is allocated to contracts by their share of new customers
    (every contract's CAC is then the same blended figure)."""
    window = economics.acquisition_window_months
    new = pl.col("tenure_months") <= window
    total_new = customers.filter(new).height
    spend = economics.marketing_spend()
    out = (
        customers.with_columns(pl.col("contract").fill_null(UNKNOWN))
        .group_by(["source", "contract"])
        .agg(
            pl.len().cast(pl.Int64).alias("customers"),
            _count(pl.col("churned")).alias("churned"),
            _count(~pl.col("churned")).alias("retained"),
            pl.col("monthly_revenue").sum().alias("monthly_revenue_sum"),
            _count(new).alias("new_customers"),
        )
        .with_columns(
            pl.lit(economics.gross_margin).alias("gross_margin"),
            (pl.col("monthly_revenue_sum") / pl.col("customers") * economics.gross_margin).alias("margin_per_month"),
            (spend * pl.col("new_customers") / total_new if total_new else pl.lit(0.0)).alias("marketing_spend"),
        )
    )
    # the catalog orders rates so that LTV follows churn and LTV:CAC follows LTV and CAC
    return apply_rates(out, "kpi_customer_base").select(CUSTOMER_BASE.names()).sort(["source", "contract"])
