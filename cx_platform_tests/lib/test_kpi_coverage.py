import polars as pl

from cx_platform.lib.kpi_coverage import kpi_coverage


def test_a_kpi_is_unsupported_where_its_denominator_is_always_zero():
    daily = pl.DataFrame({
        "source": ["calls", "calls", "tweets"],
        "qualified_leads": [1, 0, 0], "leads": [2, 0, 0],
    })
    cov = kpi_coverage({"kpi_funnel_daily": daily})
    # calls: leads sum 2 > 0 -> supported; tweets: leads sum 0 -> unsupported, and says why
    assert cov.select("source", "kpi", "supported", "why").rows() == [
        ("calls", "qualification_rate", True, None),
        ("tweets", "qualification_rate", False, "leads = 0"),
    ]
