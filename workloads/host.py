"""What the host may use of ``workloads``: the one public module besides the ``workload`` decorator.

``harness/`` (the host's pipeline), ``tools/``, ``validation/`` and the docs extension
import from here and from nothing else in this package, so that the modules behind it
(``_store``, ``_scheduler``, ``_prepare``, ``_schema``...) can change without the host
noticing.  Importing it pulls in neither pyperf nor filelock (each is imported where it
is used), so ``tox -e interpreters`` runs on a bare Python.
"""

from workloads._cli import add_run_options, choose, comma_list, resolve_profile
from workloads._machine import Machine, this_machine
from workloads._meta import BUILD_MARKER
from workloads._registry import LAYOUTS, PROFILES, USER_WORKLOADS_ENV, Layout, Profile, load_all
from workloads._results import (
    LockHeld,
    atomic_write_json,
    atomic_write_text,
    bench_lock,
    gilbench_home,
    new_run_id,
    read_json,
    require_machine,
    utc_now,
)
from workloads._scheduler import (
    BudgetReached,
    ProcessDone,
    RoundDone,
    Rounds,
    SchedulerEvent,
    StopRule,
    Unit,
    clock,
    run_rounds,
    seed_of,
    slots,
)
from workloads._schema import (
    ERRORS_SUFFIX,
    MANIFEST,
    MANIFEST_FORMAT,
    META_DIR,
    METADATA,
    STATUS_FORMAT,
    STATUS_SUFFIX,
    TIMELINE_SUFFIX,
    BenchSpec,
    BenchStatus,
    InterpreterFacts,
    Outcome,
    UserError,
    find_meta,
    from_pyperf,
    gil_forced,
    meta_path,
    params_of,
    to_pyperf,
)
from workloads._store import SHORT_WARMUP, EnvRun, Target, worker_command, worker_environ
from workloads.modes import PAIRED_MODES

__all__ = [
    "BUILD_MARKER",
    "ERRORS_SUFFIX",
    "LAYOUTS",
    "MANIFEST",
    "MANIFEST_FORMAT",
    "METADATA",
    "META_DIR",
    "PAIRED_MODES",
    "PROFILES",
    "SHORT_WARMUP",
    "STATUS_FORMAT",
    "STATUS_SUFFIX",
    "TIMELINE_SUFFIX",
    "USER_WORKLOADS_ENV",
    "BenchSpec",
    "BenchStatus",
    "BudgetReached",
    "EnvRun",
    "InterpreterFacts",
    "Layout",
    "LockHeld",
    "Machine",
    "Outcome",
    "ProcessDone",
    "Profile",
    "RoundDone",
    "Rounds",
    "SchedulerEvent",
    "StopRule",
    "Target",
    "Unit",
    "UserError",
    "add_run_options",
    "atomic_write_json",
    "atomic_write_text",
    "bench_lock",
    "choose",
    "clock",
    "comma_list",
    "find_meta",
    "from_pyperf",
    "gil_forced",
    "gilbench_home",
    "load_all",
    "meta_path",
    "new_run_id",
    "params_of",
    "read_json",
    "require_machine",
    "resolve_profile",
    "run_rounds",
    "seed_of",
    "slots",
    "this_machine",
    "to_pyperf",
    "utc_now",
    "worker_command",
    "worker_environ",
]
