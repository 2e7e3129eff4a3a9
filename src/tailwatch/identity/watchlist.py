"""Watchlists: import any list format into the archive, and resolve entries to addresses.

Data: `data/watchlist_seed.csv` — publicly reported sanctioned aircraft, one row each,
with `source` and `as_of` (read like a hand-made list).

Resolution keeps its evidence: every entry gets address candidates, each with what
supported it (Mode S code on the list, registry record, allocation rule, MSN, the
archive's own recordings naming the registration: `seen/` claims) and a confidence; evidence for the same address from independent sources is combined as
1 - prod(1 - c). An entry nothing resolves keeps its row with a null `icao24`: entries
are never dropped. A listed operator expands into one row per aircraft the registries
show it operating or owning ("operator listed").
"""

from __future__ import annotations

import csv
import io
import os
import re
from functools import lru_cache
from importlib import resources
from pathlib import Path

import polars as pl

from tailwatch.identity import ftm, ofac
from tailwatch.identity.ofac import csv_fault
from tailwatch.identity.icao_blocks import countries_of
from tailwatch.identity.registrations import icao_from_registration, normalize_registration
from tailwatch.archive import file_digest
from tailwatch.identity.registry import READERS as REGISTRY_READERS
from tailwatch.identity.registry import key_of, name_key, reg_key, registry, sniff_registry
from tailwatch.identity.sanctions import ENTRY_SCHEMA, entries_frame
from tailwatch.identity.store import registry_dir, watchlist_path
from tailwatch.errors import BadInput
from tailwatch.files import PARQUET_MAGIC, read_all, read_head

SEED_FILE = "watchlist_seed.csv"
UNRESOLVED = "unresolved: no Mode S code, registry record, rule, MSN or recording match"
HEX6 = re.compile(r"^[0-9a-f]{6}$")

CANDIDATE = pl.Struct({"icao24": pl.String(), "evidence": pl.String(), "confidence": pl.Float64()})
RESOLVED_SCHEMA: dict[str, pl.DataType] = {
    **ENTRY_SCHEMA,
    "icao24": pl.String(),
    "confidence": pl.Float64(),
    "evidence": pl.String(),
    "candidates": pl.List(CANDIDATE),
    "country": pl.String(),
}

# confidence of each kind of evidence (a judgement, stated here so reports can cite it)
CONF_LIST_MODE_S = 0.95  # the list itself publishes the address
CONF_REGISTRY_CURRENT = 0.9  # newest registry record of the registration
CONF_RULE = 0.85  # published allocation rule (reverse-engineered, spot-checked)
CONF_REGISTRY_MSN = 0.75  # registry record with the same serial number and model
CONF_REGISTRY_OLDER = 0.6  # an earlier holder of the registration
CONF_OPERATOR_FLEET = 0.6  # registry shows the listed operator/owner flying it
CONF_PREVIOUS = 0.4  # via a previous registration
# a recording in the archive (FR24 file, readsb aircraft database) names the registration on this address:
# below a current registry record and an allocation rule, above an MSN match; an address the
# recordings named the registration on before they named it on another one counts as an older holder
CONF_RECORDED = 0.8
CONF_RECORDED_OLDER = CONF_REGISTRY_OLDER
CONF_MSN_ONLY = 0.5  # serial number matched, model not confirmed


# --- reading any list -------------------------------------------------------------------

