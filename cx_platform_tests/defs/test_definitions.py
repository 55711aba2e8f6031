"""The whole graph loads and has the shape the UI shows: keys, groups, checks, jobs, partitions."""

import dagster as dg

from cx_platform.definitions import defs
from cx_platform.defs.partitions import daily_partitions


def test_asset_graph_keys_and_groups():
    graph = defs.resolve_asset_graph()
    groups = {key.to_user_string(): graph.get(key).group_name for key in graph.get_all_asset_keys()}
    assert groups == {
        "staging/cfpb_complaints": "ingestion",
        "staging/technion_call_center": "ingestion",
        "staging/twcs": "ingestion",
        "staging/customer_support_tickets": "ingestion",
        "staging/nps_verbatims": "ingestion",
        "staging/pwc_call_center": "ingestion",
        "customers": "ingestion",
        "interactions": "ingestion",
        "transcript_embeddings": "enrichment",
        "semantic_csat_model": "enrichment",
        "interaction_labels": "enrichment",
        "kpi_funnel_daily": "kpi_funnel",
        "kpi_operating_daily": "kpi_operating",
        "kpi_performance_daily": "kpi_performance",
        "kpi_customer_base": "kpi_performance",
        "kpi_funnel_rollup": "kpi_funnel",
        "kpi_operating_rollup": "kpi_operating",
        "kpi_performance_rollup": "kpi_performance",
    }


def test_daily_assets_share_one_partitions_definition_and_run_ranges_in_one_run():
    graph = defs.resolve_asset_graph()
    for name in ["interactions", "transcript_embeddings", "interaction_labels", "kpi_funnel_daily",
                 "kpi_operating_daily", "kpi_performance_daily"]:
        node = graph.get(dg.AssetKey(name))
        assert node.partitions_def == daily_partitions, name
        assert node.backfill_policy == dg.BackfillPolicy.single_run(), name


def test_checks_and_jobs():
    graph = defs.resolve_asset_graph()
    checks = {(k.asset_key.to_user_string(), k.name) for k in graph.asset_check_keys}
    assert ("staging/twcs", "records_reconcile") in checks
    assert ("customers", "records_reconcile") in checks
    assert ("interactions", "interaction_ids_unique") in checks
    assert ("kpi_operating_daily", "rates_valid") in checks
    assert {job.name for job in defs.resolve_all_job_defs()} >= {"sources_job", "daily_job", "rollups_job"}


def test_fcr_dependency_looks_seven_days_ahead():
    graph = defs.resolve_asset_graph()
    node = graph.get(dg.AssetKey("kpi_operating_daily"))
    mapping = node.partition_mappings[dg.AssetKey("interactions")]
    assert (mapping.start_offset, mapping.end_offset) == (0, 7)
