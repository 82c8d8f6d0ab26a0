"""The machine record: facts read on this machine, and from fixture trees of /proc and /sys.

Runs on every interpreter (nox parametrises it), so standard library + pyperf only.
"""

from __future__ import annotations

import dataclasses
import os
import re
from pathlib import Path

import pytest

from workloads import _machine
from workloads._machine import Machine, parse_cpu_list, read_machine, this_machine, usable
from workloads._store import worker_environ


def test_this_machine_reads_its_cpus_memory_and_topology():
    machine = read_machine()
    assert re.fullmatch(r"[0-9a-f]{8}", machine.id)
    assert machine.logical_cpus == os.cpu_count()
    assert 1 <= machine.physical_cores <= machine.logical_cpus
    assert machine.threads_per_core >= 1 and machine.cpu_model and machine.arch
    assert machine.memory > 2**28 and machine.memory_gib >= 1
    if hasattr(os, "sched_getaffinity"):
        assert machine.affinity == tuple(sorted(os.sched_getaffinity(0)))
        assert machine.cpus <= len(os.sched_getaffinity(0))
    assert machine.cpus == _machine.usable_cpus() >= 1
    assert 1 <= machine.cores <= machine.physical_cores
    assert read_machine() == machine and read_machine().id == machine.id == this_machine().id  # stable


def test_the_record_round_trips_through_json_and_pyperf_metadata():
    machine = this_machine()
    assert Machine.from_metadata(machine.to_metadata()) == machine
    assert Machine.from_json(machine.to_json()).id == machine.id
    assert machine.to_json()["cpus"] == machine.cpus
    assert "\n" not in machine.to_metadata()  # one pyperf metadata value


def test_the_hostname_and_os_describe_but_do_not_identify():
    machine = this_machine()
    renamed = dataclasses.replace(machine, hostname="elsewhere", os="another", id="")
    assert renamed.id == machine.id
    fewer = dataclasses.replace(machine, affinity=machine.affinity[:1], cores=1, id="")
    if machine.cpus > 1:
        assert fewer.id != machine.id


def test_a_record_from_before_machine_ids_is_not_a_machine():
    old = {"id": "003596", "hostname": "vm", "cpu_model": "AMD EPYC", "cpu_count": 2, "os": "Linux", "arch": "x86_64"}
    assert Machine.recorded(old) is None and Machine.recorded(None) is None
    assert Machine.recorded(this_machine().to_json()) == this_machine()


def test_differences_name_each_side_in_order():
    two = Machine(
        arch="x86_64", cpu_model="AMD EPYC", logical_cpus=2, physical_cores=2, affinity=(0, 1), cores=2, memory=2**34
    )
    one = dataclasses.replace(two, affinity=(0,), cores=1, id="")
    assert two.differences(one) == ["2 CPUs vs 1 CPU", "2 cores vs 1 core in use"]
    quota = dataclasses.replace(two, cpu_quota=1.5, hypervisor="kvm", id="")
    assert two.differences(quota) == ["CPU quota none vs 1.5", "bare metal vs kvm"]
    assert two.describe() == "2 CPUs (AMD EPYC, 2 cores, no SMT, 16 GiB, bare metal)"


@pytest.mark.parametrize(
    "allowed,quota,cpus", [(4, 0.0, 4), (4, 1.5, 2), (4, 0.5, 1), (2, 8.0, 2), (8, 4.0, 4), (1, 0.0, 1)]
)
def test_the_cpus_a_run_may_use_are_its_affinity_capped_by_the_quota(allowed, quota, cpus):
    assert usable(allowed, quota) == cpus


def test_cpu_lists_parse_the_kernels_format():
    assert parse_cpu_list("0-3,8,10-11\n") == [0, 1, 2, 3, 8, 10, 11]
    assert parse_cpu_list("") == []


# -- fixture trees --------------------------------------------------------------------------


def tree(root: Path, files: dict) -> str:
    for path, text in files.items():
        target = root / path.lstrip("/")
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text)
    return str(root)


def smt_box(cpus_allowed: str = "0-3") -> dict:
    """Two cores with two SMT threads each: CPUs 0 and 2 on core 0, 1 and 3 on core 1."""
    files = {
        "/proc/self/status": "Name:\tpython\nCpus_allowed_list:\t%s\n" % cpus_allowed,
        "/proc/meminfo": "MemTotal:       16314168 kB\nMemFree: 1 kB\n",
        "/proc/cpuinfo": "processor\t: 0\nmodel name\t: Intel(R) Xeon(R) Gold 6230\nflags\t\t: fpu sse2\n\n"
        "processor\t: 1\nmodel name\t: Intel(R) Xeon(R) Gold 6230\n",
        "/sys/devices/system/cpu/online": "0-3\n",
    }
    for cpu in range(4):
        files["/sys/devices/system/cpu/cpu%d/topology/physical_package_id" % cpu] = "0\n"
        files["/sys/devices/system/cpu/cpu%d/topology/core_id" % cpu] = "%d\n" % (cpu % 2)
    return files


def test_smt_siblings_count_as_one_core(tmp_path):
    machine = read_machine(tree(tmp_path, smt_box()))
    assert (machine.logical_cpus, machine.physical_cores, machine.threads_per_core) == (4, 2, 2)
    assert machine.affinity == (0, 1, 2, 3) and machine.cores == 2 and machine.cpus == 4
    assert machine.cpu_model == "Intel(R) Xeon(R) Gold 6230" and machine.memory_gib == 16
    assert machine.hypervisor == "" and machine.cpu_quota == 0.0


