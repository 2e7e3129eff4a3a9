"""Aircraft registries: who flew under which address and registration, and when.

Formats (detected by content, gzip by magic bytes):
- OpenSky `aircraftDatabase.csv`: header `"icao24","registration",...`, double-quoted values.
- OpenSky monthly `aircraft-database-complete-YYYY-MM.csv`: header `'icao24','timestamp',...`,
  single-quoted values, with `prevReg` / `nextReg` (registration history).
- tar1090-db `aircraft.csv.gz`: `icao;registration;typecode;dbFlags;typeLong;year;ownOp`,
  no header; dbFlags bit 1 = military.
- ADS-B Exchange `basic-ac-db.json.gz`: JSON lines (`icao`, `reg`, `icaotype`, `year`,
  `manufacturer`, `model`, `ownop`, `mil`, ...).

Every import is kept as its own snapshot (one Parquet file per source file), so an
address or a registration that changed hands shows every holder, with the snapshot
date (file name month, or the file's modification day) ordering them.
"""

from __future__ import annotations

import io
import json
import re
from datetime import datetime, timezone
from pathlib import Path

import polars as pl

from tailwatch.archive import file_digest
from tailwatch.identity.store import registry_dir, write_parquet_atomic
from tailwatch.errors import BadInput
from tailwatch.files import read_all, read_head

REGISTRY_SCHEMA: dict[str, pl.DataType] = {
    "icao24": pl.String(),
    "registration": pl.String(),
    "reg_key": pl.String(),  # registration upper case without '-' or spaces: the join key
    "typecode": pl.String(),
    "model": pl.String(),
    "manufacturer": pl.String(),
    "serialnumber": pl.String(),
    "operator": pl.String(),
    "owner": pl.String(),
    "built": pl.String(),
    "prev_reg": pl.String(),
    "next_reg": pl.String(),
    "registered": pl.String(),
    "reg_until": pl.String(),
    "military": pl.Boolean(),
    "snapshot": pl.String(),  # YYYY-MM(-DD) the source describes
    "source": pl.String(),  # opensky | opensky-complete | tar1090-db | adsbx
    "source_file": pl.String(),
}

KINDS = ("opensky", "opensky-complete", "tar1090-db", "adsbx")
_TAR1090_LINE = re.compile(rb"^~?[0-9A-Fa-f]{6};")
_MONTH = re.compile(r"(\d{4}-\d{2})(?:-(\d{2}))?")


def reg_key(expr: pl.Expr) -> pl.Expr:
    """Registration join key: upper case, no hyphen, no blank (`RA-78765`, `ra 78765` -> `RA78765`)."""
    return expr.str.to_uppercase().str.replace_all(r"[\s\-_.]", "").replace("", None)


def key_of(registration: str) -> str:
    return re.sub(r"[\s\-_.]", "", registration.upper())


def sniff_registry(head: bytes) -> str | None:
    """Which registry format the first bytes (decompressed) are, or None."""
    text = head.lstrip(b"\xef\xbb\xbf").lstrip()
    low = text[:200].lower()
    if low.startswith(b'"icao24"'):
        return "opensky"
    if low.startswith(b"'icao24'") or low.startswith(b"icao24,timestamp"):
        return "opensky-complete"
    if _TAR1090_LINE.match(text):
        return "tar1090-db"
    if text.startswith(b"{"):
        first = text.split(b"\n", 1)[0]
        try:
            obj = json.loads(first)
        except ValueError:
            return None
        if isinstance(obj, dict) and "icao" in obj and ("reg" in obj or "r" in obj):
            return "adsbx"
    return None


def _snapshot(path: Path) -> str:
    m = _MONTH.search(path.name)
    if m:
        return m.group(0)
    return datetime.fromtimestamp(path.stat().st_mtime, tz=timezone.utc).strftime("%Y-%m-%d")


