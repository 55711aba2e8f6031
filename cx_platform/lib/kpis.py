"""KPI formulas of the three tiers, as pure polars functions (no Dagster import).

Input is a *facts* frame: interactions (canonical schema) joined with their labels (``contact_reason``,
``is_sales``, ``semantic_csat``). Output is one row per business date and segment
(``source``, ``brand``, ``channel``) holding every rate together with its numerator and denominator, so
any rollup (week, month, all brands) is a ratio of sums, never an average of ratios. A rate whose
denominator is zero is null.
"""

from __future__ import annotations

import datetime as dt

import polars as pl

from cx_platform.lib.schemas import INTERACTIONS
from cx_platform.lib.taxonomy import Qualification

SEGMENTS = ("source", "brand", "channel")
FCR_WINDOW_DAYS = 7
UNKNOWN = "(unknown)"

FACTS = pl.Schema(
    {**INTERACTIONS, "contact_reason": pl.String, "is_sales": pl.Boolean, "semantic_csat": pl.Float32}
)

_KEYS = {"business_date": pl.Date, "source": pl.String, "brand": pl.String, "channel": pl.String}

FUNNEL_DAILY = pl.Schema(
    {**_KEYS, "contacts": pl.Int64, "leads": pl.Int64, "qualified_leads": pl.Int64,
     "qualification_rate": pl.Float64}
)

OPERATING_DAILY = pl.Schema(
    {
        **_KEYS,
        "contacts": pl.Int64,  # activity: kept apart from the outcome KPIs below
        "handled_contacts": pl.Int64, "handle_seconds_sum": pl.Float64, "aht_seconds": pl.Float64,
        "frt_count": pl.Int64, "frt_seconds_sum": pl.Float64, "frt_seconds_mean": pl.Float64,
        "frt_seconds_median": pl.Float64,  # not additive: recompute from interactions for rollups
        "resolution_count": pl.Int64, "resolution_seconds_sum": pl.Float64,
        "resolution_seconds_mean": pl.Float64,
        "fcr_resolved_contacts": pl.Int64, "fcr_first_contact_resolutions": pl.Int64, "fcr_rate": pl.Float64,
        "fcr_window_days": pl.Int32, "fcr_window_complete": pl.Boolean,
        "offered_calls": pl.Int64, "abandoned_calls": pl.Int64, "abandonment_rate": pl.Float64,
        "bot_contacts": pl.Int64, "deflected_contacts": pl.Int64, "deflection_rate": pl.Float64,
    }
)

PERFORMANCE_DAILY = pl.Schema(
    {
        **_KEYS,
        "contacts": pl.Int64,
        "csat_responses": pl.Int64, "csat_satisfied": pl.Int64, "csat_rate": pl.Float64,
        "csat_coverage": pl.Float64,
        "semantic_scored": pl.Int64, "semantic_satisfied": pl.Int64, "semantic_csat_rate": pl.Float64,
        "semantic_csat_sum": pl.Float64, "semantic_csat_mean": pl.Float64, "semantic_coverage": pl.Float64,
        "nps_responses": pl.Int64, "nps_promoters": pl.Int64, "nps_detractors": pl.Int64, "nps": pl.Float64,
    }
)

CUSTOMER_BASE = pl.Schema(
    {
        "source": pl.String, "contract": pl.String, "customers": pl.Int64, "churned": pl.Int64,
        "churn_rate": pl.Float64, "retention_rate": pl.Float64, "monthly_revenue_sum": pl.Float64,
        "arpa": pl.Float64, "gross_margin": pl.Float64, "ltv": pl.Float64,
    }
)


def rate(numerator: str | pl.Expr, denominator: str | pl.Expr) -> pl.Expr:
    """numerator / denominator, null when the denominator is zero or null (never 0, NaN or inf)."""
    num = pl.col(numerator) if isinstance(numerator, str) else numerator
    den = pl.col(denominator) if isinstance(denominator, str) else denominator
    return pl.when(den > 0).then(num.cast(pl.Float64) / den.cast(pl.Float64)).otherwise(None)


def _count(condition: pl.Expr) -> pl.Expr:
    return condition.fill_null(False).cast(pl.Int64).sum()


def _segmented(facts: pl.DataFrame) -> pl.DataFrame:
    return facts.with_columns(pl.col(list(SEGMENTS)).fill_null(UNKNOWN))


