"""Token counts from Python's tiktoken, the reference implementation.

    python3 tiktoken_reference.py <ASSETS_DIR> < texts.jsonl

ASSETS_DIR holds `cl100k_base.tiktoken` and `o200k_base.tiktoken` (the files
vendored by tiktoken-rs). tiktoken reads them instead of downloading, and
checks each against the SHA-256 that OpenAI publishes (`expected_hash` in
tiktoken_ext.openai_public), so a file that is not OpenAI's fails here.

Reads one JSON string per line; writes `[cl100k, o200k]` counts per line,
with `encode_ordinary` (special-token text counts as ordinary text).
"""

import json
import os
import sys
import tempfile

import tiktoken
import tiktoken.load
import tiktoken_ext.openai_public as openai_public

assets = sys.argv[1]
os.environ["TIKTOKEN_CACHE_DIR"] = tempfile.mkdtemp()  # no cache: the hash is checked on these bytes


def read_local(url):
    with open(os.path.join(assets, url.rsplit("/", 1)[1]), "rb") as f:
        return f.read()


tiktoken.load.read_file = read_local  # read_file_cached still verifies expected_hash
cl100k = tiktoken.Encoding(**openai_public.cl100k_base())
o200k = tiktoken.Encoding(**openai_public.o200k_base())

for line in sys.stdin:
    text = json.loads(line)
    sys.stdout.write(json.dumps([len(cl100k.encode_ordinary(text)), len(o200k.encode_ordinary(text))]) + "\n")