def detect_list(path: Path) -> str:
    """Format of a list or registry file: ofac-sdn-xml | ofac-advanced | ofac-sdn-csv | ftm |
    plain-csv | watchlist-parquet | registry:<kind>."""
    head = read_head(path)
    if head.startswith(PARQUET_MAGIC):
        return "watchlist-parquet"
    stripped = head.lstrip(b"\xef\xbb\xbf").lstrip()
    if stripped.startswith(b"<"):
        root = ofac.xml_root_name(stripped)
        if root == "sdnList":
            return "ofac-sdn-xml"
        if root == "Sanctions":
            return "ofac-advanced"
        raise BadInput(f"{path}: XML root <{root}> is neither an OFAC sdnList nor an advanced Sanctions file")
    if ftm.is_ftm(stripped):
        return "ftm"
    kind = sniff_registry(stripped)
    if kind is not None:
        return f"registry:{kind}"
    if ofac.is_sdn_csv(stripped):
        return "ofac-sdn-csv"
    if path.name.lower() in ("alt.csv", "add.csv", "sdn_comments.csv"):
        raise BadInput(f"{path}: part of OFAC's CSV set, read together with sdn.csv from the same folder; "
                       "import sdn.csv")
    header = stripped.split(b"\n", 1)[0].decode("utf-8", errors="replace").lower()
    cols = {c.strip().strip('"') for c in header.split(",")}
    if cols & {"icao24", "registration", "msn"}:
        return "plain-csv"
    raise BadInput(f"{path}: not a watchlist (OFAC XML/CSV, FollowTheMoney JSON lines, or a CSV with an "
                   "icao24 or registration column) nor an aircraft registry")


def text_lines_checked(path: Path, text: str) -> None:
    """A text list holds no NUL byte (a binary file, or one damaged in transit): BadInput at its line."""
    at = text.find("\x00")
    if at >= 0:
        raise BadInput(f"{path}:{text.count(chr(10), 0, at) + 1}: NUL byte in a text list (binary or damaged file?)")


def csv_records(path: Path, text: str):
    """(line, fields) of each record of a CSV text, checked: BadInput names the file and line of a record
    with an unbalanced quote (a field that runs over the end of its line), a field over the csv module's
    size limit, or a malformed quote. Blank lines are skipped."""
    text_lines_checked(path, text)
    reader = csv.reader(io.StringIO(text), strict=True)
    start = 1
    try:
        for row in reader:
            end = reader.line_num
            if any("\n" in v or "\r" in v for v in row):
                raise BadInput(f"{path}:{start}: unbalanced quote: a field runs from line {start} into line {end} "
                               "(a quote opened and not closed on its line)")
            if row and any(v.strip() for v in row):
                yield start, row
            start = end + 1
    except csv.Error as exc:
        raise BadInput(f"{path}:{start}: {csv_fault(exc)}") from None


def read_plain_csv(path: Path, list_name: str | None = None, text: str | None = None) -> pl.DataFrame:
    """A hand-made CSV: `registration` and/or `icao24` (+ note, and any ENTRY_SCHEMA column).

    Strict: a record with more or fewer fields than the header, an unbalanced quote, a NUL byte
    or an oversized field is BadInput naming the file and line (nothing is imported)."""
    if text is None:
        data = read_all(path)
        text = data.decode("utf-8-sig", errors="replace")
    records = csv_records(path, text)
    header = next(records, None)
    if header is None:
        raise BadInput(f"{path}: empty CSV")
    names = [(k or "").strip().lower() for k in header[1]]
    rows = []
    default_list = list_name or path.stem
    for lineno, fields in records:
        if len(fields) != len(names):
            raise BadInput(f"{path}:{lineno}: {len(fields)} fields where the header has {len(names)} "
                           "(a stray or missing comma, or an unquoted comma inside a value)")
        rec = {k: v.strip() for k, v in zip(names, fields) if k}
        icao = rec.get("icao24", "").lower().lstrip("~")
        reg = rec.get("registration", "")
        if icao and not HEX6.match(icao):
            raise BadInput(f"{path}:{lineno}: icao24 {icao!r} is not 6 hex digits")
        if not (icao or reg or rec.get("msn")):
            raise BadInput(f"{path}:{lineno}: row has neither icao24, registration nor msn")
        prev = [r for r in re.split(r"[;|]", rec.get("previous_registrations", "")) if r.strip()]
        rows.append({
            "list": rec.get("list") or default_list,
            "entry_id": rec.get("entry_id") or rec.get("id") or f"{path.name}:{lineno}",
            "program": rec.get("program") or None, "name": rec.get("name") or reg or icao or None,
            "kind": rec.get("kind") or "aircraft",
            "registrations": [r for r in re.split(r"[;|]", reg) if r.strip()],
            "previous_registrations": prev, "mode_s": icao or None, "msn": rec.get("msn") or None,
            "model": rec.get("model") or None, "operator": rec.get("operator") or None,
            "listing_date": rec.get("listing_date") or None, "reason": rec.get("reason") or "listed",
            "note": rec.get("note") or None, "source": rec.get("source") or None,
            "as_of": rec.get("as_of") or None, "source_file": str(path),
        })
    return entries_frame(rows)


