"""List files as an attacker or a careless export makes them, through the real CLI: every bad file is one
line naming the file and line, exit 2, nothing stored; a multi-file import is all or nothing in any order;
an OFAC XML streams (memory bounded by a fraction of its size); `watchlist show` is columnar; a list given
with `--input` reaches the report as an imported one does.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

DATA = Path(__file__).parent / "data" / "identity"


def tailwatch(*args: str, timeout: float = 300) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "tailwatch.cli", *args], capture_output=True, text=True,
                          timeout=timeout)


def identity_state(archive: Path) -> dict[str, bytes]:
    folder = archive / "_identity"
    return {str(p.relative_to(archive)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()} \
        if folder.is_dir() else {}


def one_line_exit_2(run: subprocess.CompletedProcess, *words: str) -> str:
    lines = run.stderr.strip().splitlines()
    assert run.returncode == 2, (run.returncode, run.stdout[-500:], run.stderr[-2000:])
    assert len(lines) == 1, run.stderr
    assert "Traceback" not in run.stderr and "AttributeError" not in run.stderr
    for w in words:
        assert w in lines[0], (w, lines[0])
    return lines[0]


BAD_FILES = {
    # an unbalanced quote: the csv module reads on into the next row and swallows it
    "quote-swallows.csv": ('registration,icao24,note\nRA-78765,,"photo of the\nRA-12345,,second aircraft\n'
                           'RA-70001,,"third"\n', "quote-swallows.csv:2:", "quote"),
    "quote-spans.csv": ('registration,icao24,note\nRA-78765,,"photo of the\nRA-12345,,second aircraft"\n',
                        "quote-spans.csv:2:", "unbalanced quote"),
    "quote-to-end.csv": ('registration,icao24,note\nRA-78765,,ok\nRA-12345,,"never closed\n',
                         "quote-to-end.csv:3:", "quote"),
    "nul.csv": ("registration,icao24,note\nRA-78765,,ok\nRA-12\x0045,,x\n", "nul.csv:3:", "NUL"),
    "ragged-long.csv": ("registration,icao24,note\nRA-78765,,ok\nRA-12345,,a,b\n", "ragged-long.csv:3:", "4 fields"),
    "ragged-short.csv": ("registration,icao24,note\nRA-78765,,ok\nRA-12345\n", "ragged-short.csv:3:", "1 fields"),
    "huge-field.csv": ("registration,icao24,note\nRA-78765,,ok\nRA-12345,," + "x" * 200_000 + "\n",
                       "huge-field.csv:3:", "field longer than"),
    "properties-list.ftm.json": (
        '{"id": "a1", "schema": "Airplane", "properties": {"registrationNumber": ["RA-78765"]}}\n'
        '{"id": "a2", "schema": "Airplane", "properties": ["RA-12345"]}\n', "properties-list.ftm.json:2:",
        "properties is a list"),
    "not-object.ftm.json": ('{"id": "a1", "schema": "Airplane", "properties": {}}\n["a", "b"]\n',
                            "not-object.ftm.json:2:", "not a FollowTheMoney entity"),
    "nested-list.ftm.json": ('{"id": "a1", "schema": "Airplane", "properties": {"name": [["x"]]}}\n',
                             "nested-list.ftm.json:1:", "list inside its list"),
    "sdn-quote.csv": ('90101,"RA-76951","aircraft","RUSSIA-EO14024","-0- ","-0- ","-0- ","-0- ","-0- ","-0- ",'
                      '"-0- ","Aircraft Tail Number RA-76951."\n90103,"EP-TQB"x,"aircraft","SDGT","-0- ","-0- ",'
                      '"-0- ","-0- ","-0- ","-0- ","-0- ","-0- "\n', "sdn-quote.csv:2:", "quote"),
}


@pytest.mark.parametrize("name", sorted(BAD_FILES))
def test_bad_list_file_is_one_line_exit_2_nothing_stored(tmp_path, name):
    text, where, words = BAD_FILES[name]
    bad = tmp_path / name
    bad.write_bytes(text.encode("utf-8"))
    archive = tmp_path / "archive"
    assert tailwatch("watchlist", "import", str(DATA / "handlist.csv"), "--archive", str(archive)).returncode == 0
    before = identity_state(archive)
    one_line_exit_2(tailwatch("watchlist", "import", str(bad), "--archive", str(archive)), where, words)
    assert identity_state(archive) == before
    # the same file given to a command that reads a list directly says the same
    run = tailwatch("itinerary", "--input", str(DATA / "handlist.csv"), "--watchlist", str(bad), "--format", "json")
    one_line_exit_2(run, where)


def test_good_files_still_read(tmp_path):
    """Quoted commas and quotes doubled inside a value stay legal; a trailing blank line is fine."""
    good = tmp_path / "good.csv"
    good.write_text('registration,icao24,note\nRA-78765,,"photo, 2024 ""Vnukovo"""\n,4b1805,\n\n')
    archive = tmp_path / "archive"
    run = tailwatch("watchlist", "import", str(good), "--archive", str(archive))
    assert run.returncode == 0, run.stderr
    show = json.loads(tailwatch("watchlist", "show", "--archive", str(archive), "--no-seed", "--format", "json").stdout)
    assert [e["note"] for e in show] == ['photo, 2024 "Vnukovo"', None]
    crlf = tmp_path / "crlf.csv"  # as a spreadsheet on Windows saves it
    crlf.write_bytes(b'registration,icao24,note\r\nRA-12345,,"a, b"\r\n,3c6dd4,x\r\n')
    assert tailwatch("watchlist", "import", str(crlf), "--archive", str(archive)).returncode == 0


