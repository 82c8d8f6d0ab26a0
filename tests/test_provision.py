"""``harness provision``: verified sources, nothing installed on failure, markers, idempotence.

Real code paths throughout: small CPython-shaped tarballs made here whose
``configure`` fails (or "installs" the wrong interpreter), a real HTTP server on
loopback standing in for an apt mirror, closed loopback ports for unreachable
sources, and the real matched pairs where they are provisioned.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import http.server
import json
import os
import socket
import subprocess
import sys
import tarfile
import threading
from pathlib import Path

import pytest
from helpers import PAIRS, ROOT, assert_one_line_error, provisioned_pair, run_module, wait_for

from harness import interpreters, provision

FAILING_CONFIGURE = 'echo "configure $*"; echo "fake configure: failing on purpose" >&2; exit 1\n'


def make_tarball(folder: Path, version: str, configure: str) -> tuple[Path, str]:
    """A CPython-shaped source tarball whose ``configure`` is the given shell script."""
    src = folder / "src" / ("Python-%s" % version)
    src.mkdir(parents=True)
    (src / "configure").write_text("#!/bin/sh\n" + configure)
    (src / "configure").chmod(0o755)
    tarball = folder / ("Python-%s.tar.xz" % version)
    with tarfile.open(tarball, "w:xz") as tar:
        tar.add(src, arcname=src.name)
    return tarball, hashlib.sha256(tarball.read_bytes()).hexdigest()


def closed_port() -> int:
    """A loopback port nobody listens on (bound once, then released)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def provision_env(root: Path, tmp_path: Path, mirror: str | None = None) -> dict:
    """Provision into ``root``; python.org is a closed port; apt lists ``mirror`` (or no mirror)."""
    sources = tmp_path / "sources.list"
    sources.write_text("deb %s bookworm main\n" % mirror if mirror else "# no mirrors\n")
    return {
        "GILBENCH_PYTHONS": str(root),
        "GILBENCH_PYTHON_ORG_URL": "http://127.0.0.1:%d/ftp/python" % closed_port(),
        "GILBENCH_APT_SOURCES": str(sources),
    }


def installed(root: Path) -> list[str]:
    """Interpreter prefixes and markers under ``root`` (bookkeeping folders start with a dot)."""
    prefixes = [p.name for p in root.glob("cpython-*")] if root.exists() else []
    markers = [str(p) for p in root.rglob(provision.BUILD_MARKER)] if root.exists() else []
    return prefixes + markers


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args) -> None:
        pass


@contextlib.contextmanager
def serving(folder: Path):
    """A real HTTP server on loopback, serving ``folder``, for the duration of the block."""
    handler = functools.partial(_QuietHandler, directory=str(folder))
    with http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler) as server:
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        try:
            yield "http://127.0.0.1:%d" % server.server_address[1]
        finally:
            server.shutdown()


# -- bad input ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "args,needles",
    [
        (["jython", "3.13.5"], ["unknown implementation 'jython'", "cpython"]),
        (["cpython", "3.x"], ["version '3.x'", "X.Y.Z"]),
        (["cpython", "3.15", "--pair"], ["Python 3.15 has no pinned release", "3.14.7", "--sha256"]),
        (["cpython", "3.14", "--sha256", "0" * 64], ["--sha256 with 3.14", "X.Y.Z"]),
        (["cpython", "3.14t", "--pair"], ["--pair", "give 3.14"]),
        (["cpython", "3.13.5t", "--pair"], ["--pair", "3.13.5"]),
        (["cpython", "3.12.4t"], ["3.13 or newer"]),
        (["cpython", "3.13.4"], ["3.13.4 has no pinned sha256", "--sha256"]),
        (["cpython", "3.13.5", "--sha256", "abc"], ["--sha256 'abc'"]),
        (["cpython", "3.13.5", "--tarball", "/no/such/Python.tar.xz"], ["/no/such/Python.tar.xz"]),
        (["cpython", "3.14t", "--uv", "--tarball", "x"], ["--tarball does not go with --uv"]),
        (["pypy"], ["never builds PyPy", "pypy3-dev", "--uv"]),
    ],
)
def test_bad_input_is_one_line_naming_the_argument(args, needles, tmp_path):
    proc = run_module("harness", "provision", *args, env=provision_env(tmp_path / "pythons", tmp_path))
    assert_one_line_error(proc, *needles)
    assert installed(tmp_path / "pythons") == []


