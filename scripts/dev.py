#!/usr/bin/env python3
"""Set up a fresh machine and run the demo or the tests: `python3 scripts/dev.py demo|test`.

Needs nothing but Python 3.11+. Creates `.venv`, installs the package (and the
test extras) at the versions pinned in `constraints.txt` (so two installs a month
apart test the same code; `test --latest` ignores the pins and takes the newest
releases, for a CI job that finds breakage early), installs the Debian packages the tests drive when they are
missing (Chromium for the report test, dump1090-mutability for the receiver
test, a Java 17 runtime for the Spark engine tests), then runs `tailwatch demo`
or pytest. `.ci/run` calls `test`. `freeze` rewrites `constraints.txt` from a
fresh environment (after a deliberate upgrade).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
VENV = ROOT / ".venv"
CONSTRAINTS = ROOT / "constraints.txt"
BIN = VENV / ("Scripts" if os.name == "nt" else "bin")
# Debian package -> a path that exists when it is installed.
SYSTEM_PACKAGES = {
    "chromium": "/usr/bin/chromium",
    "dump1090-mutability": "/usr/bin/dump1090-mutability",
    "poppler-utils": "/usr/bin/pdftoppm",  # pdfinfo/pdftotext/pdftoppm read the printed report (tests/test_web_publish.py)
    # Java for pyspark (Spark 4 runs on Java 17); a file of the package on every architecture
    "openjdk-17-jre-headless": "/etc/java-17-openjdk/security/java.security",
}


def run(*cmd: str | Path, **kw) -> None:
    print("+", " ".join(map(str, cmd)), flush=True)
    subprocess.run([str(c) for c in cmd], check=True, **kw)


def venv(extras: str, latest: bool = False, folder: Path = VENV) -> Path:
    """The environment's bin folder, with the package installed: pinned by `constraints.txt`
    unless `latest` (then upgraded to the newest releases)."""
    bin_dir = folder / BIN.relative_to(VENV)
    if not (bin_dir / "python").exists():
        run(sys.executable, "-m", "venv", folder)
        run(bin_dir / "python", "-m", "pip", "install", "-q", "--upgrade", "pip")
    pins = ["--upgrade", "--upgrade-strategy", "eager"] if latest else ["-c", CONSTRAINTS]
    run(bin_dir / "python", "-m", "pip", "install", "-q", *pins, "-e", f"{ROOT}[{extras}]" if extras else ROOT)
    return bin_dir


def freeze() -> None:
    """Pin what a fresh environment resolves today (all extras the tests and bench use)."""
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        bin_dir = venv("test,bench", latest=True, folder=Path(tmp) / "venv")
        pins = subprocess.run([bin_dir / "python", "-m", "pip", "freeze", "--exclude-editable"],
                              check=True, capture_output=True, text=True).stdout
    head = [line for line in CONSTRAINTS.read_text().splitlines() if line.startswith("#")] if CONSTRAINTS.exists() else []
    CONSTRAINTS.write_text("\n".join(head + [pins.strip()]) + "\n")
    print(f"wrote {CONSTRAINTS}")


def system_packages() -> None:
    missing = [pkg for pkg, probe in SYSTEM_PACKAGES.items() if not Path(probe).exists()]
    if not missing:
        return
    if os.geteuid() != 0 or not shutil.which("apt-get"):
        if os.environ.get("CI"):  # in CI a skipped receiver or browser test would hide a broken set-up
            raise SystemExit(f"error: {', '.join(missing)} missing and cannot be installed (not root or no apt-get)")
        print(f"note: cannot install {', '.join(missing)} (not root or no apt-get); their tests will skip")
        return
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    # slim images drop /usr/share/man: the JRE's postinst links its man page there and fails without it
    Path("/usr/share/man/man1").mkdir(parents=True, exist_ok=True)
    run("apt-get", "update", "-qq", env=env)
    run("apt-get", "install", "-y", "-qq", "--no-install-recommends", *missing, env=env)


def fetch_samples() -> None:
    """The real recordings the tests read (the `traffic` wheel's samples), into the test cache once,
    before the run (tests/conftest.py; the tests that need them skip, saying why, when offline)."""
    code = ("import sys; sys.path.insert(0, 'tests'); import conftest\n"
            "try:\n    print('real recordings:', conftest._samples_root())\n"
            "except conftest.SamplesUnavailable as exc:\n    print('note:', exc)")
    run(BIN / "python", "-c", code, cwd=ROOT)


def main(argv: list[str]) -> int:
    job = argv[1] if len(argv) > 1 else "test"
    if job == "demo":
        venv("")
        run(BIN / "tailwatch", "demo", *argv[2:], cwd=os.getcwd())
    elif job == "test":
        latest = "--latest" in argv[2:]
        venv("test", latest=latest)
        system_packages()
        fetch_samples()
        run(BIN / "python", "-m", "pytest", "-n", "2", "-q", *[a for a in argv[2:] if a != "--latest"], cwd=ROOT)
    elif job == "freeze":
        freeze()
    else:
        print(__doc__)
        return 2
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main(sys.argv))
    except subprocess.CalledProcessError as exc:
        sys.exit(exc.returncode or 1)