@pytest.mark.parametrize("order", ["registry-first", "list-first", "bad-first"])
def test_multi_file_import_is_all_or_nothing(tmp_path, order):
    archive = tmp_path / "archive"
    bad = tmp_path / "BAD.xml"
    bad.write_bytes((DATA / "sdn.xml").read_bytes()[:700])  # truncated: not well-formed
    registry, good = DATA / "aircraftDatabase.csv", DATA / "handlist.csv"
    files = {"registry-first": [registry, bad], "list-first": [good, registry, bad],
             "bad-first": [bad, good, registry]}[order]
    one_line_exit_2(tailwatch("watchlist", "import", *map(str, files), "--archive", str(archive)),
                    "BAD.xml", "not well-formed XML")
    assert identity_state(archive) == {}, "a failed import stores nothing, not even the files before the bad one"
    # with an archive that already holds entries, the failure leaves them as they were
    assert tailwatch("watchlist", "import", str(DATA / "sdn.xml"), "--archive", str(archive)).returncode == 0
    before = identity_state(archive)
    one_line_exit_2(tailwatch("watchlist", "import", *map(str, files), "--archive", str(archive)), "BAD.xml")
    assert identity_state(archive) == before
    # the good files alone go in, together
    run = tailwatch("watchlist", "import", str(registry), str(good), "--archive", str(archive))
    assert run.returncode == 0, run.stderr
    after = identity_state(archive)
    assert any(k.startswith("_identity/registry/opensky-") for k in after)
    assert not any(Path(k).name.startswith(".") for k in after), "no staging file is left behind"


SAMPLE_ICAO24 = "48520a"  # the aircraft with positions in traffic's sample_dump1090.bin (TRA89M near Toulouse)
MARKUP = "<script>alert(1)</script> <img src=x onerror=alert(2)>"


