"""Live watcher throughput: a Beast replay at ≥ 50 k messages/s for 60 s, decoded without falling behind.

    .venv/bin/python bench/live.py [--rate 50000] [--seconds 60] [--aircraft 2000]

Builds a synthetic, CRC-valid Beast capture (DF17 positions/velocity/identification
and DF11 replies from `--aircraft` aircraft in straight flight; `tests/iq.py`), serves
it with `tailwatch replay --speed 1` on 127.0.0.1 and runs `tailwatch watch` on it as
two separate processes (the machine's two cores). Prints the sustained decode rate and
the two measures of keeping up: how far the replay fell behind its schedule (it blocks
when the watcher stops reading) and the worst arrival-to-processed delay inside the
watcher (bounded backlog). Not a test: run it by hand.
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

import iq  # noqa: E402


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rate", type=float, default=50_000.0)
    ap.add_argument("--seconds", type=float, default=60.0)
    ap.add_argument("--aircraft", type=int, default=2000)
    args = ap.parse_args()

    work = Path(tempfile.mkdtemp(prefix="tailwatch-bench-live-"))
    capture = work / "capture.bin"
    t0 = time.perf_counter()
    t, msg, length = iq.synthetic_traffic(args.aircraft, args.seconds, args.rate)
    capture.write_bytes(iq.beast_capture_arrays(t, msg, length))
    print(f"capture: {t.size:,} messages over {args.seconds:.0f} s ({capture.stat().st_size / 1e6:.0f} MB), "
          f"built in {time.perf_counter() - t0:.1f} s", flush=True)
    (work / "rules.yaml").write_text(
        "rules:\n  - {name: seen, when: seen, aircraft: any}\n"
        "  - {name: box, when: region, aircraft: any, region: {bbox: [0, 45, 10, 50]}}\n"
    )
    tw = [sys.executable, "-m", "tailwatch.cli"]
    replay = subprocess.Popen(tw + ["replay", str(capture), "--serve", "beast", "--port", "0", "--speed", "1"],
                              stderr=subprocess.PIPE, text=True)
    banner = replay.stderr.readline()
    port = int(banner.rsplit(":", 1)[1])
    watch = subprocess.Popen(
        tw + ["watch", "--feed", f"beast://127.0.0.1:{port}", "--archive", str(work / "archive"),
              "--rules", str(work / "rules.yaml"), "--duration", str(args.seconds + 15), "--flush-seconds", "30"],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
    )
    rest = replay.communicate(timeout=args.seconds * 3 + 60)[1]
    time.sleep(2.0)  # let the watcher take the last reads
    watch.send_signal(2)
    err = watch.communicate(timeout=120)[1]
    summary = rest.strip().splitlines()[-1]
    statuses = [ln for ln in err.splitlines() if ln.startswith("status ")]
    final = statuses[-1]

    def field(line: str, name: str) -> float:
        m = re.search(rf"\b{name}=([0-9.]+)", line)
        return float(m.group(1)) if m else float("nan")

    lags = [field(s, "lag") for s in statuses]
    backlogs = [field(s, "backlog") for s in statuses]
    decoded = field(final, "decoded")
    positions = field(final, "positions")
    schedule_lag = float(re.search(r"max lag behind schedule ([0-9.]+)", summary).group(1))
    print(f"replay:  {summary}")
    print(f"watcher: {int(field(final, 'msgs')):,} messages received, {int(decoded):,} decoded, "
          f"{int(positions):,} positions, {int(field(final, 'archived')):,} archived")
    sending = float(re.search(r" in ([0-9.]+) s", summary).group(1))
    print(f"sustained decode rate: {decoded / sending:,.0f} msg/s over the {sending:.1f} s of the feed "
          f"(target {args.rate:,.0f} msg/s)")
    print(f"keeping up: replay max lag behind schedule {schedule_lag:.2f} s; watcher worst arrival→processed "
          f"delay {max(lags):.2f} s; worst feed backlog at a status tick {int(max(backlogs)):,} bytes")
    ok = schedule_lag < 1.0 and max(lags) < 2.0 and decoded >= 0.99 * t.size
    print("RESULT:", "kept up" if ok else "FELL BEHIND")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