def read_entries(path: Path) -> pl.DataFrame:
    """Entries of any importable list file (ENTRY_SCHEMA)."""
    path = Path(path)
    if not path.exists():
        raise BadInput(f"{path}: no such file")
    kind = detect_list(path)
    if kind == "ofac-sdn-xml":
        return ofac.read_sdn_xml(path)
    if kind == "ofac-advanced":
        return ofac.read_sdn_advanced(path)
    if kind == "ofac-sdn-csv":
        return ofac.read_sdn_csv(path)
    if kind == "ftm":
        return ftm.read_ftm(path)
    if kind == "plain-csv":
        return read_plain_csv(path)
    if kind == "watchlist-parquet":
        frame = pl.read_parquet(path)
        missing = set(ENTRY_SCHEMA) - set(frame.columns)
        if missing:
            raise BadInput(f"{path}: Parquet file is not a watchlist (missing {sorted(missing)})")
        return frame.select(list(ENTRY_SCHEMA))
    raise BadInput(f"{path}: is an aircraft registry ({kind.split(':', 1)[1]}), not a watchlist")


def seed_entries() -> pl.DataFrame:
    """The bundled seed list (publicly reported sanctioned aircraft)."""
    with (resources.files("tailwatch") / "data" / SEED_FILE).open("r", encoding="utf-8") as f:
        text = f.read()
    return read_plain_csv(Path(SEED_FILE), list_name="seed", text=text)


# --- the archive's watchlist -----------------------------------------------------------------

def stored_entries(archive: Path | None) -> pl.DataFrame:
    """Entries imported into an archive (empty frame if none)."""
    if archive is None or not watchlist_path(archive).exists():
        return pl.DataFrame(schema=ENTRY_SCHEMA)
    return pl.read_parquet(watchlist_path(archive)).select(list(ENTRY_SCHEMA))


def import_files(paths: list[Path], archive: Path) -> list[dict]:
    """Import lists (and registries) into the archive; returns one summary dict per file.

    All or nothing: every file is read and checked before anything is written, so one bad
    file (exit 2) leaves the archive as it was, whatever the order of the files. The new
    tables are then staged beside their targets and renamed into place together.
    A file already imported replaces its own earlier entries (same list and entry id),
    so importing it twice adds nothing.
    """
    results = []
    new_frames = []
    registries: dict[Path, pl.DataFrame] = {}  # target → rows, for registry files not stored yet
    for path in paths:
        path = Path(path)
        if not path.exists():
            raise BadInput(f"{path}: no such file")
        kind = detect_list(path)
        if kind.startswith("registry:"):
            reg_kind = kind.split(":", 1)[1]
            target = registry_dir(archive) / f"{reg_kind}-{file_digest(path)}.parquet"
            if target.exists():
                rows, fresh = pl.scan_parquet(target).select(pl.len()).collect().item(), False
            else:
                fresh = target not in registries
                frame = registries.get(target)
                if frame is None:
                    frame = registries[target] = REGISTRY_READERS[reg_kind](path)
                rows = frame.height
            results.append({"file": str(path), "format": f"registry ({reg_kind})", "entries": rows,
                            "new": rows if fresh else 0})
            continue
        entries = read_entries(path)
        new_frames.append(entries)
        results.append({"file": str(path), "format": kind, "entries": entries.height, "new": None})
    writes = dict(registries)
    if new_frames:
        before = stored_entries(archive)
        keys = ["list", "entry_id", "kind"]
        combined = pl.concat([before, *new_frames], how="vertical_relaxed").unique(
            subset=keys, keep="last", maintain_order=True)
        old_keys = set(before.select(keys).iter_rows())
        for res, frame in zip([r for r in results if r["new"] is None], new_frames):
            res["new"] = sum(1 for k in frame.select(keys).unique().iter_rows() if k not in old_keys)
        writes[watchlist_path(archive)] = combined
    _write_together(writes)
    return results


