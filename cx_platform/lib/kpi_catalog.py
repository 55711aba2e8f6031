"""The KPI catalog: every KPI of the three tiers defined once (no Dagster import).

The KPI tables compute their rate columns from it (:func:`apply_rates`), rollups re-derive rates from
summed numerators and denominators (:func:`rollup`), ``docs/kpis.md`` is generated from it
(``python -m cx_platform.lib.kpi_catalog``), and the dashboard reads titles and definitions from it.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass

import polars as pl

TIERS = ("funnel", "operating", "performance")
TABLES = {
    "funnel": "kpi_funnel_daily",
    "operating": "kpi_operating_daily",
    "performance": "kpi_performance_daily",
}
SEGMENTS = ("source", "brand", "channel")
ZERO_DENOMINATOR = "null when the denominator is 0 (never 0, NaN or inf)"


@dataclass(frozen=True)
class KPI:
    name: str  # the column that holds the value
    tier: str
    title: str
    definition: str
    unit: str  # count | seconds | ratio (0-1) | multiple | score | currency | nps
    higher_is_better: bool | None  # None: an activity metric with no good direction
    table: str
    numerator: str | None = None  # additive column(s) the value is derived from
    denominator: str | None = None
    scale: float = 1.0
    additive: bool = True  # False: cannot be rolled up from the daily table (e.g. a median)
    activity: bool = False  # volume-type metric, kept apart from outcome KPIs
    headline: bool = False  # shown as a tile on the executive dashboard
    null_rule: str = ZERO_DENOMINATOR
    segments: tuple[str, ...] = SEGMENTS

    @property
    def is_rate(self) -> bool:
        return self.denominator is not None

    @property
    def formula(self) -> str:
        if self.is_rate:
            scale = f"{self.scale:g} x " if self.scale != 1 else ""
            return f"{scale}{self.numerator} / {self.denominator}"
        return self.numerator or self.name


def _kpi(tier: str, name: str, title: str, definition: str, unit: str, better: bool | None, **kw) -> KPI:
    return KPI(name, tier, title, definition, unit, better, kw.pop("table", TABLES.get(tier, "")), **kw)


CATALOG: tuple[KPI, ...] = (
    # ---- funnel -------------------------------------------------------------------------------------
    _kpi("funnel", "leads", "Leads", "Contacts whose contact reason is a sales reason of the taxonomy "
         "(`sales: true`).", "count", True, numerator="leads", headline=True, null_rule="never null (0)"),
    _kpi("funnel", "qualified_leads", "Qualified leads", "Leads a human engaged with: an answered call of at "
         "least `min_handle_seconds`, or a conversation of at least `min_messages` messages (taxonomy "
         "`qualification`).", "count", True, numerator="qualified_leads", null_rule="never null (0)"),
    _kpi("funnel", "qualification_rate", "Lead qualification rate", "Share of leads that qualified.",
         "ratio", True, numerator="qualified_leads", denominator="leads", headline=True),
    # ---- operating ----------------------------------------------------------------------------------
    _kpi("operating", "contacts", "Contact volume", "Customer contacts (calls, tickets, conversations, "
         "complaints); survey answers and ghost calls excluded. Activity, not an outcome.", "count", None,
         numerator="contacts", activity=True, headline=True, null_rule="never null (0)"),
    _kpi("operating", "aht_seconds", "AHT / TMA", "Average handling time: talk + hold + after-contact work "
         "where the source has them (voice: time with the agent), over handled contacts.", "seconds", False,
         numerator="handle_seconds_sum", denominator="handled_contacts", headline=True),
    _kpi("operating", "frt_seconds_mean", "First response time (mean)", "First human reply - creation "
         "(bot and automatic replies never count; a reopened contact is timed from its reopening).",
         "seconds", False, numerator="frt_seconds_sum", denominator="frt_count", headline=True),
    _kpi("operating", "frt_seconds_median", "First response time (median)", "Median of first human reply - "
         "creation, per day and segment. Not additive: rollups recompute it from interactions.", "seconds",
         False, numerator="frt_seconds_median", additive=False, null_rule="null when no contact had a reply"),
    _kpi("operating", "frt_business_seconds_mean", "First response time in business hours",
         "As FRT, counting only seconds inside the configured business-hours calendar.", "seconds", False,
         numerator="frt_business_seconds_sum", denominator="frt_count"),
    _kpi("operating", "resolution_seconds_mean", "Resolution time", "Resolved - created, over contacts with "
         "both times; negative durations (clock skew) are left out, never averaged in.", "seconds", False,
         numerator="resolution_seconds_sum", denominator="resolution_count"),
    _kpi("operating", "fcr_rate", "First contact resolution", "Resolved contacts with no repeat contact by "
         "the same customer on the same issue (contact reason) within 7 days, over resolved contacts with a "
         "known customer. Provisional until D+1..D+7 have landed (`fcr_window_complete`).", "ratio", True,
         numerator="fcr_first_contact_resolutions", denominator="fcr_resolved_contacts", headline=True),
    _kpi("operating", "deflection_rate", "Deflection / containment", "Contacts that entered automation and "
         "were resolved there, with no human hand-off and no repeat contact within 7 days, over contacts "
         "that entered automation. Deflected, handed off and abandoned-in-bot are disjoint and add up to "
         "bot contacts.", "ratio", True, numerator="deflected_contacts", denominator="bot_contacts",
         headline=True),
    _kpi("operating", "handoff_rate", "Bot hand-off rate", "Bot contacts handed to a human, over bot "
         "contacts.", "ratio", False, numerator="handed_off_contacts", denominator="bot_contacts"),
    _kpi("operating", "abandonment_rate", "Abandonment rate", "Calls abandoned before an agent answered, "
         "over calls offered; calls abandoned within `short_abandon_seconds` count in neither.", "ratio",
         False, numerator="abandoned_calls", denominator="offered_calls", headline=True),
    _kpi("operating", "reopen_rate", "Reopen rate", "Resolved contacts reopened (e.g. CFPB consumer "
         "disputes), over resolved contacts whose source reports reopening.", "ratio", False,
         numerator="reopened_contacts", denominator="reopen_known_contacts"),
    _kpi("operating", "escalation_rate", "Escalation rate", "Contacts escalated, over contacts whose source "
         "reports escalation.", "ratio", False, numerator="escalated_contacts",
         denominator="escalation_known_contacts"),
    _kpi("operating", "transfer_rate", "Transfer rate", "Contacts moved to another queue or channel (a tweet "
         "answered 'please DM us'), over contacts whose source reports it.", "ratio", False,
         numerator="transferred_contacts", denominator="transfer_known_contacts"),
    _kpi("operating", "open_contacts", "Backlog (open contacts)", "Contacts of the day still open or pending "
         "at load time.", "count", False, numerator="open_contacts", null_rule="never null (0)"),
    _kpi("operating", "sla_attainment", "SLA attainment", "Contacts answered within the channel's "
         "first-response target (or judged timely by the source itself), over contacts with a verdict.",
         "ratio", True, numerator="sla_met_contacts", denominator="sla_eligible_contacts", headline=True),
    # ---- performance --------------------------------------------------------------------------------
    _kpi("performance", "csat_rate", "CSAT (surveyed)", "Survey ratings of 4-5 over ratings received "
         "(1-5 only; out-of-range answers are quarantined; a changed answer counts once).", "ratio", True,
         numerator="csat_satisfied", denominator="csat_responses", headline=True),
    _kpi("performance", "csat_coverage", "Survey coverage", "Contacts with a survey rating, over contacts.",
         "ratio", True, numerator="csat_responses", denominator="contacts"),
    _kpi("performance", "semantic_csat_rate", "CSAT (semantic)", "Contacts whose transcript's predicted "
         "satisfaction (1-5) is >= 3.5, over contacts with a predicted score.", "ratio", True,
         numerator="semantic_satisfied", denominator="semantic_scored", headline=True),
    _kpi("performance", "semantic_csat_mean", "Semantic CSAT score", "Mean predicted satisfaction (1-5).",
         "score", True, numerator="semantic_csat_sum", denominator="semantic_scored"),
    _kpi("performance", "semantic_coverage", "Semantic coverage", "Contacts with a predicted satisfaction, "
         "over contacts (contacts without text cannot be read).", "ratio", True,
         numerator="semantic_scored", denominator="contacts"),
    _kpi("performance", "nps", "NPS", "100 x (promoters 9-10 - detractors 0-6) / answers, on 0-10 answers "
         "only.", "nps", True, numerator="nps_net", denominator="nps_responses", scale=100.0, headline=True),
    _kpi("performance", "cost_per_contact", "Cost per contact", "Support cost (activity-based: each contact "
         "at its channel's human or automation unit cost) over contacts.", "currency", False,
         numerator="support_cost", denominator="contacts"),
    _kpi("performance", "cost_per_resolution", "Cost per resolution", "Support cost over resolved contacts.",
         "currency", False, numerator="support_cost", denominator="resolved_contacts", headline=True),
    _kpi("performance", "deflection_savings", "Deflection savings", "Deflected contacts x (human cost per "
         "contact - automation cost per contact).", "currency", True, numerator="deflection_savings",
         null_rule="0 when nothing was deflected"),
    # ---- performance: customer base (snapshot, not daily) -------------------------------------------
    _kpi("performance", "churn_rate", "Churn rate", "Customers who left in the last month, over customers.",
         "ratio", False, numerator="churned", denominator="customers", table="kpi_customer_base",
         segments=("source", "contract"), headline=True),
    _kpi("performance", "retention_rate", "Retention rate", "Customers retained, over customers.", "ratio",
         True, numerator="retained", denominator="customers", table="kpi_customer_base",
         segments=("source", "contract")),
    _kpi("performance", "arpa", "ARPA", "Monthly revenue per customer.", "currency", True,
         numerator="monthly_revenue_sum", denominator="customers", table="kpi_customer_base",
         segments=("source", "contract")),
    _kpi("performance", "ltv", "LTV", "ARPA x gross margin / monthly churn rate.", "currency", True,
         numerator="margin_per_month", denominator="churn_rate", table="kpi_customer_base",
         segments=("source", "contract"), headline=True),
    _kpi("performance", "cac", "CAC", "Marketing spend of the acquisition window, over customers acquired "
         "in it (tenure within the window).", "currency", False, numerator="marketing_spend",
         denominator="new_customers", table="kpi_customer_base", segments=("source", "contract")),
    _kpi("performance", "ltv_to_cac", "LTV:CAC", "LTV over CAC.", "multiple", True, numerator="ltv",
         denominator="cac", table="kpi_customer_base", segments=("source", "contract"), headline=True),
)

BY_NAME = {kpi.name: kpi for kpi in CATALOG}


def kpis_for(table: str) -> list[KPI]:
    return [kpi for kpi in CATALOG if kpi.table == table]


def rate_expr(kpi: KPI) -> pl.Expr:
    num, den = pl.col(kpi.numerator).cast(pl.Float64), pl.col(kpi.denominator).cast(pl.Float64)
    return pl.when(den > 0).then(kpi.scale * num / den).otherwise(None).alias(kpi.name)


def apply_rates(frame: pl.DataFrame, table: str) -> pl.DataFrame:
    """Derive every rate of ``table`` from its numerator and denominator, as the catalog defines them.
    Rates that depend on other rates (LTV:CAC) are derived after the ones they depend on."""
    for kpi in kpis_for(table):
        if kpi.is_rate and kpi.numerator in frame.columns and kpi.denominator in frame.columns:
            frame = frame.with_columns(rate_expr(kpi))
    return frame


def rollup(daily: pl.DataFrame, table: str, period: str, by: tuple[str, ...] = SEGMENTS) -> pl.DataFrame:
    """Weekly (``"1w"``, weeks start on Monday) or monthly (``"1mo"``) rollup of a daily tier table:
    numerators and denominators are summed, rates are re-derived (a ratio of sums, never an average of
    daily ratios); non-additive columns (medians) are left out; ``fcr_window_complete`` holds only if
    every day of the period is complete."""
    kpis = kpis_for(table)
    derived = {k.name for k in kpis if k.is_rate} | {k.name for k in kpis if not k.additive}
    keys = ["business_date", *by]
    numeric = [
        c for c, t in daily.schema.items()
        if c not in keys and c not in derived and (t.is_numeric()) and c != "fcr_window_days"
    ]
    aggs = [pl.col(numeric).sum()]
    if "fcr_window_complete" in daily.columns:
        aggs.append(pl.col("fcr_window_complete").all())
    out = (
        daily.with_columns(pl.col("business_date").dt.truncate(period).alias("period_start"))
        .group_by(["period_start", *by])
        .agg(*aggs)
    )
    return apply_rates(out, table).sort(["period_start", *by])


def render_markdown() -> str:
    lines = [
        "# KPI reference",
        "",
        "Generated from `cx_platform/lib/kpi_catalog.py` by `python -m cx_platform.lib.kpi_catalog`; "
        "do not edit by hand (a test checks it is current).",
        "",
        "Every rate is stored with its numerator and denominator; weekly, monthly and cross-segment "
        "rollups are ratios of sums. A zero denominator gives null.",
    ]
    for tier in TIERS:
        lines += ["", f"## {tier.capitalize()} tier", "",
                  "| KPI | column | table | formula | unit | better | segments | null rule | definition |",
                  "|---|---|---|---|---|---|---|---|---|"]
        for k in (k for k in CATALOG if k.tier == tier):
            better = {True: "higher", False: "lower", None: "- (activity)"}[k.higher_is_better]
            lines.append(
                f"| {k.title} | `{k.name}` | `{k.table}` | `{k.formula}` | {k.unit} | {better} | "
                f"{', '.join(k.segments)} | {k.null_rule} | {k.definition} |"
            )
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    sys.stdout.write(render_markdown())
