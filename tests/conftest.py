"""Shared fixtures: the real recordings shipped in the `traffic` wheel, fetched once and cached.

We never import or copy traffic's code; we only read its sample data files.
Set TAILWATCH_TRAFFIC_SAMPLES to a folder holding `traffic/data/samples` to skip the download.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

import pytest

TRAFFIC_VERSION = "2.13"
CACHE = Path(os.environ.get("TAILWATCH_TEST_CACHE", Path.home() / ".cache" / "tailwatch-tests"))


def _samples_root() -> Path:
    env = os.environ.get("TAILWATCH_TRAFFIC_SAMPLES")
    if env:
        return Path(env)
    root = CACHE / f"traffic-{TRAFFIC_VERSION}"
    samples = root / "traffic" / "data" / "samples"
    if samples.is_dir():
        return samples
    root.mkdir(parents=True, exist_ok=True)
    wheels = list(root.glob("traffic-*.whl"))
    if not wheels:
        got = subprocess.run(
            [sys.executable, "-m", "pip", "download", "--no-deps", "-q", f"traffic=={TRAFFIC_VERSION}", "-d", str(root)],
            capture_output=True, text=True,
        )
        wheels = list(root.glob("traffic-*.whl"))
        if got.returncode != 0 or not wheels:
            raise SamplesUnavailable(f"the traffic {TRAFFIC_VERSION} wheel (real recordings) could not be downloaded "
                                     f"(offline?): {(got.stderr.strip().splitlines() or ['no wheel'])[-1][:200]}")
    # unpacked beside, then renamed into place: two test workers never see half a folder
    with tempfile.TemporaryDirectory(dir=root) as tmp:
        with zipfile.ZipFile(wheels[0]) as zf:
            zf.extractall(tmp, [n for n in zf.namelist() if n.startswith("traffic/data/samples/")])
        (root / "traffic" / "data").mkdir(parents=True, exist_ok=True)
        try:
            os.rename(Path(tmp) / "traffic" / "data" / "samples", samples)
        except OSError:
            if not samples.is_dir():  # another worker won the race: its copy is the same
                raise
    return samples


class SamplesUnavailable(RuntimeError):
    """The real recordings cannot be had (no network and no cache)."""


@pytest.fixture(scope="session")
def traffic_samples() -> Path:
    """Folder `traffic/data/samples` of the traffic wheel (real OpenSky, FR24, readsb, Beast data);
    the tests that need it skip, saying why, only when it cannot be downloaded."""
    try:
        return _samples_root()
    except SamplesUnavailable as exc:
        pytest.skip(str(exc))


@pytest.fixture(scope="session")
def demo_archive(tmp_path_factory) -> Path:
    """The archive `tailwatch demo` builds (simulated RA-78765 trip among other traffic), made once per worker."""
    out = tmp_path_factory.mktemp("demo") / "demo"
    run = subprocess.run([sys.executable, "-m", "tailwatch.cli", "demo", "--out", str(out)],
                         capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr[-2000:]
    return out / "work" / "archive"
