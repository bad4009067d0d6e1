#!/usr/bin/env python3
"""Download a package's sdist from the package index by name and version,
check its SHA-256 against the index, and unpack it:
`fetch_sdist.py NAME VERSION DEST`.

Nothing is built (pip download would build the package's metadata), so it
also serves packages with a compiled build (tach). The index is pip's own:
PIP_INDEX_URL, else pip's configured `index-url`, else PyPI's simple index;
its JSON form (PEP 691) or its HTML form (PEP 503) will do.
"""
import hashlib
import html
import io
import json
import os
import re
import subprocess
import sys
import tarfile
import urllib.parse
import urllib.request


def index_url() -> str:
    url = os.environ.get("PIP_INDEX_URL")
    if not url:
        try:
            url = subprocess.run(
                [sys.executable, "-m", "pip", "config", "get", "global.index-url"],
                capture_output=True, text=True, check=False,
            ).stdout.strip()
        except OSError:
            url = ""
    return (url or "https://pypi.org/simple").rstrip("/")


def files_of(index: str, name: str) -> list[dict]:
    """(filename, url, sha256) of every file the index lists for `name`."""
    page = f"{index}/{name}/"
    request = urllib.request.Request(
        page, headers={"Accept": "application/vnd.pypi.simple.v1+json, text/html;q=0.1"}
    )
    with urllib.request.urlopen(request, timeout=120) as response:
        kind = response.headers.get("Content-Type", "")
        body = response.read().decode("utf-8")
        page = response.geturl()
    if "json" in kind:
        return [
            {"filename": f["filename"], "url": urllib.parse.urljoin(page, f["url"]),
             "sha256": f.get("hashes", {}).get("sha256")}
            for f in json.loads(body)["files"]
        ]
    files = []
    for href, text in re.findall(r'<a[^>]*href="([^"]+)"[^>]*>([^<]+)</a>', body):
        href = html.unescape(href)
        url, _, fragment = href.partition("#")
        sha = fragment[len("sha256="):] if fragment.startswith("sha256=") else None
        files.append({"filename": text.strip(), "url": urllib.parse.urljoin(page, url), "sha256": sha})
    return files


def main() -> None:
    name, version, dest = sys.argv[1:4]
    index = index_url()
    wanted = {f"{stem}-{version}.tar.gz" for stem in (name, name.replace("-", "_"))}
    entry = next((f for f in files_of(index, name) if f["filename"] in wanted), None)
    if entry is None:
        sys.exit(f"fetch_sdist: no sdist {sorted(wanted)} on {index}/{name}/")
    with urllib.request.urlopen(entry["url"], timeout=300) as response:
        data = response.read()
    digest = hashlib.sha256(data).hexdigest()
    if entry["sha256"] and digest != entry["sha256"]:
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