def test_list_given_with_input_reaches_the_report_as_an_imported_one_does(traffic_samples, tmp_path):
    capture = traffic_samples / "dump1090" / "sample_dump1090.bin"
    listed = tmp_path / "hand.csv"
    listed.write_text(f"icao24,name,note\n{SAMPLE_ICAO24},sample aircraft,seen near Toulouse\n")
    run = tailwatch("itinerary", "--input", str(capture), "--watchlist", str(listed), "--format", "json")
    assert run.returncode == 0, run.stderr
    given = json.loads(run.stdout)["aircraft"]["watchlists"]
    assert [(w["list"], w["id"], w["name"], w["icao24"]) for w in given] == \
        [("hand", "hand.csv:2", "sample aircraft", SAMPLE_ICAO24)]
    # the same list imported into an archive holding the same recording gives the same entry
    archive = tmp_path / "archive"
    assert tailwatch("ingest", str(capture), "--archive", str(archive)).returncode == 0
    assert tailwatch("watchlist", "import", str(listed), "--archive", str(archive)).returncode == 0
    run = tailwatch("itinerary", "--archive", str(archive), "--aircraft", SAMPLE_ICAO24, "--format", "json")
    assert run.returncode == 0, run.stderr
    imported = [w for w in json.loads(run.stdout)["aircraft"]["watchlists"] if w["list"] == "hand"]
    keys = ("list", "id", "name", "icao24", "evidence", "confidence", "reason")
    assert [{k: w[k] for k in keys} for w in imported] == [{k: w[k] for k in keys} for w in given]
    # and given to an archive without importing it: the same entry, once
    bare = tmp_path / "bare"
    assert tailwatch("ingest", str(capture), "--archive", str(bare)).returncode == 0
    for where in (bare, archive):
        run = tailwatch("itinerary", "--archive", str(where), "--watchlist", str(listed), "--format", "json")
        assert run.returncode == 0, run.stderr
        doc = json.loads(run.stdout)
        doc = doc[0] if isinstance(doc, list) else doc
        entries = [w for w in doc["aircraft"]["watchlists"] if w["list"] == "hand"]
        assert [{k: w[k] for k in keys} for w in entries] == [{k: w[k] for k in keys} for w in given], where


def test_markdown_report_escapes_markup_from_list_fields(traffic_samples, tmp_path):
    capture = traffic_samples / "dump1090" / "sample_dump1090.bin"
    listed = tmp_path / "hand.csv"
    listed.write_text(f"icao24,name,list,entry_id\n{SAMPLE_ICAO24},{MARKUP},evil|list,<b>id</b>\n")
    archive = tmp_path / "archive"
    assert tailwatch("ingest", str(capture), "--archive", str(archive)).returncode == 0
    assert tailwatch("watchlist", "import", str(listed), "--archive", str(archive)).returncode == 0
    for args in (("--archive", str(archive), "--aircraft", SAMPLE_ICAO24),
                 ("--input", str(capture), "--watchlist", str(listed))):
        run = tailwatch("itinerary", *args, "--format", "md")
        assert run.returncode == 0, run.stderr
        md = run.stdout
        line = next(ln for ln in md.splitlines() if ln.startswith("- on watchlist"))
        assert "<script" not in md and "<img" not in md and "<b>" not in md, line
        assert "&lt;script&gt;alert(1)&lt;/script&gt; &lt;img src=x onerror=alert(2)&gt;" in line
        assert "evil\\|list" in line and "&lt;b&gt;id&lt;/b&gt;" in line


def test_every_csv_neutralises_formula_cells(tmp_path):
    """A callsign `=HYPERLINK(1+2)` from an SBS recording and list names that start a formula."""
    lines = ["MSG,1,1,1,ABCDEF,1,2026/01/01,12:00:00.000,2026/01/01,12:00:00.000,=HYPERLINK(1+2),,,,,,,,,,,\n"]
    for i in range(120):
        s = i * 5
        t = f"12:{s // 60:02d}:{s % 60:02d}.000"
        lines.append(f"MSG,3,1,1,ABCDEF,1,2026/01/01,{t},2026/01/01,{t},,31000,,,{55.5 + i * 0.01:.5f},37.30000,,,0,0,0,0\n")
    feed = tmp_path / "feed.sbs"
    feed.write_text("".join(lines))
    run = tailwatch("itinerary", "--input", str(feed), "--format", "csv", "--out", str(tmp_path / "out.csv"))
    assert run.returncode == 0, run.stderr
    import csv as csv_module

    points = list(csv_module.DictReader((tmp_path / "out.points.csv").open()))
    assert len(points) == 120 and {p["callsign"] for p in points} == {"'=HYPERLINK(1+2)"}
    assert all(float(p["latitude"]) > 55 for p in points)  # numbers stay numbers
    # the watchlist table as CSV
    listed = tmp_path / "hand.csv"
    listed.write_text("icao24,name,note\nabcdef,=cmd|' /C calc'!A0,@SUM(1)\n4b1805,+1+2,-3+4\n3c6dd4,plain,\"\ttab\"\n")
    archive = tmp_path / "archive"
    assert tailwatch("watchlist", "import", str(listed), "--archive", str(archive)).returncode == 0
    run = tailwatch("watchlist", "show", "--archive", str(archive), "--no-seed", "--format", "csv")
    rows = {r["icao24"]: r for r in csv_module.DictReader(run.stdout.splitlines())}
    assert rows["abcdef"]["name"] == "'=cmd|' /C calc'!A0" and rows["abcdef"]["note"] == "'@SUM(1)"
    assert rows["4b1805"]["name"] == "'+1+2" and rows["4b1805"]["note"] == "'-3+4"
    assert rows["3c6dd4"]["name"] == "plain"
    for r in rows.values():
        assert not any(v[:1] in ("=", "+", "-", "@", "\t", "\r") for v in r.values() if v), r


