"""The machine a run measures on: what a speedup depends on, and a stable id of it.

A speedup at k workers says as much about the hardware as about the code: how many
CPUs the run may use (a ``taskset``, a container's cgroup quota), whether two of them
are SMT siblings of one core, what CPU, under which hypervisor.  ``Machine`` records
those facts, as the process sees them, and ``Machine.id`` hashes them, so that runs
from two machines (or from one machine confined two ways) are told apart, and a ratio
is only ever computed within one.  The hostname is recorded for people and never
hashed: two runs of one host under ``taskset -c 0`` and without it are two machines
for a speedup, and one VM renamed is still one.

Runs inside every measured interpreter (the runner writes the record into each pyperf
file's metadata) and in the host (the manifest, the run id): standard library only,
Python 3.9+ and PyPy (which has no ``os.sched_getaffinity``: the kernel's own list in
``/proc/self/status`` stands in, so every interpreter of one machine gets one id).

Every file is read under a ``root`` folder, ``/`` by default, so the tests parse
fixture trees of ``/proc`` and ``/sys``.
"""

from __future__ import annotations

import functools
import hashlib
import json
import math
import os
import platform
import shutil
import subprocess
import sys
from dataclasses import asdict, dataclass, field, fields
from typing import Any, Dict, Iterable, List, Mapping, Optional, Sequence, Set, Tuple

# The facts hashed into ``Machine.id``; the others describe the machine to people.
IDENTITY = (
    "arch",
    "cpu_model",
    "logical_cpus",
    "physical_cores",
    "threads_per_core",
    "cpus",
    "cores",
    "cpu_quota",
    "memory_gib",
    "hypervisor",
)
ID_LENGTH = 8  # hex digits of the sha256
# Where systemd-detect-virt is looked for: fixed, so the id does not depend on a PATH.
SYSTEM_PATH = "/usr/bin:/bin:/usr/sbin:/sbin"
# The hypervisor a parent process found (``this_machine`` sets it; "none" on bare metal):
# every benchmark process would otherwise spend 20-40 ms starting systemd-detect-virt
# for the same answer.  Benchmark processes inherit it (``GILBENCH_*`` is passed on).
HYPERVISOR_ENV = "GILBENCH_HYPERVISOR"