def _text_col(frame: pl.DataFrame, *names: str) -> pl.Expr:
    for name in names:
        if name in frame.columns:
            return pl.col(name).cast(pl.String).str.strip_chars().replace("", None)
    return pl.lit(None, dtype=pl.String)


def _canonical(frame: pl.DataFrame, source: str, path: Path, snapshot: str) -> pl.DataFrame:
    out = frame.with_columns(
        pl.col("icao24").str.strip_chars().str.strip_chars_start("~").str.to_lowercase(),
        pl.col("registration").str.strip_chars().str.to_uppercase().replace("", None),
    ).with_columns(
        reg_key(pl.col("registration")).alias("reg_key"),
        pl.lit(snapshot).alias("snapshot"),
        pl.lit(source).alias("source"),
        pl.lit(str(path)).alias("source_file"),
    )
    out = out.filter(pl.col("icao24").str.contains(r"^[0-9a-f]{6}$"))
    return out.select(
        (pl.col(c).cast(t) if c in out.columns else pl.lit(None, dtype=t).alias(c)) for c, t in REGISTRY_SCHEMA.items()
    )


def _read_csv(data: bytes, path: Path, **kwargs) -> pl.DataFrame:
    try:
        return pl.read_csv(io.BytesIO(data), infer_schema=False, truncate_ragged_lines=True, **kwargs)
    except pl.exceptions.PolarsError as exc:
        raise BadInput(f"{path}: cannot read as CSV: {str(exc).splitlines()[0]}") from exc


def read_opensky(path: Path) -> pl.DataFrame:
    """OpenSky `aircraftDatabase.csv` (double-quoted, lower-case header)."""
    raw = _read_csv(read_all(path), path, quote_char='"')
    raw = raw.rename({c: c.strip().lower() for c in raw.columns})
    frame = raw.select(
        _text_col(raw, "icao24").alias("icao24"),
        _text_col(raw, "registration").alias("registration"),
        _text_col(raw, "typecode").alias("typecode"),
        _text_col(raw, "model").alias("model"),
        _text_col(raw, "manufacturername").alias("manufacturer"),
        _text_col(raw, "serialnumber").alias("serialnumber"),
        _text_col(raw, "operator").alias("operator"),
        _text_col(raw, "owner").alias("owner"),
        _text_col(raw, "built").alias("built"),
        _text_col(raw, "registered").alias("registered"),
        _text_col(raw, "reguntil").alias("reg_until"),
    )
    return _canonical(frame, "opensky", path, _snapshot(path))


def read_opensky_complete(path: Path) -> pl.DataFrame:
    """OpenSky monthly `aircraft-database-complete-YYYY-MM.csv` (single-quoted, prevReg/nextReg)."""
    raw = _read_csv(read_all(path), path, quote_char="'")
    raw = raw.rename({c: c.strip().strip("'") for c in raw.columns})
    frame = raw.select(
        _text_col(raw, "icao24").alias("icao24"),
        _text_col(raw, "registration").alias("registration"),
        _text_col(raw, "typecode").alias("typecode"),
        _text_col(raw, "model").alias("model"),
        _text_col(raw, "manufacturerName").alias("manufacturer"),
        _text_col(raw, "serialNumber").alias("serialnumber"),
        _text_col(raw, "operator").alias("operator"),
        _text_col(raw, "owner").alias("owner"),
        _text_col(raw, "built").alias("built"),
        _text_col(raw, "prevReg").alias("prev_reg"),
        _text_col(raw, "nextReg").alias("next_reg"),
        _text_col(raw, "registered").alias("registered"),
        _text_col(raw, "regUntil").alias("reg_until"),
    )
    return _canonical(frame, "opensky-complete", path, _snapshot(path))