def _write_together(frames: dict[Path, pl.DataFrame]) -> None:
    """Stage every table in a dot-temporary file beside its target (fsynced), then rename them all:
    a failure while staging (disk full) leaves the archive untouched."""
    staged: list[tuple[Path, Path]] = []
    try:
        for target, frame in frames.items():
            target.parent.mkdir(parents=True, exist_ok=True)
            tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
            frame.write_parquet(tmp, compression="zstd", statistics=True)
            with open(tmp, "rb") as f:
                os.fsync(f.fileno())
            staged.append((tmp, target))
    except BaseException:
        for tmp, _ in staged:
            tmp.unlink(missing_ok=True)
        raise
    for tmp, target in staged:
        os.replace(tmp, target)


# --- resolution ---------------------------------------------------------------------------

def _registry_hits(entries: pl.DataFrame, rows: pl.LazyFrame) -> pl.DataFrame:
    """Registry records that name a registration (current, previous or next) or a serial number of the entries."""
    keys = entries.select(pl.concat([pl.col("registrations").explode(), pl.col("previous_registrations").explode()])
                          .alias("r")).select(reg_key(pl.col("r"))).to_series().drop_nulls().unique()
    msns = entries.select(pl.col("msn").str.to_uppercase().str.replace_all(r"[\s\-/.]", "")).to_series().drop_nulls()
    msns = msns.filter(msns != "").unique()
    msn_key = pl.col("serialnumber").str.to_uppercase().str.replace_all(r"[\s\-/.]", "")
    if keys.is_empty() and msns.is_empty():
        return rows.head(0).collect().with_columns(pl.lit(None, pl.String).alias("msn_key"))
    key_list, msn_list = keys.implode(), msns.implode()
    return rows.with_columns(msn_key.alias("msn_key")).filter(
        pl.col("reg_key").is_in(key_list) | reg_key(pl.col("prev_reg")).is_in(key_list)
        | reg_key(pl.col("next_reg")).is_in(key_list) | pl.col("msn_key").is_in(msn_list)
    ).collect()


def _recorded_hits(entries: pl.DataFrame, archive: Path | None, claims: pl.DataFrame | None) -> pl.DataFrame:
    """The recordings' claims naming any registration of the entries (one read of `seen/`)."""
    from tailwatch.seen_store import claims_about

    regs = sorted({r for regs in entries["registrations"].to_list() for r in regs or []})
    return claims_about(archive, claims, registrations=regs) if regs else claims_about(None, None)


def _text(*parts) -> pl.Expr:
    """Strings and columns joined into one text column (null where a column is null)."""
    return pl.concat_str([pl.lit(p) if isinstance(p, str) else p for p in parts])


EVIDENCE = {"entry": pl.UInt32(), "icao24": pl.String(), "why": pl.String(), "confidence": pl.Float64(),
            "section": pl.Int32(), "pos": pl.Int64(), "sub": pl.Int32(), "snapshot": pl.String(), "row": pl.UInt32()}
# section, pos, sub, snapshot, row: the reading order (list code; per registration: its records by snapshot,
# the records naming it as previous/next, the rule; then the MSN), row = the registry record's order