@dataclass(frozen=True)
class Machine:
    """What defines the hardware a speedup depends on, as one process sees it.

    ``affinity`` is the CPUs this process may run on (``sched_getaffinity``), ``cores``
    the physical cores they span, ``cpu_quota`` the cgroup's CPU quota in CPUs (0: no
    quota).  ``cpus``, the CPUs a run may use, is what worker counts are set against.
    ``id`` is computed from ``IDENTITY`` unless a stored record carries one.
    """

    arch: str = ""
    cpu_model: str = ""
    logical_cpus: int = 0  # online logical CPUs of the machine
    physical_cores: int = 0  # cores of the machine (logical CPUs where the topology is unknown)
    threads_per_core: int = 1  # SMT: logical CPUs per physical core
    affinity: Tuple[int, ...] = ()
    cores: int = 0
    cpu_quota: float = 0.0
    memory: int = 0  # bytes of RAM
    hypervisor: str = ""  # "" on bare metal (or where nothing says), else e.g. "kvm", "microsoft"
    hostname: str = ""  # for people: never hashed
    os: str = ""  # for people: never hashed
    id: str = field(default="", compare=False)

    def __post_init__(self) -> None:
        if not self.id:
            blob = json.dumps(self.identity(), sort_keys=True).encode()
            object.__setattr__(self, "id", hashlib.sha256(blob).hexdigest()[:ID_LENGTH])

    @property
    def cpus(self) -> int:
        """CPUs a run may use (``usable``)."""
        return usable(len(self.affinity) or self.logical_cpus, self.cpu_quota)

    @property
    def memory_gib(self) -> int:
        """RAM to the nearest GiB: the kernel's own reservations move the bytes between boots."""
        return round(self.memory / 2**30)

    def identity(self) -> Dict[str, Any]:
        return {name: getattr(self, name) for name in IDENTITY}

    def describe(self) -> str:
        """One line for people: ``2 CPUs (AMD EPYC, 2 cores, no SMT, 24 GiB, kvm)``."""
        smt = "SMT %d" % self.threads_per_core if self.threads_per_core > 1 else "no SMT"
        parts = [self.cpu_model or self.arch, _count(self.physical_cores, "core"), smt]
        if self.cpu_quota > 0:
            parts.append("quota %g CPUs" % self.cpu_quota)
        parts += ["%d GiB" % self.memory_gib, self.hypervisor or "bare metal"]
        return "%s (%s)" % (_count(self.cpus, "CPU"), ", ".join(p for p in parts if p))

    def differences(self, other: Machine) -> List[str]:
        """What differs between two machines, this one's value first: ``["2 CPUs vs 1 CPU"]``."""
        out = []
        for template, value in _FACTS:
            mine, theirs = value(self), value(other)
            if mine != theirs:
                out.append(template % ("%s vs %s" % (mine, theirs)))
        return out or ["nothing recorded (the records differ in id only)"]

    def to_json(self) -> Dict[str, Any]:
        data = asdict(self)
        data["affinity"] = list(self.affinity)
        data["cpus"] = self.cpus  # derived, for readers of the file
        return data

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Machine:
        known = {f.name for f in fields(cls)}
        values = {k: v for k, v in data.items() if k in known}
        values["affinity"] = tuple(int(c) for c in values.get("affinity") or ())
        return cls(**values)

    @classmethod
    def recorded(cls, data: Optional[Mapping[str, Any]]) -> Optional[Machine]:
        """The record stored in a manifest or status file, or None where there is none or
        it was written before machines had ids (the manifest's ``machine`` then held only
        a hostname's hash, CPU model and count)."""
        return cls.from_json(data) if data and "logical_cpus" in data else None

    def to_metadata(self) -> str:
        """The record as one pyperf metadata value (compact JSON)."""
        return json.dumps(self.to_json(), sort_keys=True, separators=(",", ":"))

    @classmethod
    def from_metadata(cls, value: Any) -> Machine:
        return value if isinstance(value, Machine) else cls.from_json(json.loads(value))


# How ``Machine.differences`` names each fact: a template for "A vs B", and the value.
_FACTS = (
    ("%s", lambda m: _count(m.cpus, "CPU")),
    ("%s in use", lambda m: _count(m.cores, "core")),
    ("%s", lambda m: m.cpu_model),
    ("%s", lambda m: m.arch),
    ("%s in all", lambda m: _count(m.physical_cores, "core")),
    ("%s per core", lambda m: _count(m.threads_per_core, "thread")),
    ("%s", lambda m: _count(m.logical_cpus, "logical CPU")),
    ("CPU quota %s", lambda m: _quota(m.cpu_quota)),
    ("%s", lambda m: "%d GiB" % m.memory_gib),
    ("%s", lambda m: m.hypervisor or "bare metal"),
)


def _count(n: int, unit: str) -> str:
    return "%d %s%s" % (n, unit, "" if n == 1 else "s")


def _quota(quota: float) -> str:
    return "%g" % quota if quota > 0 else "none"


# -- reading the facts ------------------------------------------------------------------


def _read(root: str, path: str) -> Optional[str]:
    try:
        with open(os.path.join(root, path.lstrip("/")), encoding="utf-8", errors="replace") as fh:
            return fh.read()
    except OSError:
        return None


def parse_cpu_list(text: str) -> List[int]:
    """The kernel's CPU list format: ``0-3,8,10-11`` -> ``[0, 1, 2, 3, 8, 10, 11]``."""
    cpus: Set[int] = set()
    for part in text.strip().split(","):
        if not part:
            continue
        low, _, high = part.partition("-")
        cpus.update(range(int(low), int(high or low) + 1))
    return sorted(cpus)