def _seconds_between(start: str, end: str) -> pl.Expr:
    """Duration in seconds; negative durations (clock skew, end before start) become null, never averaged."""
    seconds = (pl.col(end) - pl.col(start)).dt.total_microseconds().cast(pl.Float64) / 1e6
    return pl.when(seconds >= 0).then(seconds).otherwise(None)


# ---- funnel -----------------------------------------------------------------------------------------


def funnel_daily(facts: pl.DataFrame, qualification: Qualification) -> pl.DataFrame:
    """leads = contacts whose contact reason is a sales reason; qualified = a human engaged with the lead
    (answered call of >= min_handle_seconds, or a conversation of >= min_messages messages)."""
    contacts = _segmented(facts).filter(pl.col("kind") == "contact")
    is_lead = pl.col("is_sales").fill_null(False)
    engaged = (pl.col("handle_seconds") >= qualification.min_handle_seconds) | (
        pl.col("n_messages") >= qualification.min_messages
    )
    out = (
        contacts.group_by(["business_date", *SEGMENTS])
        .agg(
            pl.len().cast(pl.Int64).alias("contacts"),
            _count(is_lead).alias("leads"),
            _count(is_lead & engaged).alias("qualified_leads"),
        )
        .with_columns(rate("qualified_leads", "leads").alias("qualification_rate"))
    )
    return out.select(FUNNEL_DAILY.names()).sort(["business_date", *SEGMENTS])


# ---- operating --------------------------------------------------------------------------------------


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
    same_thread = ["source", "customer_id", "_issue"]
    next_at = pl.col("created_at").shift(-1).over(same_thread)
    gap = (next_at - pl.col("created_at")).dt.total_seconds()
    repeat = (
        pl.when(pl.col("customer_id").is_null())
        .then(None)
        .otherwise(gap.is_not_null() & (gap <= window_days * 86_400))
    )
    return ordered.with_columns(repeat.alias("repeat_within_window")).sort("_row").drop("_row", "_issue")


def operating_daily(
    facts: pl.DataFrame,
    days: list[dt.date],
    window_complete_days: set[dt.date],
    window_days: int = FCR_WINDOW_DAYS,
) -> pl.DataFrame:
    """Operating KPIs for ``days``. ``facts`` must also hold the ``window_days`` days after the last day,
    so repeat contacts that land in a later partition are seen."""
    contacts = flag_repeat_contacts(
        _segmented(facts).filter(pl.col("kind") == "contact"), window_days
    ).filter(pl.col("business_date").is_in(days))

    handle = pl.when(pl.col("handle_seconds") > 0).then(pl.col("handle_seconds")).otherwise(None)
    frt = _seconds_between("created_at", "first_response_at")
    resolution = _seconds_between("created_at", "resolved_at")
    fcr_eligible = pl.col("resolved").fill_null(False) & pl.col("repeat_within_window").is_not_null()
    bot = pl.col("handled_by_bot").fill_null(False)
    deflected = (
        bot & ~pl.col("handed_off_to_human").fill_null(False) & pl.col("resolved").fill_null(False)
        & ~pl.col("repeat_within_window").fill_null(False)
    )
    out = (
        contacts.with_columns(handle.alias("_handle"), frt.alias("_frt"), resolution.alias("_res"))
        .group_by(["business_date", *SEGMENTS])
        .agg(
            pl.len().cast(pl.Int64).alias("contacts"),
            pl.col("_handle").count().cast(pl.Int64).alias("handled_contacts"),
            pl.col("_handle").sum().alias("handle_seconds_sum"),
            pl.col("_frt").count().cast(pl.Int64).alias("frt_count"),
            pl.col("_frt").sum().alias("frt_seconds_sum"),
            pl.col("_frt").median().alias("frt_seconds_median"),
            pl.col("_res").count().cast(pl.Int64).alias("resolution_count"),
            pl.col("_res").sum().alias("resolution_seconds_sum"),
            _count(fcr_eligible).alias("fcr_resolved_contacts"),
            _count(fcr_eligible & ~pl.col("repeat_within_window").fill_null(True)).alias(
                "fcr_first_contact_resolutions"
            ),
            pl.col("answered").count().cast(pl.Int64).alias("offered_calls"),
            _count(pl.col("abandoned") & pl.col("answered").is_not_null()).alias("abandoned_calls"),
            _count(bot).alias("bot_contacts"),
            _count(deflected).alias("deflected_contacts"),
        )
        .with_columns(
            rate("handle_seconds_sum", "handled_contacts").alias("aht_seconds"),
            rate("frt_seconds_sum", "frt_count").alias("frt_seconds_mean"),
            rate("resolution_seconds_sum", "resolution_count").alias("resolution_seconds_mean"),
            rate("fcr_first_contact_resolutions", "fcr_resolved_contacts").alias("fcr_rate"),
            pl.lit(window_days, dtype=pl.Int32).alias("fcr_window_days"),
            pl.col("business_date").is_in(sorted(window_complete_days)).alias("fcr_window_complete"),
            rate("abandoned_calls", "offered_calls").alias("abandonment_rate"),
            rate("deflected_contacts", "bot_contacts").alias("deflection_rate"),
        )
    )
    return out.select(OPERATING_DAILY.names()).sort(["business_date", *SEGMENTS])


