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
        "contact_topics": "enrichment",
        "kpi_funnel_daily": "kpi_funnel",
        "kpi_operating_daily": "kpi_operating",
        "kpi_performance_daily": "kpi_performance",
        "kpi_customer_base": "kpi_performance",
        "kpi_funnel_rollup": "kpi_funnel",
        "kpi_operating_rollup": "kpi_operating",
        "kpi_performance_rollup": "kpi_performance",
        "kpi_anomalies": "monitoring",
        "executive_dashboard": "reporting",
    }


def test_daily_assets_share_one_partitions_definition_and_run_ranges_in_one_run():
    graph = defs.resolve_asset_graph()
    for name in ["interactions", "transcript_embeddings", "interaction_labels", "contact_topics",
                 "kpi_funnel_daily", "kpi_operating_daily", "kpi_performance_daily"]:
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


def test_contact_topics_look_back_over_their_28_day_window():
    graph = defs.resolve_asset_graph()
    node = graph.get(dg.AssetKey("contact_topics"))
    for parent in ("interactions", "transcript_embeddings"):
        mapping = node.partition_mappings[dg.AssetKey(parent)]
        assert (mapping.start_offset, mapping.end_offset) == (-27, 0), parent
    assert dg.AssetKey("contact_topics") in defs.resolve_job_def("daily_job").asset_layer.executable_asset_keys
    assert dg.AssetKey("contact_topics") in graph.get(dg.AssetKey("executive_dashboard")).parent_keys


def test_dashboard_is_rebuilt_after_the_kpi_tables_by_its_own_job():
    graph = defs.resolve_asset_graph()
    node = graph.get(dg.AssetKey("executive_dashboard"))
    assert {"kpi_funnel_daily", "kpi_operating_daily", "kpi_performance_daily", "kpi_customer_base"} <= {
        k.to_user_string() for k in node.parent_keys}
    assert node.automation_condition is not None and node.partitions_def is None
    job = defs.resolve_job_def("reporting_job")
    assert job.asset_layer.executable_asset_keys == {dg.AssetKey("executive_dashboard")}


def test_monitoring_checks_sensors_and_jobs():
    graph = defs.resolve_asset_graph()
    checks = {(k.asset_key.to_user_string(), k.name) for k in graph.asset_check_keys}
    tables = ["interactions", "transcript_embeddings", "interaction_labels", "kpi_funnel_daily",
              "kpi_operating_daily", "kpi_performance_daily", "kpi_anomalies", "customers", "staging/twcs"]
    for table in tables:
        assert (table, "schema_matches") in checks, table
        spec = graph.get_check_spec(dg.AssetCheckKey(dg.AssetKey.from_user_string(table), "schema_matches"))
        assert spec.blocking, table
    for table in ["kpi_funnel_daily", "kpi_operating_daily", "kpi_performance_daily"]:
        assert {(table, "latest_partition_on_time"), (table, "contacts_reconcile"),
                (table, "values_in_range"), (table, "one_row_per_segment")} <= checks
    assert {("interactions", "values_in_range"), ("interactions", "durations_non_negative"),
            ("interactions", "reconciles_with_staging"), ("interaction_labels", "covers_interactions"),
            ("transcript_embeddings", "covers_transcripts"), ("kpi_anomalies", "no_anomalies")} <= checks
    assert {s.name for s in defs.sensors} >= {
        "landing_sensor", "anomaly_alert_sensor", "kpi_freshness_sensor"}
    daily_job = defs.resolve_job_def("daily_job")
    assert dg.AssetKey("kpi_anomalies") in daily_job.asset_layer.executable_asset_keys
    in_daily_runs = {k.name for k in daily_job.asset_layer.asset_graph.asset_check_keys}
    assert "schema_matches" in in_daily_runs and "latest_partition_on_time" not in in_daily_runs


def test_central_policy_automation_freshness_and_column_schemas():
    graph = defs.resolve_asset_graph()
    for name in ["interactions", "transcript_embeddings", "interaction_labels", "contact_topics",
                 "kpi_funnel_daily", "kpi_operating_daily", "kpi_performance_daily", "kpi_anomalies"]:
        node = graph.get(dg.AssetKey(name))
        assert node.automation_condition.get_label().startswith("daily_refresh(0 6 * * *"), name
        assert "dagster/column_schema" in node.metadata, name
    for name in ["kpi_funnel_daily", "kpi_operating_daily", "kpi_performance_daily", "kpi_operating_rollup"]:
        policy = graph.get(dg.AssetKey(name)).freshness_policy
        assert policy.deadline_cron == "0 9 * * *", name
    assert graph.get(dg.AssetKey("staging/twcs".split("/"))).automation_condition is None