def big_list_csv(path: Path, entries: int) -> None:
    """A hand-made list of `entries` aircraft: registrations of several states, a third with a Mode S code."""
    import random

    rng = random.Random(1)
    lines = ["registration,icao24,name,msn,model"]
    for i in range(entries):
        prefix = ("RA-", "UR-", "EP-", "N", "HB-", "4K-")[i % 6]
        reg = f"N{rng.randint(1, 99999)}" if prefix == "N" else f"{prefix}{rng.randint(10000, 99999)}"
        icao = f"{rng.randint(0, 0xFFFFFF):06x}" if i % 3 == 0 else ""
        msn = str(rng.randint(100000, 999999)) if i % 5 == 0 else ""
        lines.append(f"{reg},{icao},entry {i},{msn},IL76")
    path.write_text("\n".join(lines) + "\n")


def child_cpu_seconds() -> float:
    import resource

    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def test_watchlist_show_of_100k_entries_takes_seconds(tmp_path):
    listed, archive = tmp_path / "big.csv", tmp_path / "archive"
    big_list_csv(listed, 100_000)
    run = tailwatch("watchlist", "import", str(listed), str(DATA / "aircraft-database-complete-2024-06.csv"),
                    "--archive", str(archive))
    assert run.returncode == 0, run.stderr
    cpu = child_cpu_seconds()
    try:
        run = tailwatch("watchlist", "show", "--archive", str(archive), timeout=60)
    except subprocess.TimeoutExpired:
        pytest.fail("watchlist show of 100,000 entries took over a minute")
    cpu = child_cpu_seconds() - cpu
    assert run.returncode == 0, run.stderr
    lines = run.stdout.splitlines()
    header = lines[0].split("\t")
    rows = [dict(zip(header, ln.split("\t"))) for ln in lines[1:]]
    assert len(rows) == 100_000 + 1  # the seed entry too
    by_entry = {r["entry"]: r for r in rows}
    first = by_entry["big.csv:2"]  # entry 0: RA- with a Mode S code on the list
    assert first["icao24"] != "unresolved" and "Mode S code" in first["reason / evidence"]
    ra = next(r for r in rows if r["registrations"].startswith("RA-") and "Mode S" not in r["reason / evidence"])
    assert "rule (numbered block RA-)" in ra["reason / evidence"]
    assert any(r["icao24"] == "unresolved" for r in rows)
    # measured as the processor time of the command (the machine running the tests may be busy)
    assert cpu < 3.0, f"watchlist show of 100,000 entries used {cpu:.1f} s of processor time"