def _evidence(aircraft: pl.DataFrame, hits: pl.DataFrame) -> pl.DataFrame:
    """Every piece of evidence for every aircraft entry, as rows (entry, icao24, why, confidence) in the order
    an investigator reads them: the list's own Mode S code, then per registration (current ones first) the
    registry records of it, the records naming it as previous/next, the allocation rule; then the MSN.
    Joins over all entries at once: a 100,000-entry list resolves in seconds."""
    aircraft, hits = aircraft.rechunk(), hits.rechunk().with_row_index("row")  # one chunk per column: cheaper joins
    ent = aircraft.select(pl.int_range(pl.len(), dtype=pl.UInt32).alias("entry"), "mode_s", "registrations",
                          "previous_registrations", "msn", "model")
    parts = [ent.filter(pl.col("mode_s").is_not_null()).select(
        "entry", pl.col("mode_s").alias("icao24"),
        _text("Mode S code ", pl.col("mode_s").str.to_uppercase(), " on the list").alias("why"),
        pl.lit(CONF_LIST_MODE_S).alias("confidence"), pl.lit(0, pl.Int32).alias("section"),
        pl.lit(0, pl.Int64).alias("pos"), pl.lit(0, pl.Int32).alias("sub"), pl.lit(None, pl.String).alias("snapshot"),
        pl.lit(0, pl.UInt32).alias("row"))]
    regs = pl.concat([
        ent.select("entry", pl.col(col).alias("reg")).explode("reg").drop_nulls("reg").with_columns(
            (pl.int_range(pl.len()).over("entry") + offset).alias("pos"), pl.lit(offset > 0).alias("previous"))
        for col, offset in (("registrations", 0), ("previous_registrations", 1_000_000))
    ]).with_columns(pl.col("reg").str.to_uppercase().str.replace_all(r"[\s\-_.]", "").alias("key"),
                    pl.when(pl.col("previous")).then(pl.lit("previous registration ")).otherwise(pl.lit(""))
                    .alias("label"))
    if regs.height and hits.height:
        newest = hits.group_by("reg_key").agg(pl.col("snapshot").max().alias("newest"))
        current = regs.join(hits.select("reg_key", "icao24", "source", "snapshot", "row"), left_on="key",
                            right_on="reg_key").join(newest, left_on="key", right_on="reg_key")
        parts.append(current.select(
            "entry", "icao24", _text(pl.col("source"), " registry ", pl.col("snapshot"), ": ", pl.col("label"), pl.col("reg")).alias("why"),
            pl.when(pl.col("previous")).then(CONF_PREVIOUS)
            .when(pl.col("snapshot") == pl.col("newest")).then(CONF_REGISTRY_CURRENT)
            .otherwise(CONF_REGISTRY_OLDER).alias("confidence"),
            pl.lit(1, pl.Int32).alias("section"), "pos", pl.lit(0, pl.Int32).alias("sub"), "snapshot", "row"))
        linked = hits.select("icao24", "source", "snapshot", pl.col("registration").fill_null("?"),
                             reg_key(pl.col("prev_reg")).alias("prev_key"), reg_key(pl.col("next_reg")).alias("next_key"),
                             "row")
        moved = pl.concat([regs.join(linked, left_on="key", right_on=side) for side in ("prev_key", "next_key")],
                          how="diagonal_relaxed").unique(["entry", "pos", "row"], keep="first").sort("row")
        parts.append(moved.select(
            "entry", "icao24",
            _text(pl.col("source"), " registry ", pl.col("snapshot"), ": ", pl.col("reg"),
                  " as prev/next registration of ", pl.col("registration")).alias("why"),
            pl.when(pl.col("previous")).then(CONF_PREVIOUS).otherwise(CONF_REGISTRY_OLDER).alias("confidence"),
            pl.lit(1, pl.Int32).alias("section"), "pos", pl.lit(1, pl.Int32).alias("sub"),
            pl.lit(None, pl.String).alias("snapshot"), "row"))
    if regs.height:
        distinct = regs["reg"].unique().to_list()
        matches = [icao_from_registration(r) for r in distinct]  # the published allocation rules, per registration
        rules = pl.DataFrame({"reg": distinct, "rule_icao24": [m.icao24 if m else None for m in matches],
                              "rule": [f"rule ({m.rule}): " if m else None for m in matches],
                              "rule_reg": [m.registration if m else None for m in matches]},
                             schema={"reg": pl.String, "rule_icao24": pl.String, "rule": pl.String,
                                     "rule_reg": pl.String}).drop_nulls("rule_icao24")
        parts.append(regs.join(rules, on="reg").select(
            "entry", pl.col("rule_icao24").alias("icao24"), _text(pl.col("rule"), pl.col("label"), pl.col("rule_reg")).alias("why"),
            pl.when(pl.col("previous")).then(CONF_PREVIOUS).otherwise(CONF_RULE).alias("confidence"),
            pl.lit(1, pl.Int32).alias("section"), "pos", pl.lit(2, pl.Int32).alias("sub"),
            pl.lit(None, pl.String).alias("snapshot"), pl.lit(0, pl.UInt32).alias("row")))
    with_msn = ent.filter(pl.col("msn").is_not_null() & (pl.col("msn") != ""))
    if with_msn.height and hits.height:
        model_key = lambda e: e.str.to_uppercase().str.replace_all(r"[^0-9A-Z]", "").str.slice(0, 4)  # noqa: E731
        serial = with_msn.with_columns(pl.col("msn").str.to_uppercase().str.replace_all(r"[\s\-/.]", "").alias("key"),
                                       model_key(pl.col("model").fill_null("")).alias("mkey"))
        found = serial.join(hits.select("msn_key", "icao24", "source", "snapshot", "row", model_key(pl.concat_str(
            pl.col("typecode").fill_null(""), pl.lit(" "), pl.col("model").fill_null(""))).alias("rkey")),
            left_on="key", right_on="msn_key")
        same = (pl.col("mkey") != "") & pl.col("rkey").str.contains(pl.col("mkey"), literal=True)
        parts.append(found.select(
            "entry", "icao24",
            _text(pl.col("source"), " registry ", pl.col("snapshot"), ": MSN ", pl.col("msn"),
                  pl.when(same).then(pl.lit(" and model")).otherwise(pl.lit(""))).alias("why"),
            pl.when(same).then(CONF_REGISTRY_MSN).otherwise(CONF_MSN_ONLY).alias("confidence"),
            pl.lit(2, pl.Int32).alias("section"), pl.lit(0, pl.Int64).alias("pos"), pl.lit(0, pl.Int32).alias("sub"),
            pl.lit(None, pl.String).alias("snapshot"), "row"))
    return pl.concat([p.select([pl.col(k).cast(t) for k, t in EVIDENCE.items()]) for p in parts])


