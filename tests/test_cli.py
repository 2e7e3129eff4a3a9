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