def test_uv_missing_is_said_plainly(tmp_path):
    env = provision_env(tmp_path / "pythons", tmp_path)
    env["PATH"] = str(tmp_path)  # no uv there
    proc = run_module("harness", "provision", "cpython", "3.14", "--pair", "--uv", env=env)
    assert_one_line_error(proc, "uv is not on PATH", "drop --uv")


def test_a_bare_python_is_told_to_use_tox(tmp_path):
    """Without filelock (``-S``: no site-packages), one line saying how to run it instead."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    env.update(provision_env(tmp_path / "pythons", tmp_path))
    proc = subprocess.run(
        [sys.executable, "-S", "-m", "harness", "provision", "cpython", "3.13.5"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert_one_line_error(proc, "filelock", "tox -e provision --")
    assert installed(tmp_path / "pythons") == []


# -- the source is verified before anything is unpacked ---------------------------------------------


@pytest.mark.parametrize("pinned", [False, True], ids=["--sha256", "pinned-table"])
def test_checksum_mismatch_installs_nothing(pinned, tmp_path):
    version = "3.13.5" if pinned else "3.13.99"
    tarball, actual = make_tarball(tmp_path, version, FAILING_CONFIGURE)
    expected = provision.PINNED_SHA256["3.13.5"] if pinned else hashlib.sha256(b"other bytes").hexdigest()
    args = ["cpython", version, "--pair", "--tarball", str(tarball)] + ([] if pinned else ["--sha256", expected])
    root = tmp_path / "pythons"
    proc = run_module("harness", "provision", *args, env=provision_env(root, tmp_path))
    assert_one_line_error(proc, str(tarball), actual, expected, "nothing was installed")
    assert "configure" not in proc.stdout  # never got as far as unpacking
    assert installed(root) == []


def test_no_reachable_source_names_every_source_tried(tmp_path):
    root = tmp_path / "pythons"
    mirror = "http://127.0.0.1:%d/debian" % closed_port()
    env = provision_env(root, tmp_path, mirror=mirror)
    proc = run_module("harness", "provision", "cpython", "3.14.0", "--pair", env=env)
    python_org = env["GILBENCH_PYTHON_ORG_URL"] + "/3.14.0/Python-3.14.0.tar.xz"
    pool = mirror + "/pool/main/p/python3.14/python3.14_3.14.0.orig.tar.xz"
    assert_one_line_error(proc, "no source for Python-3.14.0.tar.xz", "--tarball: not given", python_org, pool)
    assert len(proc.stderr.strip().splitlines()) == 1
    assert installed(root) == []


def test_no_apt_mirror_configured_is_named_too(tmp_path):
    proc = run_module("harness", "provision", "cpython", "3.14.0", env=provision_env(tmp_path / "p", tmp_path))
    assert_one_line_error(proc, "apt mirror: none in", "python.org")


def test_apt_mirror_pool_download_is_verified_then_cached(tmp_path):
    """The orig tarball comes from the mirror's pool, is checked, kept in .downloads; bad bytes are not."""
    version = "3.13.99"
    tarball, sha = make_tarball(tmp_path, version, FAILING_CONFIGURE)
    pool = tmp_path / "www" / "debian" / "pool" / "main" / "p" / "python3.13"
    pool.mkdir(parents=True)
    (pool / ("python3.13_%s.orig.tar.xz" % version)).write_bytes(tarball.read_bytes())
    root = tmp_path / "pythons"
    with serving(tmp_path / "www") as server:
        env = provision_env(root, tmp_path, mirror=server + "/debian")
        bad = run_module("harness", "provision", "cpython", version, "--sha256", "0" * 64, env=env)
        assert_one_line_error(bad, "does not match the expected " + "0" * 64)
        assert list((root / ".downloads").iterdir()) == []  # the wrong bytes were thrown away
        good = run_module("harness", "provision", "cpython", version, "--sha256", sha, env=env)
    assert_one_line_error(good, "configure failed")  # got past verify and extract
    cached = root / ".downloads" / ("Python-%s.tar.xz" % version)
    assert hashlib.sha256(cached.read_bytes()).hexdigest() == sha
    assert (root / ".downloads" / (cached.name + ".source")).read_text().strip() == "apt-mirror"
    assert installed(root) == []
    # the verified tarball is reused: no server now, and it still gets to configure
    again = run_module("harness", "provision", "cpython", version, "--sha256", sha, env=env)
    assert "verified cached" in again.stdout
    assert_one_line_error(again, "configure failed")