def affinity(root: str = "/") -> List[int]:
    """The CPUs this process may run on: ``os.sched_getaffinity`` where the interpreter has
    it, else the kernel's ``Cpus_allowed_list`` (PyPy), else every CPU."""
    if root == "/" and hasattr(os, "sched_getaffinity"):
        return sorted(os.sched_getaffinity(0))
    status = _read(root, "/proc/self/status") or ""
    for line in status.splitlines():
        if line.startswith("Cpus_allowed_list:"):
            return parse_cpu_list(line.split(":", 1)[1])
    return list(range(os.cpu_count() or 1)) if root == "/" else []


def _mounts(root: str) -> List[Tuple[str, str, str, Set[str]]]:
    """cgroup mounts from ``/proc/self/mountinfo``: (fstype, root in the hierarchy, mount point, options)."""
    out = []
    for line in (_read(root, "/proc/self/mountinfo") or "").splitlines():
        left, sep, right = line.partition(" - ")
        if not sep:
            continue
        before, after = left.split(), right.split()
        if len(before) >= 5 and len(after) >= 3 and after[0] in ("cgroup", "cgroup2"):
            out.append((after[0], before[3], before[4], set(after[2].split(","))))
    return out


def _cgroup_dirs(root: str, mount_root: str, mount_point: str, path: str) -> List[str]:
    """The folders of ``path`` and its ancestors under a cgroup mount, innermost first.

    A container sees its own cgroup as the mount's root (``mount_root`` is then the
    container's path, or ``/`` with a cgroup namespace): what lies outside the mount
    cannot be read and is not walked."""
    rel = path
    if mount_root != "/" and (path == mount_root or path.startswith(mount_root + "/")):
        rel = path[len(mount_root) :]
    parts = [p for p in rel.split("/") if p]
    return [os.path.join(mount_point, *parts[:n]) for n in range(len(parts), -1, -1)]


def cpu_quota(root: str = "/") -> float:
    """The cgroup CPU quota of this process in CPUs (quota / period), the tightest along
    its cgroup's ancestors, under cgroup v2 (``cpu.max``) and v1 (``cpu.cfs_quota_us`` /
    ``cpu.cfs_period_us``); 0.0 when there is none."""
    paths: Dict[str, str] = {}  # "2" (v2) or "1" -> the process's cgroup path
    for line in (_read(root, "/proc/self/cgroup") or "").splitlines():
        number, _, rest = line.partition(":")
        controllers, _, path = rest.partition(":")
        if number == "0" and not controllers:
            paths["2"] = path
        elif "cpu" in controllers.split(","):
            paths["1"] = path
    quotas = []
    for fstype, mount_root, mount_point, options in _mounts(root):
        version = "2" if fstype == "cgroup2" else "1"
        if version not in paths or (version == "1" and "cpu" not in options):
            continue
        for folder in _cgroup_dirs(root, mount_root, mount_point, paths[version]):
            if version == "2":
                words = (_read(root, folder + "/cpu.max") or "").split()
                if len(words) == 2 and words[0] != "max":
                    quotas.append(int(words[0]) / int(words[1]))
            else:
                quota, period = _read(root, folder + "/cpu.cfs_quota_us"), _read(root, folder + "/cpu.cfs_period_us")
                if quota and period and int(quota) > 0 and int(period) > 0:
                    quotas.append(int(quota) / int(period))
    return round(min(quotas), 3) if quotas else 0.0


def usable(allowed: int, quota: float) -> int:
    """CPUs a run may use: those it may run on, at most its CPU quota rounded up."""
    count = max(1, allowed)
    return min(count, max(1, math.ceil(quota - 1e-9))) if quota > 0 else count


def usable_cpus(root: str = "/") -> int:
    """``Machine.cpus`` without reading the rest of the record: what the worker ladder is sized to."""
    return usable(len(affinity(root)), cpu_quota(root))