def _candidates(evidence: pl.DataFrame) -> pl.DataFrame:
    """Per entry: its candidate addresses, each with the evidence for it joined and the confidence of
    independent evidence combined as 1 - prod(1 - c) (at most 0.99), best first."""
    combined = (evidence.filter(pl.col("icao24").str.contains(r"^[0-9a-f]{6}$"))
                .sort(["entry", "section", "pos", "sub", "snapshot", "row"], nulls_last=False, maintain_order=True)
                .unique(["entry", "icao24", "why"], keep="first", maintain_order=True)
                .group_by(["entry", "icao24"], maintain_order=True)
                .agg(pl.col("why").str.join("; ").alias("evidence"),
                     (1.0 - (1.0 - pl.col("confidence")).product()).clip(upper_bound=0.99).round(3).alias("confidence")))
    return (combined.sort(["entry", "confidence", "icao24"], descending=[False, True, False])
            .group_by("entry", maintain_order=True)
            .agg(pl.struct("icao24", "evidence", "confidence").alias("candidates")))


def _recorded_evidence(aircraft: pl.DataFrame, said: pl.DataFrame) -> pl.DataFrame:
    """Addresses the recordings name the entries' registrations on, as evidence rows: one per entry,
    registration and address (however many files say it), the address named last as current."""
    from tailwatch.seen_store import registration_key

    regs = (aircraft.select(pl.int_range(pl.len(), dtype=pl.UInt32).alias("entry"), pl.col("registrations").alias("reg"))
            .explode("reg").drop_nulls("reg")
            .with_columns(pl.int_range(pl.len()).over("entry").cast(pl.Int64).alias("pos"),
                          registration_key(pl.col("reg")).alias("key")))
    if regs.height == 0 or said.height == 0:
        return pl.DataFrame(schema=EVIDENCE)
    per = (said.drop_nulls("registration").with_columns(registration_key(pl.col("registration")).alias("key"))
           .group_by("key", "icao24")
           .agg(pl.col("first").min(), pl.col("last").max(), pl.col("file").sort_by("last").last(), pl.len().alias("n")))
    per = per.with_columns((pl.col("last") == pl.col("last").max().over("key")).alias("newest"))
    found = regs.join(per, on="key").sort("entry", "pos", "last")
    more = pl.when(pl.col("n") > 1).then(_text(" and ", (pl.col("n") - 1).cast(pl.String), " more")).otherwise(pl.lit(""))
    return found.select(
        "entry", "icao24",
        _text("the recording's own field (", pl.col("file"), more, "): ", pl.col("reg"), ", ",
              pl.col("first").dt.strftime("%Y-%m-%dT%H:%M:%SZ"), " … ", pl.col("last").dt.strftime("%Y-%m-%dT%H:%M:%SZ")).alias("why"),
        pl.when(pl.col("newest")).then(CONF_RECORDED).otherwise(CONF_RECORDED_OLDER).alias("confidence"),
        pl.lit(1, pl.Int32).alias("section"), "pos", pl.lit(3, pl.Int32).alias("sub"),
        pl.lit(None, pl.String).alias("snapshot"), pl.lit(0, pl.UInt32).alias("row"),
    ).select([pl.col(k).cast(t) for k, t in EVIDENCE.items()])