# -- X.Y: the newest pinned release that a source serves ------------------------------------------


def test_a_minor_version_means_its_pinned_releases_newest_first():
    request = provision.parse_request("cpython", "3.14", pair=True)
    versions = [r.version for r in request.releases]
    assert (
        versions
        == sorted((v for v in provision.PINNED_SHA256 if v.startswith("3.14.")), key=lambda v: int(v[5:]))[::-1]
    )
    assert versions[0] == "3.14.8" and versions[-1] == "3.14.0"
    assert all(r.sha256 == provision.PINNED_SHA256[r.version] and r.pair for r in request.releases)
    assert [r.version for r in provision.parse_request("cpython", "3.13", pair=True).releases] == ["3.13.5"]
    exact = provision.parse_request("cpython", "3.14.7", pair=True)
    assert exact.releases == (exact,) and exact.sha256 == provision.PINNED_SHA256["3.14.7"]
    assert provision.parse_request("cpython", "3.14t").free_threaded == (True,)


def pool(www: Path, versions_and_bytes: dict) -> None:
    """An apt mirror's pool under ``www/debian`` serving these orig tarballs."""
    for version, data in versions_and_bytes.items():
        minor = version.rsplit(".", 1)[0]
        folder = www / "debian" / "pool" / "main" / "p" / ("python" + minor)
        folder.mkdir(parents=True, exist_ok=True)
        (folder / ("python%s_%s.orig.tar.xz" % (minor, version))).write_bytes(data)


@pytest.fixture
def pinned(tmp_path, monkeypatch):
    """Three pinned releases of a CPython 3.99 that does not exist: 3.99.1, 3.99.2, 3.99.3,
    each a CPython-shaped tarball whose configure fails (so a build shows which one was chosen)."""
    made = {}
    for version in ("3.99.1", "3.99.2", "3.99.3"):
        tarball, sha = make_tarball(tmp_path / version, version, FAILING_CONFIGURE)
        monkeypatch.setitem(provision.PINNED_SHA256, version, sha)
        made[version] = tarball.read_bytes()
    return made


def provision_here(monkeypatch, env: dict, *args: str, **kwargs) -> tuple[list[str], str]:
    """``harness provision`` in this process (the pins are patched here): its lines, and its error or ""."""
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    lines: list[str] = []
    try:
        provision.provision(provision.parse_request("cpython", *args, **kwargs), lines.append)
    except provision.ProvisionError as exc:
        return lines, str(exc)
    return lines, ""


def test_the_newest_release_a_source_serves_verified_is_built(pinned, tmp_path, monkeypatch):
    """3.99.3 is pinned but served nowhere, 3.99.2's bytes are wrong: 3.99.1 is built.
    python.org does not answer: it is asked once, not once per release."""
    pool(tmp_path / "www", {"3.99.2": b"not the pinned bytes", "3.99.1": pinned["3.99.1"]})
    root = tmp_path / "pythons"
    with serving(tmp_path / "www") as server:
        env = provision_env(root, tmp_path, mirror=server + "/debian")
        lines, error = provision_here(monkeypatch, env, "3.99", pair=True)
    downloads = [line.split("download ", 1)[1] for line in lines if ": download " in line]
    assert downloads == [
        env["GILBENCH_PYTHON_ORG_URL"] + "/3.99.3/Python-3.99.3.tar.xz",
        server + "/debian/pool/main/p/python3.99/python3.99_3.99.3.orig.tar.xz",
        server + "/debian/pool/main/p/python3.99/python3.99_3.99.2.orig.tar.xz",
        server + "/debian/pool/main/p/python3.99/python3.99_3.99.1.orig.tar.xz",
    ]
    assert "cpython-3.99.1: configure failed" in error  # got past verify and extract, on 3.99.1
    assert sorted(p.name for p in (root / ".downloads").iterdir()) == [
        "Python-3.99.1.tar.xz",
        "Python-3.99.1.tar.xz.source",
    ]
    assert installed(root) == []


