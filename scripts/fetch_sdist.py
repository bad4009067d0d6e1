#!/usr/bin/env python3
"""Download a package's sdist from PyPI by name and version, check its
SHA-256 against the index, and unpack it: `fetch_sdist.py NAME VERSION DEST`.

Nothing is built (pip download would build the package's metadata), so it
also serves packages with a compiled build (tach). Uses the PyPI simple
index (PEP 691 JSON), or PIP_INDEX_URL when set.
"""
import hashlib
import io
import json
import os
import sys
import tarfile
import urllib.request


def main() -> None:
    name, version, dest = sys.argv[1:4]
    index = os.environ.get("PIP_INDEX_URL", "https://pypi.org/simple").rstrip("/")
    request = urllib.request.Request(
        f"{index}/{name}/", headers={"Accept": "application/vnd.pypi.simple.v1+json"}
    )
    with urllib.request.urlopen(request, timeout=120) as response:
        files = json.load(response)["files"]
    wanted = {f"{stem}-{version}.tar.gz" for stem in (name, name.replace("-", "_"))}
    entry = next((f for f in files if f["filename"] in wanted), None)
    if entry is None:
        sys.exit(f"fetch_sdist: no sdist {sorted(wanted)} on {index}/{name}/")
    with urllib.request.urlopen(entry["url"], timeout=300) as response:
        data = response.read()
    digest = hashlib.sha256(data).hexdigest()
    if digest != entry["hashes"].get("sha256", digest):
        sys.exit(f"fetch_sdist: {entry['filename']}: SHA-256 {digest} is not the index's")
    os.makedirs(dest, exist_ok=True)
    with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as archive:
        try:
            archive.extractall(dest, filter="data")
        except TypeError:  # Python before 3.11.4: no extraction filters
            archive.extractall(dest)
    print(f"fetch_sdist: {entry['filename']} unpacked in {dest}")


if __name__ == "__main__":
    main()