def _model_key(text: str | None) -> str:
    """'IL76-TD', 'Ilyushin Il-76TD', 'IL76' -> comparable upper alnum ('IL76TD', ..., 'IL76')."""
    return re.sub(r"[^0-9A-Z]", "", (text or "").upper())[:4]


def resolve(entries: pl.DataFrame, archive: Path | None = None, claims: pl.DataFrame | None = None) -> pl.DataFrame:
    """One row per entry (operators: per fleet aircraft) with its best address, evidence and candidates.

    `claims` (SEEN_SCHEMA) stands for the archive's `seen/` table when given (input files)."""
    rows = registry(archive)
    aircraft = entries.filter(pl.col("kind") != "operator")
    operators = entries.filter(pl.col("kind") == "operator")
    frames = []
    if aircraft.height:
        hits = _registry_hits(aircraft, rows)
        said = _recorded_hits(aircraft, archive, claims)
        evidence = pl.concat([_evidence(aircraft, hits), _recorded_evidence(aircraft, said)])
        chosen = aircraft.with_row_index("entry").join(_candidates(evidence), on="entry",
                                                      how="left", maintain_order="left")
        best = pl.col("candidates").list.first().struct
        frames.append(chosen.select(
            *ENTRY_SCHEMA, best.field("icao24").alias("icao24"), best.field("confidence").alias("confidence"),
            pl.coalesce(best.field("evidence"), pl.lit(UNRESOLVED)).alias("evidence"),
            pl.col("candidates").fill_null(pl.lit([], dtype=pl.List(CANDIDATE)))))
    out: list[dict] = []
    if operators.height:
        names = [n for n in operators["operator"].to_list() + operators["name"].to_list() if n]
        keys = pl.Series(names, dtype=pl.String).to_frame("n").select(name_key(pl.col("n"))).to_series()
        fleet = rows.filter(
            name_key(pl.col("operator")).is_in(keys.implode()) | name_key(pl.col("owner")).is_in(keys.implode())
        ).with_columns(
            name_key(pl.col("operator")).alias("op_key"), name_key(pl.col("owner")).alias("owner_key")
        ).sort("snapshot").collect()
        for entry in operators.iter_rows(named=True):
            mine = {k for k in (_nk(entry["operator"]), _nk(entry["name"])) if k}
            members = fleet.filter(pl.col("op_key").is_in(list(mine)) | pl.col("owner_key").is_in(list(mine)))
            if members.is_empty():
                out.append(_resolved_row(entry, []))
                continue
            for icao, group in members.group_by("icao24", maintain_order=True):
                last = group.row(group.height - 1, named=True)
                role = "operator" if _nk(last["operator"]) in mine else "owner"
                why = f"{last['source']} registry {last['snapshot']}: {role} {last[role]}"
                member = {**entry, "kind": "aircraft", "entry_id": f"{entry['entry_id']}/{icao[0]}",
                          "registrations": [last["registration"]] if last["registration"] else [],
                          "model": last["typecode"] or last["model"], "name": last["registration"] or entry["name"]}
                out.append(_resolved_row(member, [{"icao24": icao[0], "evidence": why,
                                                   "confidence": CONF_OPERATOR_FLEET}]))
    schema = {k: v for k, v in RESOLVED_SCHEMA.items() if k != "country"}
    frames.append(pl.DataFrame(out, schema=schema))
    frame = pl.concat([f.cast(schema) for f in frames]) if len(frames) > 1 else frames[0].cast(schema)
    return frame.with_columns(countries_of(frame["icao24"]).alias("country"))


