"""`tailwatch bridge --engine spark` gives the same document as DuckDB on the simulated air-bridge scenario
(the itineraries come from the same batch path on both engines; the bridge core reads only them)."""

from __future__ import annotations

import json
import os
import shutil

import pytest

pytestmark = [pytest.mark.spark, pytest.mark.xdist_group("spark")]

START, END = "2025-11-05T00:00:00Z", "2025-11-09T00:00:00Z"


def _spark_or_skip():
    problem = None
    try:
        import pyspark  # noqa: F401
    except ImportError:
        problem = "pyspark is not installed (pip install -e '.[test]')"
    if problem is None and not (shutil.which("java") or os.environ.get("JAVA_HOME")):
        problem = "no Java runtime (apt-get install openjdk-17-jre-headless)"
    if problem:
        if os.environ.get("CI"):
            pytest.fail(f"Spark engine tests cannot run in CI: {problem}")
        pytest.skip(problem)


def test_spark_and_duckdb_give_identical_bridge_json(tmp_path):
    _spark_or_skip()
    from tailwatch.app.bridge import render, run_bridge
    from tailwatch.demo import write_feed
    from tailwatch.engines.spark import SparkEngine
    from tailwatch.identity.registry import import_registry
    from tailwatch.ingest.pipeline import ingest_file
    from tailwatch.sim.bridge import bridge_scenario

    sc = bridge_scenario()
    archive = tmp_path / "archive"
    ingest_file(write_feed(sc.points, tmp_path / "positions.parquet"), archive)
    (tmp_path / "aircraft.csv").write_text(sc.registry_lines(), encoding="utf-8")
    import_registry(tmp_path / "aircraft.csv", archive)
    args = dict(from_="RU,IR,CN", classes=["heavy-freighter"])
    duck = run_bridge(archive, "VE", START, END, **args)
    engine = SparkEngine("local[2]", conf={"spark.sql.shuffle.partitions": "4"})
    try:
        spark = run_bridge(archive, "VE", START, END, engine=engine, **args)
    finally:
        engine.stop()
    assert len(duck["flights"]) == 3
    assert render(spark, "json") == render(duck, "json")
    assert json.loads(render(spark, "json"))["schema"] == "tailwatch.bridge/1"
