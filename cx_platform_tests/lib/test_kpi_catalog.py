"""The catalog is the single definition of every KPI: tables, docs and rollups follow it."""

from pathlib import Path

import polars as pl

from cx_platform.lib import kpi_catalog, kpis

DOC = Path(__file__).resolve().parents[2] / "docs" / "kpis.md"
TABLE_SCHEMAS = {
    "kpi_funnel_daily": kpis.FUNNEL_DAILY,
    "kpi_operating_daily": kpis.OPERATING_DAILY,
    "kpi_performance_daily": kpis.PERFORMANCE_DAILY,
    "kpi_customer_base": kpis.CUSTOMER_BASE,
}


def test_generated_reference_doc_is_current():
    assert DOC.read_text(encoding="utf-8") == kpi_catalog.render_markdown(), (
        "docs/kpis.md is stale: run `python -m cx_platform.lib.kpi_catalog > docs/kpis.md`"
    )


def test_every_catalog_kpi_has_its_columns_in_its_table():
    for kpi in kpi_catalog.CATALOG:
        schema = TABLE_SCHEMAS[kpi.table]
        assert kpi.name in schema, kpi.name
        for column in (kpi.numerator, kpi.denominator):
            assert column is None or column in schema, (kpi.name, column)


def test_every_float_rate_column_of_a_tier_table_is_defined_in_the_catalog():
    for table, schema in TABLE_SCHEMAS.items():
        defined = {k.name for k in kpi_catalog.kpis_for(table)} | {
            c for k in kpi_catalog.kpis_for(table) for c in (k.numerator, k.denominator) if c
        }
        derived_like = [c for c, t in schema.items() if t == pl.Float64 and c.endswith(("_rate", "_mean"))]
        assert set(derived_like) <= defined, set(derived_like) - defined


def test_each_kpi_states_tier_unit_direction_and_null_rule():
    for kpi in kpi_catalog.CATALOG:
        assert kpi.tier in kpi_catalog.TIERS
        assert kpi.unit in {"count", "seconds", "ratio", "multiple", "score", "currency", "nps"}
        assert kpi.definition and kpi.null_rule and kpi.title
        assert kpi.activity == (kpi.higher_is_better is None)
    assert {k.tier for k in kpi_catalog.CATALOG if k.headline} == set(kpi_catalog.TIERS)