def topology(root: str = "/") -> Dict[int, Tuple[int, int]]:
    """Online CPU -> (package, core) from ``/sys/devices/system/cpu``, else from
    ``/proc/cpuinfo``'s ``physical id`` and ``core id``; empty where neither says."""
    online = parse_cpu_list(_read(root, "/sys/devices/system/cpu/online") or "")
    out: Dict[int, Tuple[int, int]] = {}
    for cpu in online:
        base = "/sys/devices/system/cpu/cpu%d/topology/" % cpu
        package, core = _read(root, base + "physical_package_id"), _read(root, base + "core_id")
        if package is not None and core is not None:
            out[cpu] = (int(package), int(core))
    if out:
        return out
    for block in (_read(root, "/proc/cpuinfo") or "").split("\n\n"):
        entry = _cpuinfo_fields(block)
        if "processor" in entry and "core id" in entry:
            out[int(entry["processor"])] = (int(entry.get("physical id", 0)), int(entry["core id"]))
    return out


def _cpuinfo_fields(block: str) -> Dict[str, str]:
    entry: Dict[str, str] = {}
    for line in block.splitlines():
        key, sep, value = line.partition(":")
        if sep:
            entry.setdefault(key.strip().lower(), value.strip())
    return entry


def _cpu_model(cpuinfo: str) -> str:
    """The CPU's name: x86's ``model name``; on ARM, where the kernel gives only numbers,
    the implementer and part."""
    entry = _cpuinfo_fields(cpuinfo.split("\n\n")[0]) if cpuinfo else {}
    for key in ("model name", "cpu model", "model", "processor"):
        value = entry.get(key, "")
        if value and not value.isdigit():
            return value
    if "cpu implementer" in entry:
        return "implementer %s part %s" % (entry["cpu implementer"], entry.get("cpu part", "?"))
    return platform.processor() or platform.machine()


def pin_order(root: str = "/") -> List[int]:
    """The CPUs this process may use, one per physical core first, then their SMT
    siblings: where ``--pin-workers`` puts worker 0, 1, 2...  Cores are taken in
    (package, core) order, so a socket fills before the next."""
    allowed = affinity(root)
    where = topology(root)
    by_core: Dict[Tuple[int, int], List[int]] = {}
    for cpu in allowed:
        by_core.setdefault(where.get(cpu, (0, cpu)), []).append(cpu)
    groups = [by_core[key] for key in sorted(by_core)]
    return [g[i] for i in range(max(map(len, groups), default=0)) for g in groups if i < len(g)]


def _hypervisor(root: str, flags: Iterable[str]) -> str:
    """The hypervisor's name, or "" on bare metal: ``systemd-detect-virt --vm`` where it
    exists, else the CPU's ``hypervisor`` flag with the firmware's vendor (DMI) or Xen's
    ``/sys/hypervisor/type``; what a parent process found (``HYPERVISOR_ENV``) first."""
    if root == "/" and os.environ.get(HYPERVISOR_ENV):
        found = os.environ[HYPERVISOR_ENV]
        return "" if found == "none" else found
    if root == "/":
        exe = shutil.which("systemd-detect-virt", path=SYSTEM_PATH)
        if exe:
            try:
                proc = subprocess.run([exe, "--vm"], capture_output=True, text=True, timeout=10)
            except (OSError, subprocess.SubprocessError):
                proc = None
            if proc is not None and proc.returncode in (0, 1):
                name = proc.stdout.strip()
                return "" if name in ("", "none") else name
    xen = (_read(root, "/sys/hypervisor/type") or "").strip()
    if xen:
        return xen
    if "hypervisor" in flags:
        return (_read(root, "/sys/class/dmi/id/sys_vendor") or "").strip() or "unknown hypervisor"
    return ""


def _linux(root: str) -> Dict[str, Any]:
    cpuinfo = _read(root, "/proc/cpuinfo") or ""
    flags = next((_cpuinfo_fields(b).get("flags", "") for b in cpuinfo.split("\n\n") if "flags" in b), "").split()
    where = topology(root)
    online = parse_cpu_list(_read(root, "/sys/devices/system/cpu/online") or "") or list(where)
    logical = len(online) or (os.cpu_count() or 1 if root == "/" else 0)
    per_core: Dict[Tuple[int, int], int] = {}
    for key in where.values():
        per_core[key] = per_core.get(key, 0) + 1
    allowed = affinity(root)
    meminfo = _read(root, "/proc/meminfo") or ""
    memory = next((int(line.split()[1]) * 1024 for line in meminfo.splitlines() if line.startswith("MemTotal:")), 0)
    return {
        "cpu_model": _cpu_model(cpuinfo),
        "logical_cpus": logical,
        "physical_cores": len(per_core) or logical,
        "threads_per_core": max(per_core.values(), default=1),
        "affinity": tuple(allowed),
        "cores": len({where.get(c, (0, c)) for c in allowed}),
        "cpu_quota": cpu_quota(root),
        "memory": memory,
        "hypervisor": _hypervisor(root, flags),
    }