# ---- performance ------------------------------------------------------------------------------------


def performance_daily(facts: pl.DataFrame, satisfied_threshold: float = 3.5) -> pl.DataFrame:
    """Surveyed CSAT = ratings 4-5 / ratings (1-5); coverage = ratings / contacts. Semantic CSAT: the same on
    predicted scores (satisfied when the predicted 1-5 score >= 3.5, i.e. rounds to 4 or 5).
    NPS = 100 x (promoters 9-10 - detractors 0-6) / answers (0-10). Survey rows count for CSAT/NPS only."""
    rows = _segmented(facts).filter(pl.col("kind").is_in(["contact", "survey"]))
    is_contact = pl.col("kind") == "contact"
    csat = pl.col("csat_score").cast(pl.Int64)
    nps = pl.col("nps_score").cast(pl.Int64)
    out = (
        rows.group_by(["business_date", *SEGMENTS])
        .agg(
            _count(is_contact).alias("contacts"),
            _count(csat.is_between(1, 5)).alias("csat_responses"),
            _count(csat.is_between(4, 5)).alias("csat_satisfied"),
            _count(is_contact & pl.col("semantic_csat").is_not_null()).alias("semantic_scored"),
            _count(is_contact & (pl.col("semantic_csat") >= satisfied_threshold)).alias("semantic_satisfied"),
            pl.col("semantic_csat").filter(is_contact).cast(pl.Float64).sum().alias("semantic_csat_sum"),
            _count(nps.is_between(0, 10)).alias("nps_responses"),
            _count(nps.is_between(9, 10)).alias("nps_promoters"),
            _count(nps.is_between(0, 6)).alias("nps_detractors"),
        )
        .with_columns(
            rate("csat_satisfied", "csat_responses").alias("csat_rate"),
            rate("csat_responses", "contacts").alias("csat_coverage"),
            rate("semantic_satisfied", "semantic_scored").alias("semantic_csat_rate"),
            rate("semantic_csat_sum", "semantic_scored").alias("semantic_csat_mean"),
            rate("semantic_scored", "contacts").alias("semantic_coverage"),
            (100 * rate(pl.col("nps_promoters") - pl.col("nps_detractors"), "nps_responses")).alias("nps"),
        )
    )
    return out.select(PERFORMANCE_DAILY.names()).sort(["business_date", *SEGMENTS])


def customer_base(customers: pl.DataFrame, gross_margin: float = 0.7) -> pl.DataFrame:
    """Churn / retention / ARPA / LTV from a customers snapshot, per contract type.
    churn_rate = churned / customers; ARPA = monthly revenue / customers; LTV = ARPA x margin / churn_rate
    (monthly churn: the snapshot's churn flag means 'left within the last month')."""
    out = (
        customers.with_columns(pl.col("contract").fill_null(UNKNOWN))
        .group_by(["source", "contract"])
        .agg(
            pl.len().cast(pl.Int64).alias("customers"),
            _count(pl.col("churned")).alias("churned"),
            pl.col("monthly_revenue").sum().alias("monthly_revenue_sum"),
        )
        .with_columns(
            rate("churned", "customers").alias("churn_rate"),
            (1 - rate("churned", "customers")).alias("retention_rate"),
            rate("monthly_revenue_sum", "customers").alias("arpa"),
            pl.lit(gross_margin).alias("gross_margin"),
        )
        .with_columns(rate(pl.col("arpa") * pl.col("gross_margin"), "churn_rate").alias("ltv"))
    )
    return out.select(CUSTOMER_BASE.names()).sort(["source", "contract"])