def _nk(name: str | None) -> str:
    if not name:
        return ""
    return pl.select(name_key(pl.lit(name))).item() or ""


def _resolved_row(entry: dict, candidates: list[dict]) -> dict:
    best = candidates[0] if candidates else None
    return {**{k: entry.get(k) for k in ENTRY_SCHEMA},
            "icao24": best["icao24"] if best else None,
            "confidence": best["confidence"] if best else None,
            "evidence": best["evidence"] if best else UNRESOLVED,
            "candidates": candidates}


def load_watchlist(path: Path, archive: Path | None = None, claims: pl.DataFrame | None = None) -> pl.DataFrame:
    """Any importable watchlist file, resolved (one row per entry; `icao24` null when unresolved)."""
    return resolve(read_entries(Path(path)), archive, claims)


def archive_watchlist(archive: Path | None, include_seed: bool = True) -> pl.DataFrame:
    """The archive's imported entries (plus the seed list), resolved.

    Resolved once per state of the archive's identity tables (entries and registries, by file
    name, size and modification time) and of its `seen/` claims (by day folder): a batch of hundreds of itineraries looks every aircraft
    up in it, and an import changes the stamp."""
    return _resolved_watchlist(None if archive is None else str(Path(archive).resolve()),
                               _identity_stamp(archive), include_seed)


def _identity_stamp(archive: Path | None) -> tuple:
    if archive is None:
        return ()
    from tailwatch.identity.store import identity_dir

    from tailwatch.seen_store import seen_root

    # a claims file is only ever added or rewritten in place (os.replace), which changes its day
    # folder's modification time: the folders are enough (a year of snapshots is many files)
    seen = seen_root(archive)
    days = tuple(sorted((p.name, p.stat().st_mtime_ns) for p in seen.glob("date=*") if p.is_dir())) if seen.is_dir() else ()
    folder = identity_dir(archive)
    if not folder.is_dir():
        return days
    return days + tuple(sorted((str(p.relative_to(folder)), st.st_size, st.st_mtime_ns)
                               for p in folder.rglob("*") if p.is_file() for st in (p.stat(),)))


@lru_cache(maxsize=8)
def _resolved_watchlist(archive: str | None, stamp: tuple, include_seed: bool) -> pl.DataFrame:
    folder = None if archive is None else Path(archive)
    parts = [stored_entries(folder)]
    if include_seed:
        parts.insert(0, seed_entries())
    return resolve(pl.concat(parts, how="vertical_relaxed"), folder)


__all__ = [
    "detect_list", "read_entries", "read_plain_csv", "seed_entries", "stored_entries", "import_files",
    "resolve", "load_watchlist", "archive_watchlist", "RESOLVED_SCHEMA", "normalize_registration",
]
