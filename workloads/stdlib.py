"""Standard-library C code in threads: which calls scale without writing any C.

Calling into C does not by itself let threads run in parallel: what matters is
whether that C code lets go of the GIL while it works.  ``hashlib`` hashing a
buffer of 2 KiB or more and ``zlib.compress`` both drop the GIL around the
hashing or deflating itself, so on a GIL build threads spend most of their time
outside it and can overlap.  The ``json`` encoder and decoder and the ``re``
engine are C too, but they build and read Python objects as they go and keep
the GIL for the whole call, so threads take turns as with pure Python.

Inputs are built once at import from ``random.Random(0)`` (the same bytes on
every interpreter) and never mutated; everything a call changes is its own.
"""

from __future__ import annotations

import hashlib
import json
import random
import re
import zlib
from typing import List

from workloads._registry import THREAD_ONLY_MODES, workload

# Threads tell the story; processes would scale on every one of them and say nothing new.
MODES = THREAD_ONLY_MODES


def _text(rng: random.Random, nbytes: int) -> str:
    """Word-like text: words from a 256-word vocabulary, with a number after about one in eight.

    Driven by ``getrandbits`` bytes rather than a call per word, so building it stays cheap
    at import; it is a fixed function of ``rng``'s state on every interpreter.
    """
    letters = "abcdefghijklmnopqrstuvwxyz"
    words = ["".join(rng.choice(letters) for _ in range(2 + rng.getrandbits(3))) for _ in range(256)]
    out: List[str] = []
    size = 0
    while size < nbytes:
        raw = rng.getrandbits(8 * 4096).to_bytes(4096, "little")
        for i in range(0, len(raw), 2):
            token = words[raw[i]]
            if raw[i + 1] < 32:
                token += " %d" % (raw[i + 1] * 3121 + raw[i])
            out.append(token)
            size += len(token) + 1
    return " ".join(out)[:nbytes]


_RNG = random.Random(0)
# Compressible (about 3:1 at the default level) but not a repeat deflate can copy.
DATA = _text(_RNG, 64 * 1024).encode("ascii")
TEXT = _text(_RNG, 8 * 1024)
BLOCK = (DATA * 16)[: 1024 * 1024]  # content is irrelevant to SHA-256's speed; its size is not

_WORD_NUMBER = re.compile(r"\b([a-z]{3,}) (\d+)\b")

_DOCUMENT = {
    "id": 12345,
    "name": "sensor-array",
    "active": True,
    "ratio": 0.625,
    "tags": ["alpha", "beta", "gamma", "delta"],
    "owner": {"name": "ops", "email": "ops@example.invalid", "groups": [1, 2, 3]},
    "readings": [{"t": i, "value": i * 1.5, "ok": i % 3 != 0, "label": "r%d" % i} for i in range(12)],
    "notes": None,
}


@workload(size=320, modes=MODES, tags=("stdlib", "releases-gil"))
def sha256_large(n: int) -> str:
    """SHA-256 of a 1 MiB block, ``n`` times: hashlib hashes with the GIL released.

    Each digest is fed into a per-call hash, so the result depends on every unit.
    """
    chain = hashlib.sha256()
    for _ in range(n):
        chain.update(hashlib.sha256(BLOCK).digest())
    return chain.hexdigest()


@workload(size=120, modes=MODES, tags=("stdlib", "releases-gil"))
def zlib_compress(n: int) -> int:
    """``zlib.compress`` of 64 KiB of word-like text, ``n`` times: deflate runs without the GIL."""
    total = 0
    for _ in range(n):
        total += len(zlib.compress(DATA))
    return total


@workload(size=8_000, modes=MODES, tags=("stdlib", "holds-gil"))
def json_roundtrip(n: int) -> int:
    """``json.dumps`` then ``json.loads`` of a small nested document, ``n`` times: both hold the GIL."""
    total = 0
    for _ in range(n):
        total += len(json.loads(json.dumps(_DOCUMENT))["readings"])
    return total


@workload(size=1_200, modes=MODES, tags=("stdlib", "holds-gil"))
def re_findall(n: int) -> int:
    """``re.findall`` of word-number pairs over 8 KiB of text, ``n`` times: the regex engine holds the GIL."""
    total = 0
    for _ in range(n):
        total += len(_WORD_NUMBER.findall(TEXT))
    return total