def test_a_release_in_the_cache_is_taken_before_an_older_one_is_downloaded(pinned, tmp_path, monkeypatch):
    root = tmp_path / "pythons"
    (root / ".downloads").mkdir(parents=True)
    (root / ".downloads" / "Python-3.99.2.tar.xz").write_bytes(pinned["3.99.2"])
    pool(tmp_path / "www", {"3.99.1": pinned["3.99.1"]})
    with serving(tmp_path / "www") as server:
        env = provision_env(root, tmp_path, mirror=server + "/debian")
        lines, error = provision_here(monkeypatch, env, "3.99t")
    assert any("Python-3.99.2.tar.xz: verified cached" in line for line in lines)
    assert not any("download" in line and "3.99.1" in line for line in lines)
    assert "cpython-3.99.2t: configure failed" in error


def test_a_named_tarball_is_the_pinned_release_it_hashes_to(pinned, tmp_path, monkeypatch):
    """With X.Y, --tarball is identified by its sha256 among X.Y's pins; nothing else is asked."""
    tarball = tmp_path / "mine.tar.xz"
    tarball.write_bytes(pinned["3.99.2"])
    env = provision_env(tmp_path / "pythons", tmp_path)
    lines, error = provision_here(monkeypatch, env, "3.99", pair=True, tarball=str(tarball))
    assert not any("download" in line for line in lines)
    assert "cpython-3.99.2: configure failed" in error
    tarball.write_bytes(b"something else")
    _, error = provision_here(monkeypatch, env, "3.99", pair=True, tarball=str(tarball))
    assert "matches no pinned release of Python 3.99 (3.99.3, 3.99.2, 3.99.1)" in error


def test_a_minor_version_is_met_by_the_newest_pair_already_built(pinned, tmp_path, monkeypatch):
    """No source is asked when a pinned release of X.Y is built (a newer pin is not fetched:
    asking for X.Y.Z builds that one)."""
    root = tmp_path / "pythons"
    for version in ("3.99.1", "3.99.2"):
        for threaded in (False, True):
            prefix = root / ("cpython-%s%s" % (version, "t" if threaded else ""))
            prefix.mkdir(parents=True)
            marker = {
                "version": version,
                "free_threaded": threaded,
                "optimized": {"pgo": False, "lto": False},
                "source_sha256": provision.PINNED_SHA256[version],
                "pair_id": "cpython-%s-0000000000" % version,
            }
            (prefix / provision.BUILD_MARKER).write_text(json.dumps(marker))
    lines, error = provision_here(monkeypatch, provision_env(root, tmp_path), "3.99", pair=True)
    assert error == ""
    assert [line.split("] ", 1)[1] for line in lines] == [
        "cpython-3.99.2: already provisioned: %s" % (root / "cpython-3.99.2"),
        "cpython-3.99.2t: already provisioned: %s" % (root / "cpython-3.99.2t"),
    ]


def test_no_release_served_is_one_line_naming_every_source_and_release_tried(tmp_path):
    """The real pins of 3.14; python.org does not answer, the mirror has none of them."""
    (tmp_path / "www" / "debian").mkdir(parents=True)
    root = tmp_path / "pythons"
    with serving(tmp_path / "www") as server:
        env = provision_env(root, tmp_path, mirror=server + "/debian")
        proc = run_module("harness", "provision", "cpython", "3.14", "--pair", env=env)
    versions = ", ".join(r.version for r in provision.parse_request("cpython", "3.14").releases)
    assert_one_line_error(
        proc,
        "no source for Python 3.14: --tarball: not given",
        "python.org %s: " % env["GILBENCH_PYTHON_ORG_URL"],
        "not asked: no answer above [%s]" % versions.split(", ", 1)[1],
        "apt-mirror %s/debian/pool/main/p/python3.14: HTTP 404 File not found [%s]" % (server, versions),
        "nothing was installed",
    )
    assert len(proc.stderr.strip().splitlines()) == 1
    assert proc.stdout.count("download %s" % env["GILBENCH_PYTHON_ORG_URL"]) == 1
    assert installed(root) == []


def test_a_minor_tarball_matching_no_pin_installs_nothing(tmp_path):
    tarball, actual = make_tarball(tmp_path, "3.14.99", FAILING_CONFIGURE)
    root = tmp_path / "pythons"
    proc = run_module(
        "harness",
        "provision",
        "cpython",
        "3.14",
        "--pair",
        "--tarball",
        str(tarball),
        env=provision_env(root, tmp_path),
    )
    assert_one_line_error(
        proc, str(tarball), actual, "matches no pinned release of Python 3.14 (3.14.8,", "nothing was installed"
    )
    assert installed(root) == []