def read_tar1090_db(path: Path) -> pl.DataFrame:
    """tar1090-db `aircraft.csv(.gz)`: `icao;registration;typecode;dbFlags;typeLong;year;ownOp`, no header."""
    names = ["icao24", "registration", "typecode", "db_flags", "model", "built", "operator"]
    data = read_all(path)
    try:
        raw = pl.read_csv(
            io.BytesIO(data), separator=";", has_header=False, quote_char=None, infer_schema=False,
            truncate_ragged_lines=True,
        )
    except pl.exceptions.PolarsError as exc:
        raise BadInput(f"{path}: cannot read as tar1090-db CSV: {str(exc).splitlines()[0]}") from exc
    raw = raw.select(raw.columns[: len(names)])  # a trailing ';' adds an empty column
    raw = raw.rename(dict(zip(raw.columns, names)))
    flags = pl.col("db_flags").str.strip_chars().cast(pl.Int64, strict=False).fill_null(0)
    frame = raw.select(
        _text_col(raw, "icao24").alias("icao24"),
        _text_col(raw, "registration").alias("registration"),
        _text_col(raw, "typecode").alias("typecode"),
        _text_col(raw, "model").alias("model"),
        _text_col(raw, "built").alias("built"),
        _text_col(raw, "operator").alias("operator"),
        ((flags & 1) == 1).alias("military"),
    )
    return _canonical(frame, "tar1090-db", path, _snapshot(path))


def read_adsbx(path: Path) -> pl.DataFrame:
    """ADS-B Exchange `basic-ac-db.json(.gz)`: one JSON object per line."""
    rows: list[dict] = []
    bad = 0
    for lineno, line in enumerate(read_all(path).decode("utf-8", errors="replace").splitlines(), start=1):
        line = line.strip()
        if not line:
            continue
        try:
            obj = json.loads(line)
        except ValueError:
            bad += 1
            if bad == 1 and lineno == 1:
                raise BadInput(f"{path}:1: not a JSON line") from None
            continue
        if not isinstance(obj, dict):
            continue
        rows.append({
            "icao24": str(obj.get("icao") or ""),
            "registration": _s(obj.get("reg", obj.get("r"))),
            "typecode": _s(obj.get("icaotype", obj.get("t"))),
            "model": _s(obj.get("model", obj.get("short_type"))),
            "manufacturer": _s(obj.get("manufacturer")),
            "operator": _s(obj.get("ownop")),
            "built": _s(obj.get("year")),
            "military": bool(obj.get("mil", False)),
        })
    frame = pl.DataFrame(rows, schema={k: REGISTRY_SCHEMA[k] for k in (
        "icao24", "registration", "typecode", "model", "manufacturer", "operator", "built", "military")})
    return _canonical(frame, "adsbx", path, _snapshot(path))


def _s(value) -> str | None:
    if value is None:
        return None
    text = str(value).strip()
    return text or None


READERS = {
    "opensky": read_opensky,
    "opensky-complete": read_opensky_complete,
    "tar1090-db": read_tar1090_db,
    "adsbx": read_adsbx,
}


def read_registry(path: Path) -> pl.DataFrame:
    """Any supported registry file as a REGISTRY_SCHEMA frame."""
    kind = sniff_registry(read_head(path))
    if kind is None:
        raise BadInput(f"{path}: not a known aircraft registry format")
    return READERS[kind](path)


def import_registry(path: Path, archive: Path) -> tuple[str, int, bool]:
    """Store one registry file in the archive: (kind, rows, newly stored?)."""
    kind = sniff_registry(read_head(path))
    if kind is None:
        raise BadInput(f"{path}: not a known aircraft registry format")
    target = registry_dir(archive) / f"{kind}-{file_digest(path)}.parquet"
    if target.exists():
        return kind, pl.scan_parquet(target).select(pl.len()).collect().item(), False
    frame = READERS[kind](path)
    write_parquet_atomic(frame, target)
    return kind, frame.height, True


def registry(archive: Path | None) -> pl.LazyFrame:
    """All imported registry rows of an archive (empty without one)."""
    if archive is None:
        return pl.LazyFrame(schema=REGISTRY_SCHEMA)
    files = sorted(p for p in registry_dir(archive).glob("*.parquet") if not p.name.startswith("."))
    if not files:
        return pl.LazyFrame(schema=REGISTRY_SCHEMA)
    return pl.scan_parquet(files).select(list(REGISTRY_SCHEMA))


