"""CLI contract: help works, errors are one line with DESIGN.md exit codes."""

import subprocess
import sys


def run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "tailwatch.cli", *args], capture_output=True, text=True, timeout=120)


def test_help_lists_commands():
    out = run("--help")
    assert out.returncode == 0
    assert "ingest" in out.stdout


def test_unknown_format_is_one_line_exit_2(tmp_path):
    bad = tmp_path / "notes.txt"
    bad.write_text("this is not ADS-B data\n")
    out = run("ingest", str(bad), "--archive", str(tmp_path / "arc"))
    assert out.returncode == 2
    lines = [l for l in out.stderr.splitlines() if l.strip()]
    assert any("unknown format" in l and "notes.txt" in l for l in lines)
    assert "Traceback" not in out.stderr


def test_missing_file_is_bad_input(tmp_path):
    out = run("ingest", str(tmp_path / "nope.csv"), "--archive", str(tmp_path / "arc"))
    assert out.returncode == 2
    assert "nope.csv" in out.stderr and "Traceback" not in out.stderr


def test_piped_tables_are_tsv_with_whole_words(tmp_path, traffic_samples):
    """Off a terminal (here: a pipe, 80 columns) `ingest` and `scan` print TSV, not a squeezed Rich table."""
    import os

    env = dict(os.environ, COLUMNS="80")
    arc = tmp_path / "arc"
    ingest = subprocess.run([sys.executable, "-m", "tailwatch.cli", "ingest", str(traffic_samples / "fr24"),
                             "--archive", str(arc)], capture_output=True, text=True, timeout=120, env=env)
    assert ingest.returncode == 0, ingest.stderr
    rows = [line.split("\t") for line in ingest.stdout.splitlines()]
    assert rows[0] == ["file", "format", "records", "points", "written", "duplicates", "rejected", "reasons"]
    assert all(len(r) == 8 for r in rows) and len(rows) == 1 + 4 + 1  # header, four files, the total
    assert rows[-1][:3] == ["total (4 files)", "", "3059"]  # whole numbers, no thousands separator
    assert str(traffic_samples / "fr24" / "372355e5.json") in [r[0] for r in rows]  # long paths whole
    scan = subprocess.run([sys.executable, "-m", "tailwatch.cli", "scan", "--archive", str(arc)],
                          capture_output=True, text=True, timeout=120, env=env)
    assert scan.returncode == 0, scan.stderr
    header, *lines = [line.split("\t") for line in scan.stdout.splitlines()]
    assert header == ["icao24", "registrations", "lists", "first seen", "last seen", "points", "days",
                      "bbox lat", "bbox lon"]
    assert lines and all(len(r) == len(header) for r in lines)
    assert "┃" not in scan.stdout and "│" not in ingest.stdout


def test_terminal_tables_stay_rich():
    from io import StringIO

    from rich.console import Console
    from rich.table import Table

    from tailwatch.terminal import print_table

    table = Table(title="t")
    table.add_column("registrations")
    table.add_row("RA-78765")
    screen = StringIO()
    print_table(Console(file=screen, force_terminal=True, width=120), table)
    assert "┃" in screen.getvalue() and "registrations" in screen.getvalue()
    piped = StringIO()
    print_table(Console(file=piped, width=10), table)
    assert piped.getvalue() == "registrations\nRA-78765\n"