DARWIN_KEYS = ("machdep.cpu.brand_string", "hw.physicalcpu", "hw.logicalcpu", "hw.memsize", "kern.hv_vmm_present")


def parse_darwin(output: str) -> Dict[str, Any]:
    """macOS facts from ``sysctl -n`` of ``DARWIN_KEYS``, one value a line (no affinity
    there: a process may run on every CPU)."""
    model, physical, logical, memory, vmm = (output.splitlines() + [""] * 5)[:5]
    logical_cpus = int(logical or 0) or (os.cpu_count() or 1)
    cores = int(physical or 0) or logical_cpus
    return {
        "cpu_model": model.strip(),
        "logical_cpus": logical_cpus,
        "physical_cores": cores,
        "threads_per_core": max(1, logical_cpus // cores),
        "affinity": tuple(range(logical_cpus)),
        "cores": cores,
        "memory": int(memory or 0),
        "hypervisor": "apple" if vmm.strip() == "1" else "",
    }


def _darwin() -> Dict[str, Any]:
    try:
        out = subprocess.run(["sysctl", "-n", *DARWIN_KEYS], capture_output=True, text=True, timeout=10).stdout
    except (OSError, subprocess.SubprocessError):
        out = ""
    return parse_darwin(out)


def read_machine(root: str = "/") -> Machine:
    """This machine's record, read afresh (``this_machine`` caches it)."""
    if sys.platform.startswith("linux") or root != "/":
        facts = _linux(root)
    elif sys.platform == "darwin":
        facts = _darwin()
    else:  # no topology or affinity to read: what Python knows
        count = os.cpu_count() or 1
        facts = {"cpu_model": platform.processor(), "logical_cpus": count, "physical_cores": count}
        facts.update(affinity=tuple(range(count)), cores=count)
    return Machine(arch=platform.machine(), hostname=platform.node(), os=platform.platform(), **facts)


@functools.cache
def this_machine() -> Machine:
    """The machine this process runs on, read once per process (its first call, before
    any worker thread pins itself); the benchmark processes it starts are told the
    hypervisor found (``hypervisor_environ``) instead of asking again."""
    return read_machine()


def hypervisor_environ() -> Dict[str, str]:
    """The variable that hands this process's answer on the hypervisor to a child
    (``systemd-detect-virt`` costs tens of milliseconds per process)."""
    return {HYPERVISOR_ENV: this_machine().hypervisor or "none"}


# -- pinning workers ----------------------------------------------------------------------


def can_pin() -> bool:
    """Whether this OS lets a thread choose its CPU (Linux's sched_setaffinity)."""
    return sys.platform.startswith("linux")


def pin_this_thread(cpu: int) -> None:
    """Run the calling thread (on Linux a thread has its own affinity) on ``cpu`` only.

    ``os.sched_setaffinity`` where the interpreter has it; PyPy's ``os`` lacks it, so
    there the C library's own call, through ctypes."""
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {cpu})
        return
    import ctypes

    words = max(16, cpu // 64 + 1)
    mask = (ctypes.c_ulong * words)()
    mask[cpu // 64] |= 1 << (cpu % 64)
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.sched_setaffinity(0, ctypes.sizeof(mask), ctypes.byref(mask)) != 0:
        raise OSError(ctypes.get_errno(), "sched_setaffinity(%d) failed" % cpu)


def pinned_cpus(order: Sequence[int], workers: int) -> List[int]:
    """The CPU of each of ``workers`` workers: ``order`` from the start, round again when
    there are more workers than CPUs (an oversubscribed count)."""
    return [order[i % len(order)] for i in range(workers)] if order else []