def test_the_automatic_step_builds_the_pair_it_is_given_when_its_free_threaded_half_is_missing(
    pinned, tmp_path, monkeypatch
):
    """bench-all's step, given X.Y: no free-threaded 3.99 is found, so it builds the newest
    pinned 3.99 a source serves (whose configure fails here, naming the release; where uv is
    on PATH it is tried first, and cannot install a 3.99)."""
    pool(tmp_path / "www", {"3.99.2": pinned["3.99.2"]})
    lines: list[str] = []
    with serving(tmp_path / "www") as server:
        for key, value in provision_env(tmp_path / "pythons", tmp_path, mirror=server + "/debian").items():
            monkeypatch.setenv(key, value)
        with pytest.raises(provision.ProvisionError, match=r"cpython-3\.99\.2: configure failed"):
            provision.ensure_free_threaded(lines.append, "3.99")
    assert any("no free-threaded CPython 3.99 found: building the matched CPython 3.99 pair" in x for x in lines)


def test_bench_all_checks_the_pair_it_would_provision(gilbench_home):
    proc = run_module("harness", "bench-all", "--provision-pair", "3.12", env={"GILBENCH_HOME": str(gilbench_home)})
    assert_one_line_error(proc, "--provision-pair 3.12", "3.13 or newer")


# -- a prefix without its marker is never used --------------------------------------------------


def half_built(root: Path, name: str, exe: str = "python3.13") -> Path:
    """What a build killed during ``make install`` leaves: a working bin/python, no marker."""
    bin_dir = root / name / "bin"
    bin_dir.mkdir(parents=True)
    (bin_dir / exe).symlink_to(sys.executable)
    return root / name


def test_interrupted_build_is_ignored_then_removed(tmp_path, monkeypatch):
    root = tmp_path / "pythons"
    prefix = half_built(root, "cpython-3.13.99")
    monkeypatch.setenv("GILBENCH_PYTHONS", str(root))
    assert [exe for source, exe in interpreters.candidates() if source == "provisioned"] == []

    tarball, sha = make_tarball(tmp_path, "3.13.99", FAILING_CONFIGURE)
    args = ["cpython", "3.13.99", "--tarball", str(tarball), "--sha256", sha]
    proc = run_module("harness", "provision", *args, env=provision_env(root, tmp_path))
    assert "removing %s: incomplete" % prefix in proc.stdout
    log = root / ".logs" / "cpython-3.13.99.log"
    assert_one_line_error(proc, "cpython-3.13.99: configure failed", "failing on purpose", str(log))
    assert "--prefix=%s" % prefix in log.read_text()  # configured with the final prefix
    assert installed(root) == []
    assert list((root / ".build").iterdir()) == []  # scratch removed


def test_an_install_that_fails_its_self_check_gets_no_marker(tmp_path):
    """configure, make and make install all succeed, but bin/python is not the Python asked for."""
    script = (
        'for a; do case "$a" in --prefix=*) prefix="${a#--prefix=}";; esac; done\n'
        "cat > Makefile <<EOF\n"
        "all:\n\t@echo fake make\n"
        "install:\n\tmkdir -p $prefix/bin\n\tln -s %s $prefix/bin/python3.13t\n"
        "EOF\n" % sys.executable
    )
    tarball, sha = make_tarball(tmp_path, "3.13.99", script)
    root = tmp_path / "pythons"
    args = ["cpython", "3.13.99t", "--tarball", str(tarball), "--sha256", sha]
    proc = run_module("harness", "provision", *args, env=provision_env(root, tmp_path))
    assert "install" in proc.stdout
    assert_one_line_error(proc, "cpython-3.13.99t: self-check failed", "asked for 3.13.99", "sys.base_prefix")
    assert installed(root) == []


def test_probe_cache_follows_the_marker(tmp_path):
    """Discovery's probe cache must not serve a re-marked prefix's old build facts."""
    bin_dir = tmp_path / "cpython-3.13.99" / "bin"
    bin_dir.mkdir(parents=True)
    exe = bin_dir / "python3.13"
    exe.write_text('#!/bin/sh\nexec "%s" "$@"\n' % sys.executable)
    exe.chmod(0o755)
    marker = tmp_path / "cpython-3.13.99" / provision.BUILD_MARKER
    marker.write_text("{}")
    cache: dict = {}
    interpreters.probe(exe, cache)
    interpreters.probe(exe, cache)
    assert len(cache) == 1  # a hit
    later = marker.stat().st_mtime_ns + 10**9
    os.utime(marker, ns=(later, later))
    interpreters.probe(exe, cache)
    assert len(cache) == 2  # re-probed