def test_two_siblings_are_another_machine_than_two_cores(tmp_path):
    siblings = read_machine(tree(tmp_path / "a", smt_box("0,2")))
    cores = read_machine(tree(tmp_path / "b", smt_box("0-1")))
    assert siblings.cpus == cores.cpus == 2
    assert (siblings.cores, cores.cores) == (1, 2) and siblings.id != cores.id
    assert siblings.differences(cores) == ["1 core vs 2 cores in use"]


def test_workers_pin_to_one_cpu_per_physical_core_first(tmp_path):
    assert _machine.pin_order(tree(tmp_path / "all", smt_box())) == [0, 1, 2, 3]
    assert _machine.pin_order(tree(tmp_path / "some", smt_box("1-3"))) == [2, 1, 3]
    assert _machine.pinned_cpus([2, 1, 3], 5) == [2, 1, 3, 2, 1]  # oversubscribed: round again
    assert _machine.pinned_cpus([], 2) == []


def test_the_hypervisor_flag_names_the_firmware_vendor(tmp_path):
    files = smt_box()
    files["/proc/cpuinfo"] = files["/proc/cpuinfo"].replace("fpu sse2", "fpu hypervisor sse2")
    assert read_machine(tree(tmp_path / "flag", files)).hypervisor == "unknown hypervisor"
    files["/sys/class/dmi/id/sys_vendor"] = "Amazon EC2\n"
    assert read_machine(tree(tmp_path / "dmi", files)).hypervisor == "Amazon EC2"


def test_arm_cpus_are_named_by_implementer_and_part(tmp_path):
    files = smt_box()
    files["/proc/cpuinfo"] = "processor\t: 0\nBogoMIPS\t: 50.00\nCPU implementer\t: 0x41\nCPU part\t: 0xd0c\n"
    assert read_machine(tree(tmp_path, files)).cpu_model == "implementer 0x41 part 0xd0c"


CGROUP_V2 = "30 23 0:26 / /sys/fs/cgroup rw,nosuid - cgroup2 cgroup2 rw,nsdelegate\n"
CGROUP_V1 = "32 31 0:29 / /sys/fs/cgroup/cpu,cpuacct rw,relatime - cgroup cgroup rw,cpu,cpuacct\n"


def test_cgroup_v2_takes_the_tightest_cpu_max_along_the_path(tmp_path):
    files = {
        "/proc/self/mountinfo": "22 1 8:1 / / rw - ext4 /dev/sda1 rw\n" + CGROUP_V2,
        "/proc/self/cgroup": "0::/user.slice/bench.scope\n",
        "/sys/fs/cgroup/cpu.max": "max 100000\n",  # the root
        "/sys/fs/cgroup/user.slice/cpu.max": "150000 100000\n",
        "/sys/fs/cgroup/user.slice/bench.scope/cpu.max": "max 100000\n",
    }
    root = tree(tmp_path, files)
    assert _machine.cpu_quota(root) == 1.5
    assert _machine.usable(4, _machine.cpu_quota(root)) == 2


def test_cgroup_v2_in_a_container_reads_its_own_root(tmp_path):
    """With a cgroup namespace the process's path is ``/`` and the mount is its own cgroup."""
    files = {"/proc/self/mountinfo": CGROUP_V2, "/proc/self/cgroup": "0::/\n"}
    files["/sys/fs/cgroup/cpu.max"] = "50000 100000\n"
    assert _machine.cpu_quota(tree(tmp_path, files)) == 0.5


def test_cgroup_v1_reads_cfs_quota_and_period_under_the_cpu_mount(tmp_path):
    files = {
        "/proc/self/mountinfo": CGROUP_V1.replace(" / /sys", " /docker /sys"),  # the mount shows the container's cgroup
        "/proc/self/cgroup": "4:memory:/docker/abc\n3:cpu,cpuacct:/docker/abc\n0::/\n",
        "/sys/fs/cgroup/cpu,cpuacct/abc/cpu.cfs_quota_us": "200000\n",
        "/sys/fs/cgroup/cpu,cpuacct/abc/cpu.cfs_period_us": "100000\n",
        "/sys/fs/cgroup/cpu,cpuacct/cpu.cfs_quota_us": "-1\n",
        "/sys/fs/cgroup/cpu,cpuacct/cpu.cfs_period_us": "100000\n",
    }
    assert _machine.cpu_quota(tree(tmp_path, files)) == 2.0


def test_no_quota_is_zero(tmp_path):
    files = {
        "/proc/self/mountinfo": CGROUP_V1 + CGROUP_V2.replace("/sys/fs/cgroup ", "/sys/fs/cgroup/unified "),
        "/proc/self/cgroup": "1:cpu,cpuacct:/\n0::/\n",
        "/sys/fs/cgroup/cpu,cpuacct/cpu.cfs_quota_us": "-1\n",
        "/sys/fs/cgroup/cpu,cpuacct/cpu.cfs_period_us": "100000\n",
    }
    assert _machine.cpu_quota(tree(tmp_path, files)) == 0.0
    assert _machine.cpu_quota(tree(tmp_path / "empty", {})) == 0.0


def test_macos_facts_come_from_sysctl():
    facts = _machine.parse_darwin("Apple M1\n8\n8\n17179869184\n1\n")
    assert facts["cpu_model"] == "Apple M1" and facts["physical_cores"] == 8 and facts["threads_per_core"] == 1
    assert facts["memory"] == 2**34 and facts["hypervisor"] == "apple" and len(facts["affinity"]) == 8


def test_a_child_is_told_the_hypervisor_its_parent_found(monkeypatch):
    found = this_machine().hypervisor
    assert worker_environ()[_machine.HYPERVISOR_ENV] == (found or "none")
    monkeypatch.setenv(_machine.HYPERVISOR_ENV, "none")
    assert read_machine().hypervisor == ""
    monkeypatch.delenv(_machine.HYPERVISOR_ENV)
    assert read_machine().hypervisor == found  # read afresh: the same answer
