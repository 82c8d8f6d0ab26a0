"""The standard-library workloads do the work they claim, on every interpreter.

Runs on every interpreter (nox parametrises it), so standard library + pyperf only.
No timing here: whether hashlib and zlib scale under threads is for the results.
"""

from __future__ import annotations

import hashlib
import json
import pickle
import threading
import zlib

from workloads import stdlib
from workloads._registry import load_all

NAMES = ("sha256_large", "zlib_compress", "json_roundtrip", "re_findall")

# The inputs come from random.Random(0): the same bytes on every interpreter, so
# every interpreter measures the same work.  A changed generator must change this.
DATA_SHA256 = "bb3f587cbeaeb1d7e6556ef962480abec73380f81dd01e6577ba1b5c1de8940f"


def test_the_four_are_declared_as_stdlib_workloads_not_cpu_ones():
    registry = load_all()
    for name in NAMES:
        wl = registry[name]
        assert wl.module == "workloads.stdlib"
        assert wl.modes == ("serial", "threads")
        assert "stdlib" in wl.tags and "cpu" not in wl.tags
        assert wl.size > 0 and wl.doc
        assert pickle.loads(pickle.dumps(wl.func)) is wl.func  # processes pickle it by reference
    assert "releases-gil" in registry["sha256_large"].tags and "releases-gil" in registry["zlib_compress"].tags
    assert "holds-gil" in registry["json_roundtrip"].tags and "holds-gil" in registry["re_findall"].tags


def test_inputs_are_deterministic_and_sized_as_documented():
    assert hashlib.sha256(stdlib.DATA).hexdigest() == DATA_SHA256
    assert len(stdlib.DATA) == 64 * 1024
    assert len(stdlib.TEXT) == 8 * 1024
    assert len(stdlib.BLOCK) == 1024 * 1024 > 2047  # above hashlib's release-the-GIL threshold


def test_sha256_large_chains_every_digest():
    inner = hashlib.sha256(stdlib.BLOCK).digest()
    assert stdlib.sha256_large(2) == hashlib.sha256(inner + inner).hexdigest()
    assert stdlib.sha256_large(0) == hashlib.sha256().hexdigest()
    assert stdlib.sha256_large(1) != stdlib.sha256_large(2)


def test_zlib_compress_compresses_losslessly_but_not_trivially():
    packed = zlib.compress(stdlib.DATA)
    assert zlib.decompress(packed) == stdlib.DATA
    assert 2 < len(stdlib.DATA) / len(packed) < 5
    assert stdlib.zlib_compress(3) == 3 * len(packed)


def test_json_roundtrip_returns_an_equal_document():
    assert json.loads(json.dumps(stdlib._DOCUMENT)) == stdlib._DOCUMENT
    assert stdlib.json_roundtrip(3) == 3 * len(stdlib._DOCUMENT["readings"])


def test_re_findall_finds_word_number_pairs():
    pairs = stdlib._WORD_NUMBER.findall(stdlib.TEXT)
    assert len(pairs) > 50
    assert all(word.isalpha() and number.isdigit() for word, number in pairs)
    assert stdlib.re_findall(2) == 2 * len(pairs)


def test_threads_share_no_state():
    expected = {name: getattr(stdlib, name)(2) for name in NAMES}
    results = []
    lock = threading.Lock()

    def work(name):
        value = getattr(stdlib, name)(2)
        with lock:
            results.append((name, value))

    threads = [threading.Thread(target=work, args=(name,)) for name in NAMES for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(results) == sorted((name, expected[name]) for name in NAMES for _ in range(2))