def by_icao24(rows: pl.LazyFrame, icao24: str) -> pl.DataFrame:
    """Every registry record of an address, oldest snapshot first (its registration history)."""
    return rows.filter(pl.col("icao24") == icao24.strip().lower()).sort("snapshot").collect()


def by_registration(rows: pl.LazyFrame, registration: str) -> pl.DataFrame:
    """Every record that carried the registration, now or as a previous / next one."""
    key = key_of(registration)
    return rows.filter(
        (pl.col("reg_key") == key) | (reg_key(pl.col("prev_reg")) == key) | (reg_key(pl.col("next_reg")) == key)
    ).sort("snapshot").collect()


def by_serial(rows: pl.LazyFrame, serial: str, model: str | None = None) -> pl.DataFrame:
    """Records with the manufacturer's serial number (MSN), digits compared without separators."""
    key = re.sub(r"[\s\-/.]", "", serial.upper())
    return rows.filter(
        pl.col("serialnumber").str.to_uppercase().str.replace_all(r"[\s\-/.]", "") == key
    ).sort("snapshot").collect()


def name_key(expr: pl.Expr) -> pl.Expr:
    """Operator / owner comparison key: upper case, punctuation and legal-form words dropped."""
    return (
        expr.str.to_uppercase()
        .str.replace_all(r"[^\p{L}\p{N} ]", " ")
        .str.replace_all(r"\b(LLC|LTD|JSC|PJSC|OJSC|CJSC|OOO|OAO|ZAO|AO|PAO|INC|CO|COMPANY|LIMITED|THE)\b", " ")
        .str.replace_all(r"\s+", " ")
        .str.strip_chars()
    )


def by_operator(rows: pl.LazyFrame, names: list[str]) -> pl.DataFrame:
    """Records whose operator or owner is one of `names` (compared by `name_key`)."""
    keys = pl.Series([n for n in names if n]).to_frame("n").select(name_key(pl.col("n"))).to_series()
    keys = [k for k in keys.to_list() if k]
    if not keys:
        return rows.head(0).collect()
    return rows.filter(
        name_key(pl.col("operator")).is_in(keys) | name_key(pl.col("owner")).is_in(keys)
    ).sort("snapshot").collect()


def by_operators(rows: pl.LazyFrame, names: list[str]) -> dict[str, set[str]]:
    """Each of `names` → the addresses of the records whose operator or owner it names (compared
    by `name_key`, as `by_operator` compares them), from one read of the registries for all."""
    wanted = [n for n in dict.fromkeys(names) if n]
    if not wanted:
        return {}
    keys = pl.DataFrame({"name": wanted}).with_columns(name_key(pl.col("name")).alias("key"))
    usable = keys.filter(pl.col("key").is_not_null() & (pl.col("key") != ""))
    out: dict[str, set[str]] = {n: set() for n in wanted}
    if usable.height == 0:
        return out
    found = rows.select(
        "icao24", name_key(pl.col("operator")).alias("_op"), name_key(pl.col("owner")).alias("_own")
    ).filter(pl.col("_op").is_in(usable["key"].implode()) | pl.col("_own").is_in(usable["key"].implode())).collect()
    by_key: dict[str, set[str]] = {}
    for icao24, op, owner in found.iter_rows():
        if icao24 is None:
            continue
        for key in {op, owner}:
            if key is not None:
                by_key.setdefault(key, set()).add(icao24)
    for name, key in usable.select("name", "key").iter_rows():
        out[name] = by_key.get(key, set())
    return out


__all__ = [
    "REGISTRY_SCHEMA", "sniff_registry", "read_registry", "import_registry", "registry",
    "by_icao24", "by_registration", "by_serial", "by_operator", "by_operators", "key_of",
]
