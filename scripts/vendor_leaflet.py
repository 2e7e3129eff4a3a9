#!/usr/bin/env python3
"""Rebuild the vendored Leaflet files of the investigator's web app from the npm package.

`python3 scripts/vendor_leaflet.py [VERSION]` runs `npm pack leaflet@VERSION` in a temporary
folder, extracts `dist/leaflet.js`, `dist/leaflet.css`, `dist/images/*` and `LICENSE` into
`src/tailwatch/web/static/vendor/leaflet/`, and writes `SOURCE.md` there (package, version,
tarball SHA-512 integrity, licence). The app serves these files itself: the page loads
nothing from the network.
"""

from __future__ import annotations

import base64
import hashlib
import shutil
import subprocess
import sys
import tarfile
import tempfile
from datetime import date
from pathlib import Path

VERSION = "1.9.4"
ROOT = Path(__file__).resolve().parents[1]
DEST = ROOT / "src" / "tailwatch" / "web" / "static" / "vendor" / "leaflet"
WANTED = ("package/dist/leaflet.js", "package/dist/leaflet.css", "package/LICENSE")


def main(argv: list[str]) -> int:
    version = argv[1] if len(argv) > 1 else VERSION
    if not shutil.which("npm"):
        print("error: npm is not installed (apt-get install npm)", file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory() as tmp:
        subprocess.run(["npm", "pack", f"leaflet@{version}", "--silent"], cwd=tmp, check=True,
                       stdout=subprocess.DEVNULL)
        (tarball,) = Path(tmp).glob("leaflet-*.tgz")
        integrity = "sha512-" + base64.b64encode(hashlib.sha512(tarball.read_bytes()).digest()).decode()
        if DEST.exists():
            shutil.rmtree(DEST)
        (DEST / "images").mkdir(parents=True)
        with tarfile.open(tarball) as tar:
            for member in tar.getmembers():
                name = member.name
                if not member.isfile():
                    continue
                if name in WANTED or (name.startswith("package/dist/images/") and name.endswith(".png")):
                    target = DEST / ("images/" + Path(name).name if "/images/" in name else Path(name).name)
                    target.write_bytes(tar.extractfile(member).read())
    (DEST / "SOURCE.md").write_text(
        f"# Leaflet {version}\n\n"
        f"- source: npm package `leaflet@{version}` (`npm pack leaflet@{version}`), files from `dist/` and `LICENSE`\n"
        f"- integrity of the tarball: `{integrity}`\n"
        "- licence: BSD-2-Clause (see `LICENSE` beside this file)\n"
        f"- as_of: {date.today().isoformat()}\n"
        "- rebuilt by `python3 scripts/vendor_leaflet.py VERSION`; served by `tailwatch serve` from the package, "
        "never loaded from the network\n", encoding="utf-8")
    for path in sorted(DEST.rglob("*")):
        if path.is_file():
            print(f"{path.relative_to(ROOT)}  {path.stat().st_size:,} bytes")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