def write_sdn_xml(path: Path, megabytes: float) -> int:
    """An sdn.xml in OFAC's published shape (individuals and entities, one aircraft in 100); returns aircraft."""
    aircraft = 0
    with open(path, "w", encoding="utf-8") as f:
        f.write('<?xml version="1.0" standalone="yes"?>\n<sdnList xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" '
                'xmlns="https://sanctionslistservice.ofac.treas.gov/api/PublicationPreview/exports/XML">\n'
                "<publshInformation><Publish_Date>01/02/2026</Publish_Date><Record_Count>0</Record_Count>"
                "</publshInformation>\n")
        uid, size = 10_000, 0
        while size < megabytes * 1_000_000:
            uid += 1
            if uid % 100 == 0:
                aircraft += 1
                n = uid % 100_000
                body = (f"<uid>{uid}</uid><lastName>RA-{n:05d}</lastName><sdnType>Aircraft</sdnType>"
                        "<programList><program>RUSSIA-EO14024</program></programList><idList>"
                        f"<id><uid>{uid}1</uid><idType>Aircraft Tail Number</idType><idNumber>RA-{n:05d}</idNumber></id>"
                        f"<id><uid>{uid}2</uid><idType>Aircraft Model</idType><idNumber>IL76-TD</idNumber></id>"
                        "</idList>")
            else:
                body = (f"<uid>{uid}</uid><firstName>Person{uid}</firstName><lastName>SURNAME{uid}</lastName>"
                        f"<sdnType>{'Entity' if uid % 3 == 0 else 'Individual'}</sdnType>"
                        "<programList><program>SDGT</program><program>IRGC</program></programList>"
                        f"<akaList><aka><uid>{uid}9</uid><type>a.k.a.</type><category>weak</category>"
                        f"<lastName>ALIAS {uid}</lastName></aka></akaList>"
                        f"<addressList><address><uid>{uid}8</uid><city>Somewhere</city><country>Nowhere</country>"
                        "</address></addressList>")
            entry = f"<sdnEntry>{body}</sdnEntry>\n"
            f.write(entry)
            size += len(entry)
        f.write("</sdnList>\n")
    return aircraft


def peak_rss_mb(*args: str) -> tuple[int, subprocess.CompletedProcess]:
    """The CLI run in a child Python that reports its own peak resident memory."""
    code = ("import resource, runpy, sys\nsys.argv = ['tailwatch', *sys.argv[1:]]\ntry:\n"
            "    runpy.run_module('tailwatch.cli', run_name='__main__')\nexcept SystemExit as exc:\n    code = exc.code\n"
            "print('peak_rss_kb', resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, file=sys.stderr)\n"
            "sys.exit(code)\n")
    run = subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True, timeout=600)
    line = next(ln for ln in run.stderr.splitlines() if ln.startswith("peak_rss_kb"))
    return int(line.split()[1]) // 1024, run


def test_ofac_xml_imports_as_a_stream(tmp_path):
    big = tmp_path / "sdn.xml"
    aircraft = write_sdn_xml(big, 60)
    size_mb = big.stat().st_size / 1e6
    base, run = peak_rss_mb("watchlist", "import", str(DATA / "sdn.xml"), "--archive", str(tmp_path / "small"))
    assert run.returncode == 0, run.stderr
    peak, run = peak_rss_mb("watchlist", "import", str(big), "--archive", str(tmp_path / "big"))
    assert run.returncode == 0, run.stderr
    assert f"\t{aircraft}\t{aircraft}" in run.stdout or f"{aircraft:,}" in run.stdout, run.stdout
    assert peak - base < 0.25 * size_mb, f"importing {size_mb:.0f} MB of XML grew memory by {peak - base} MB"


def test_xml_with_external_or_parameter_entities_is_refused(tmp_path):
    archive = tmp_path / "archive"
    for name, doctype in (("xxe.xml", '<!DOCTYPE sdnList [ <!ENTITY xxe SYSTEM "file:///etc/passwd"> ]>'),
                          ("param.xml", '<!DOCTYPE sdnList [ <!ENTITY % p SYSTEM "http://127.0.0.1:9/x.dtd"> %p; ]>')):
        bad = tmp_path / name
        bad.write_text(f'<?xml version="1.0"?>\n{doctype}\n<sdnList><sdnEntry><uid>1</uid><lastName>&amp;</lastName>'
                       "<sdnType>Aircraft</sdnType></sdnEntry></sdnList>\n")
        run = tailwatch("watchlist", "import", str(bad), "--archive", str(archive))
        one_line_exit_2(run, name, "XML refused")
        assert "root:" not in run.stdout + run.stderr
    assert identity_state(archive) == {}
