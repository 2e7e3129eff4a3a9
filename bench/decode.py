"""Beast framing + Mode S decoding throughput: tailwatch vs pyModeS and rs1090.

Two workloads built from the real captures shipped in the traffic wheel:
- `dump1090`: sample_dump1090.bin (239 Beast frames) repeated to --messages
  frames, time stamps shifted so time keeps running;
- `rs1090`: the 57,793 frames of rs1090/full_flight_short.jsonl (one flight
  with taxi at both ends), copied under as many other addresses as needed
  (parity recomputed) and interleaved in time, copy k starting k x 97 s after
  the first: a sky of concurrent flights, as a receiver would hear.
tailwatch is timed from Beast bytes to canonical points (framing, CRC,
address confirmation, CPR, carried values), in 8 MB chunks as the reader does.
The peers get the hex strings already extracted (framing not timed, which
favours them) and decode them the simplest way a user would:
`pyModeS.decode(hexes, timestamps=...)` and `rs1090.decode(hexes, timestamps)`,
on the first --peer-messages messages.

Run: .venv/bin/python bench/decode.py [--messages 3000000] [--peer-messages 200000]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

import numpy as np

from tailwatch.ingest.beast_framing import KIND_LONG, KIND_SHORT, parse_beast
from tailwatch.ingest.modes.clock import TickClock
from tailwatch.ingest.modes.decoder import ModeSDecoder

CHUNK = 8 << 20
CDG = (49.0097, 2.5479)


def samples_dir() -> Path:
    env = os.environ.get("TAILWATCH_TRAFFIC_SAMPLES")
    if env:
        return Path(env)
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
    from conftest import _samples_root  # the same cached download the tests use

    return _samples_root()


def encode(kinds: np.ndarray, ticks: np.ndarray, msgs: list[bytes]) -> bytes:
    out = []
    for k, t, m in zip(kinds.tolist(), ticks.tolist(), msgs):
        body = int(t).to_bytes(6, "big") + b"\xc8" + m
        out.append(b"\x1a" + bytes([k]) + body.replace(b"\x1a", b"\x1a\x1a"))
    return b"".join(out)


def repeat_stream(msgs: list[bytes], seconds: np.ndarray, total: int) -> tuple[bytes, list[str], np.ndarray]:
    """A Beast stream of `total` frames cycling through `msgs`, time running on across repetitions."""
    span = float(seconds[-1] - seconds[0]) + 1.0
    reps = -(-total // len(msgs))
    idx = np.tile(np.arange(len(msgs)), reps)[:total]
    rep = np.repeat(np.arange(reps), len(msgs))[:total]
    t = seconds[idx] - seconds[0] + rep * span
    ticks = np.round(t * 12e6).astype(np.uint64)
    kinds = np.array([KIND_LONG if len(msgs[i]) == 14 else KIND_SHORT for i in range(len(msgs))])[idx]
    frames = [msgs[i] for i in idx.tolist()]
    return encode(kinds, ticks, frames), [f.hex() for f in frames], 1.7e9 + t


def concurrent_stream(msgs: list[bytes], seconds: np.ndarray, total: int) -> tuple[bytes, list[str], np.ndarray]:
    """Copies of one flight under distinct addresses, interleaved in time (copy k delayed k x 97 s)."""
    from tailwatch.ingest.modes.crc import with_address

    arr = np.zeros((len(msgs), 14), np.uint8)
    length = np.array([len(m) for m in msgs], np.uint8)
    for i, m in enumerate(msgs):
        arr[i, : len(m)] = np.frombuffer(m, np.uint8)
    copies = -(-total // len(msgs))
    rng = np.random.default_rng(1090)
    addresses = rng.choice(np.arange(0x100000, 0xEFFFFF), size=copies, replace=False)
    all_msg = np.concatenate([with_address(arr, length, int(a)) for a in addresses])
    all_len = np.tile(length, copies)
    all_t = np.concatenate([seconds - seconds[0] + 97.0 * k for k in range(copies)])
    order = np.argsort(all_t, kind="stable")[:total]
    frames = [bytes(all_msg[i, : all_len[i]]) for i in order.tolist()]
    t = all_t[order]
    ticks = np.round(t * 12e6).astype(np.uint64)
    kinds = np.where(all_len[order] == 14, KIND_LONG, KIND_SHORT)
    return encode(kinds, ticks, frames), [f.hex() for f in frames], 1.7e9 + t


def tailwatch_run(stream: bytes, reference) -> tuple[int, int, float]:
    start = time.perf_counter()
    decoder = ModeSDecoder(reference=reference, source="beast")
    clock = TickClock("counter")
    messages = points = 0
    carry, pos = b"", 0
    while True:
        chunk = stream[pos : pos + CHUNK]
        pos += CHUNK
        final = not chunk
        buf = carry + chunk
        batch = parse_beast(buf, final=final)
        carry = buf[batch.consumed :]
        modes = batch.modes()
        if len(modes):
            messages += len(modes)
            t = 1.7e9 + clock.elapsed(modes.ticks)
            points += decoder.decode(modes.msg, modes.length, t).height
        if final:
            break
    return messages, points, time.perf_counter() - start


def framing_only(stream: bytes) -> float:
    start = time.perf_counter()
    for pos in range(0, len(stream), CHUNK):
        parse_beast(stream[pos : pos + CHUNK + 64])
    return time.perf_counter() - start


def peer_runs(hexes: list[str], t: np.ndarray, reference) -> dict[str, float]:
    import pyModeS
    import rs1090

    out = {}
    start = time.perf_counter()
    rs1090.decode(hexes, t.tolist(), reference=reference)
    out["rs1090"] = len(hexes) / (time.perf_counter() - start)
    start = time.perf_counter()
    pyModeS.decode(hexes, timestamps=t.tolist(), surface_ref=reference)
    out["pyModeS"] = len(hexes) / (time.perf_counter() - start)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=3_000_000)
    parser.add_argument("--peer-messages", type=int, default=200_000)
    parser.add_argument("--json", action="store_true", help="print one JSON object instead of a table")
    args = parser.parse_args()
    root = samples_dir()

    workloads = {}
    beast = parse_beast((root / "dump1090" / "sample_dump1090.bin").read_bytes(), final=True).modes()
    msgs = [bytes(m[:n]) for m, n in zip(beast.msg, beast.length)]
    workloads["dump1090"] = (msgs, beast.ticks.astype(np.float64) / 12e6, None)
    import polars as pl

    flight = pl.read_ndjson(root / "rs1090" / "full_flight_short.jsonl", schema={"timestamp": pl.Float64, "frame": pl.String})
    hexes = [f if int(f[:2], 16) >> 3 >= 16 else f[:14] for f in flight["frame"]]
    workloads["rs1090"] = ([bytes.fromhex(h) for h in hexes], flight["timestamp"].to_numpy(), CDG)

    results = []
    for name, (msgs, seconds, reference) in workloads.items():
        if name == "rs1090":
            stream, hexes, t = concurrent_stream(msgs, seconds, args.messages)
        else:
            stream, hexes, t = repeat_stream(msgs, seconds, args.messages)
        n, points, secs = tailwatch_run(stream, reference)
        frame_secs = framing_only(stream)
        k = min(args.peer_messages, n)
        peers = peer_runs(hexes[:k], t[:k], reference)
        ours = n / secs
        results.append(
            {
                "workload": name,
                "messages": n,
                "bytes": len(stream),
                "points": points,
                "tailwatch_msg_per_s": round(ours),
                "framing_msg_per_s": round(n / frame_secs),
                "peer_messages": k,
                **{f"{p}_msg_per_s": round(v) for p, v in peers.items()},
                **{f"ratio_vs_{p}": round(ours / v, 1) for p, v in peers.items()},
            }
        )
    if args.json:
        print(json.dumps(results, indent=2))
        return
    print(f"{'workload':10s} {'messages':>10s} {'tailwatch/s':>12s} {'framing/s':>11s} {'rs1090/s':>10s} {'pyModeS/s':>10s} {'x rs1090':>9s} {'x pyModeS':>10s}")
    for r in results:
        print(
            f"{r['workload']:10s} {r['messages']:>10,d} {r['tailwatch_msg_per_s']:>12,d} {r['framing_msg_per_s']:>11,d} "
            f"{r['rs1090_msg_per_s']:>10,d} {r['pyModeS_msg_per_s']:>10,d} {r['ratio_vs_rs1090']:>9.1f} {r['ratio_vs_pyModeS']:>10.1f}"
        )
    print("tailwatch: Beast bytes -> canonical points; peers: hex strings -> dicts (framing not counted for them).")


if __name__ == "__main__":
    main()
