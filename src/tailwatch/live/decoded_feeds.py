"""Feeds of positions decoded by the receiver: SBS-1 BaseStation lines (`sbs://`) and polled
dump1090/readsb `aircraft.json` (`http(s)://`)."""

from __future__ import annotations

import asyncio
import json

import numpy as np
import polars as pl

from tailwatch.live.feed import Feed, complete_lines
from tailwatch.schema import conform, positions_only


SBS_FIELDS = ["msg", "tx", "session", "aircraft", "hex", "flight_id", "date_gen", "time_gen", "date_log",
              "time_log", "callsign", "altitude", "groundspeed", "track", "latitude", "longitude",
              "vertical_rate", "squawk", "alert", "emergency", "spi", "onground"]


def sbs_frame(lines: list[str], t: np.ndarray, source: str = "sbs") -> pl.DataFrame:
    """BaseStation MSG lines into canonical rows (all rows, positions or not), timed by `t`."""
    if not lines:
        return conform(pl.DataFrame(), source=source)
    raw = pl.DataFrame({"line": lines, "_t": t})
    split = pl.col("line").str.split(",")
    parts = raw.select(
        [split.list.get(i, null_on_oob=True).alias(name) for i, name in enumerate(SBS_FIELDS)] + [pl.col("_t")]
    )
    parts = parts.filter(pl.col("msg") == "MSG")

    def num(name: str) -> pl.Expr:
        return pl.col(name).str.strip_chars().cast(pl.Float64, strict=False)

    def flag(name: str) -> pl.Expr:
        v = pl.col(name).str.strip_chars()
        return pl.when(v.is_in(["-1", "1"])).then(True).when(v == "0").then(False).otherwise(None)

    frame = parts.select(
        pl.from_epoch((pl.col("_t") * 1e6).cast(pl.Int64), time_unit="us").dt.replace_time_zone("UTC").alias("timestamp"),
        pl.col("hex").str.strip_chars().str.to_lowercase().alias("icao24"),
        pl.col("callsign").str.strip_chars().replace("", None).alias("callsign"),
        num("latitude").alias("latitude"),
        num("longitude").alias("longitude"),
        num("altitude").alias("altitude"),
        num("groundspeed").alias("groundspeed"),
        num("track").alias("track"),
        num("vertical_rate").alias("vertical_rate"),
        flag("onground").alias("onground"),
        pl.col("squawk").str.strip_chars().replace("", None).alias("squawk"),
    )
    return conform(frame, source=source)


class SbsFeed(Feed):
    """BaseStation text (port 30003): `MSG,3,…` lines, already decoded by the receiver."""

    kind = "sbs"

    def points(self, chunks: list[tuple[float, bytes]]) -> pl.DataFrame | None:
        if not chunks and not self._pending:
            return None
        buf, ends, times = self._joined(chunks)
        lines, rest = complete_lines(buf)
        self._pending = rest[-4096:]
        self._pending_t = float(times[-1]) if rest else 0.0
        if not lines:
            return None
        starts = np.concatenate([[0], np.cumsum([len(x) + 1 for x in lines[:-1]], dtype=np.int64)])
        text = [ln.decode("utf-8", "replace").strip() for ln in lines]
        keep = [i for i, ln in enumerate(text) if ln]
        self.stats.messages += len(keep)
        good = [i for i in keep if text[i].startswith(("MSG,", "SEL,", "ID,", "AIR,", "STA,", "CLK,"))]
        self.stats.errors += len(keep) - len(good)
        msgs = [i for i in good if text[i].startswith("MSG,")]
        self.stats.decoded += len(msgs)
        t = self._times_at(starts[msgs], ends, times) if msgs else np.zeros(0)
        return sbs_frame([text[i] for i in msgs], t)


def aircraft_json_frame(doc: dict, received: float, source: str = "aircraft.json") -> pl.DataFrame:
    """One readsb/dump1090 `aircraft.json` snapshot into canonical rows (one per aircraft with a position)."""
    now = float(doc.get("now") or received)
    # '~' marks a non-ICAO address (TIS-B, anonymous): not an aircraft's 24-bit address, left out
    rows = [a for a in doc.get("aircraft", [])
            if isinstance(a, dict) and "lat" in a and "lon" in a and not str(a.get("hex", "~")).startswith("~")]
    if not rows:
        return conform(pl.DataFrame(), source=source)

    def col(*names):
        out = []
        for a in rows:
            v = next((a[n] for n in names if n in a), None)
            out.append(v)
        return out

    alt = [None if v == "ground" else v for v in col("alt_baro", "altitude")]
    ground = [True if a.get("alt_baro") == "ground" else None for a in rows]
    seen = [float(v) if isinstance(v, (int, float)) else 0.0 for v in col("seen_pos", "seen")]
    frame = pl.DataFrame(
        {
            "timestamp": [now - s for s in seen],
            "icao24": [str(h) for h in col("hex")],
            "callsign": col("flight"),
            "latitude": col("lat"),
            "longitude": col("lon"),
            "altitude": alt,
            "geoaltitude": col("alt_geom"),
            "groundspeed": col("gs", "speed"),
            "track": col("track"),
            "vertical_rate": col("baro_rate", "vert_rate", "geom_rate"),
            "onground": ground,
            "squawk": col("squawk"),
        },
        strict=False,
    )
    frame = frame.with_columns(
        pl.from_epoch((pl.col("timestamp") * 1e6).cast(pl.Int64), time_unit="us").dt.replace_time_zone("UTC"))
    return conform(frame, source=source)


class HttpJsonFeed(Feed):
    """A readsb/dump1090/tar1090 `aircraft.json` URL, polled every `interval` seconds."""

    kind = "json"

    def __init__(self, url: str, interval: float = 1.0, **kw) -> None:
        super().__init__(url, **kw)
        self.interval = interval
        self._last: dict[str, float] = {}

    async def _session(self) -> int:
        import httpx

        got = 0
        async with httpx.AsyncClient(timeout=10.0) as client:
            while not self._stop:
                r = await client.get(self.url)
                r.raise_for_status()
                self.stats.connected = True
                if got == 0:
                    self.stats.connects += 1
                got += len(r.content)
                self._push(r.content)
                await asyncio.sleep(self.interval)
        return got

    def points(self, chunks: list[tuple[float, bytes]]) -> pl.DataFrame | None:
        frames = []
        for t, body in chunks:
            try:
                doc = json.loads(body)
            except ValueError:
                self.stats.errors += 1
                continue
            if not isinstance(doc, dict):
                self.stats.errors += 1
                continue
            self.stats.messages += len(doc.get("aircraft", []))
            frame = positions_only(aircraft_json_frame(doc, t))
            # a snapshot repeats a position until a newer one arrives: keep each position once
            last = self._last
            fresh = [
                (ts.timestamp() > last.get(icao, 0.0))
                for icao, ts in frame.select("icao24", "timestamp").iter_rows()
            ]
            frame = frame.filter(pl.Series(fresh, dtype=pl.Boolean))
            for icao, ts in frame.select("icao24", "timestamp").iter_rows():
                last[icao] = ts.timestamp()
            if len(last) > 50_000:  # forget aircraft not updated for an hour
                self._last = last = {k: v for k, v in last.items() if v > t - 3600}
            self.stats.decoded += frame.height
            frames.append(frame)
        return pl.concat(frames) if frames else None