def test_a_second_provision_waits_for_the_lock(tmp_path):
    """Race-free by construction: the first provision's configure announces itself and holds
    the lock until the test opens a gate, which it does only once the second one says it
    is waiting."""
    gate = tmp_path / "gate"
    started = tmp_path / "configure-started"
    configure = "touch %s; i=0; while [ ! -e %s ] && [ $i -lt 2400 ]; do sleep 0.05; i=$((i+1)); done; %s" % (
        started,
        gate,
        FAILING_CONFIGURE,
    )
    tarball, sha = make_tarball(tmp_path, "3.13.99", configure)
    root = tmp_path / "pythons"
    args = [
        sys.executable,
        "-m",
        "harness",
        "provision",
        "cpython",
        "3.13.99",
        "--tarball",
        str(tarball),
        "--sha256",
        sha,
    ]
    env = dict(os.environ, **provision_env(root, tmp_path))
    first = subprocess.Popen(args, env=env, cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    wait_for(started.exists)
    second = subprocess.Popen(args, env=env, cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert second.stdout is not None
    lines = []
    for line in second.stdout:  # it prints its wait before it blocks
        lines.append(line)
        if "waiting: another provision is building it" in line:
            break
    gate.touch()
    first.communicate(timeout=120)
    out, err = second.communicate(timeout=120)
    assert any("waiting: another provision is building it" in line for line in lines)
    assert_one_line_error(
        subprocess.CompletedProcess(args, second.returncode, "".join(lines) + out, err), "configure failed"
    )


# -- apt configuration -----------------------------------------------------------------------


def test_apt_sources_both_formats(tmp_path):
    (tmp_path / "sources.list").write_text(
        "# a comment\n"
        "deb http://one.invalid/debian bookworm main\n"
        "deb [arch=amd64 signed-by=/usr/share/keyrings/k.gpg] https://two.invalid/debian/ bookworm main\n"
        "deb [ trusted=yes ] http://three.invalid/ubuntu noble main  # trailing comment\n"
        "deb-src http://one.invalid/debian bookworm main\n"
        "deb cdrom:[Debian 12]/ bookworm main\n"
        "#deb http://commented.invalid/debian bookworm main\n"
    )
    listd = tmp_path / "sources.list.d"
    listd.mkdir()
    (listd / "debian.sources").write_text(
        "Types: deb\n"
        "# http://snapshot.invalid/archive/debian/20250520T000000Z\n"
        "URIs: http://four.invalid/debian\n"
        "Suites: bookworm bookworm-updates\n"
        "Components: main\n"
        "\n"
        "Types: deb deb-src\n"
        "URIs: http://five.invalid/debian-security\n"
        "  https://six.invalid/debian-security\n"
        "Suites: bookworm-security\n"
        "\n"
        "Types: deb\n"
        "URIs: http://disabled.invalid/debian\n"
        "Enabled: no\n"
    )
    (listd / "extra.list").write_text("deb file:/srv/local bookworm main\ndeb http://seven.invalid/debian x main\n")
    (listd / "vendor.list.disabled").write_text("deb http://ignored.invalid/apt stable main\n")
    (listd / "vendor.sources.disabled").write_text("Types: deb\nURIs: http://ignored.invalid/apt\n")
    assert provision.apt_mirrors([str(tmp_path / "sources.list"), str(listd)]) == [
        "http://one.invalid/debian",
        "https://two.invalid/debian",
        "http://three.invalid/ubuntu",
        "http://four.invalid/debian",
        "http://five.invalid/debian-security",
        "https://six.invalid/debian-security",
        "http://seven.invalid/debian",
    ]


def test_apt_sources_from_the_environment(tmp_path, monkeypatch):
    (tmp_path / "a.sources").write_text("Types: deb\nURIs: http://eight.invalid/debian\n")
    monkeypatch.setenv("GILBENCH_APT_SOURCES", os.pathsep.join([str(tmp_path / "a.sources"), "/no/such/file"]))
    assert provision.apt_mirrors() == ["http://eight.invalid/debian"]


# -- the real pairs (`tox -e tests` provisions 3.14's, CI's .ci/run 3.13's too) ------------------


@pytest.mark.parametrize("asked", ["minor", "release"])
def test_a_second_provision_is_a_no_op(pair, asked):
    """Nothing is downloaded, configured or written again, whether X.Y or X.Y.Z is asked for:
    both halves say so, and their markers are the same files as before."""
    root = Path(os.environ["GILBENCH_PYTHONS"])
    names = ("cpython-" + pair.version, "cpython-%st" % pair.version)
    before = {name: (root / name / provision.BUILD_MARKER).stat().st_mtime_ns for name in names}
    proc = run_module("harness", "provision", "cpython", pair.minor if asked == "minor" else pair.version, "--pair")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.count("already provisioned:") == 2
    assert not any(word in proc.stdout for word in ("configure", "download", "make"))
    assert {name: (root / name / provision.BUILD_MARKER).stat().st_mtime_ns for name in names} == before


def test_pair_is_recorded_and_discovered(pair):
    default, threaded = pair.default, pair.threaded
    assert default["pair_id"] == threaded["pair_id"] and default["pair_id"].startswith("cpython-%s-" % pair.version)
    assert default["source_sha256"] == threaded["source_sha256"] == provision.PINNED_SHA256[pair.version]
    assert (default["free_threaded"], threaded["free_threaded"]) == (False, True)
    assert threaded["configure_args"][1:] == [*default["configure_args"][1:], "--disable-gil"]
    assert default["compiler"] == threaded["compiler"] != ""
    found = interpreters.assign(interpreters.discover())
    for factor, marker in ((pair.factor, default), (pair.factor + "t", threaded)):
        interp = found[factor]
        assert interp.source == "provisioned" and interp.version == pair.version
        assert interp.build["pair_id"] == marker["pair_id"]
        assert interp.build["source"] == marker["source"]
        assert interp.build["source_sha256"] == marker["source_sha256"]
    ft = found[pair.factor + "t"]
    assert not ft.gil_enabled and ft.free_threaded_build
    assert interpreters.resolve_env("bench-%st-gil" % pair.factor, list(found.values())).path == ft.path


def test_the_automatic_step_finds_a_built_pair(pair):
    """bench-all's step builds nothing where the pair it is given is built, 3.13's included."""
    lines: list[str] = []
    assert provision.ensure_free_threaded(lines.append, pair.minor) == []
    assert lines == []


@pytest.mark.ci_only
def test_rebuild_replaces_a_half_built_prefix(tmp_path):
    """A real build (minutes) of one half, on one pair: the oldest provisioned pair whose
    verified tarball is in the cache (the quickest to build: 3.13.5's half took 167 s on a
    quiet 2-core machine), else the default one."""
    cache = interpreters.provisioned_root() / ".downloads"
    pairs = (provisioned_pair(minor, interpreters.provisioned_root()) for minor in reversed(PAIRS))
    tarballs = [cache / ("Python-%s.tar.xz" % p.version) for p in pairs if p]
    cached = next((t for t in tarballs if t.exists()), None)
    if cached is None:
        pytest.skip("no cached tarball of a provisioned pair in %s (provision one first)" % cache)
    version = cached.name[len("Python-") : -len(".tar.xz")]
    minor = version.rsplit(".", 1)[0]
    root = tmp_path / "pythons"
    prefix = half_built(root, "cpython-" + version, "python" + minor)
    env = {"GILBENCH_PYTHONS": str(root), "GILBENCH_HOME": str(tmp_path / "home")}
    proc = run_module("harness", "provision", "cpython", version, "--tarball", str(cached), env=env, timeout=1200)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr
    assert "removing %s: incomplete" % prefix in proc.stdout
    marker = json.loads((prefix / provision.BUILD_MARKER).read_text())
    assert marker["source"] == "tarball" and marker["pair_id"] == "" and not marker["free_threaded"]
    probe = subprocess.run(
        [str(prefix / "bin" / ("python" + minor)), "-I", str(ROOT / "workloads" / "_meta.py")],
        capture_output=True,
        text=True,
        check=True,
    )
    facts = json.loads(probe.stdout)
    assert facts["version"] == version and facts["build"]["source"] == "tarball"
    again = run_module("harness", "provision", "cpython", version, "--tarball", str(cached), env=env)
    assert "already provisioned" in again.stdout
