"""A run's options, resolved once where the run starts and handed down as one record.

bench-all resolves them on the host (``harness.cli``), ``python -m workloads`` run by
hand resolves them itself; from then on no process looks a profile up by name or reads
an option from the environment.  An env's driver gets the record as JSON on its command
line (``--options``, see ``workloads._cli.driver_args``), its benchmark processes get
what they need of it as arguments (``workloads._store.worker_command``) and as the
variables of their environment (``RunOptions.worker_env``).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any, Dict, Mapping, Optional, Tuple

from workloads._registry import LAYOUTS, USER_WORKLOADS_ENV, Profile
from workloads._schema import EnvFiles, env_files


@dataclass(frozen=True)
class RunOptions:
    """What one run measures and how: the same for every env of the run."""

    profile: Profile  # resolved: a bench-all's --max-rounds is already in it
    run_id: str
    results_dir: str
    seed: int  # the order within rounds; a resumed run keeps the one it started with
    layout: str = "blocks"  # workloads._registry.LAYOUTS; a resumed run keeps its own
    workloads: Tuple[str, ...] = ()  # --workload: only these (empty: every workload)
    suites: Tuple[str, ...] = ()  # --suite: and the workloads of these families
    user_workloads: Tuple[str, ...] = ()  # --workloads: .py files and folders made absolute, or module names
    workers: Optional[Tuple[int, ...]] = None  # --workers: the worker counts (None: the profile's or the machine's)
    timeout: Optional[float] = None  # seconds per benchmark process (None: the profile's)
    resume: bool = False  # pick up the run's files as they stand
    oversubscribe: bool = False  # --oversubscribe: also twice the CPUs the run may use
    pin_workers: bool = False  # --pin-workers: each worker on a CPU of its own, where the OS allows

    def __post_init__(self) -> None:
        if self.layout not in LAYOUTS:
            raise ValueError("layout %r: expected one of %s" % (self.layout, ", ".join(LAYOUTS)))

    @property
    def run_dir(self) -> str:
        """``results/<run-id>``."""
        return os.path.join(os.path.abspath(self.results_dir), self.run_id)  # benchmark processes run elsewhere

    def files(self, env: str) -> EnvFiles:
        """Where ``env``'s files of this run are."""
        return env_files(self.run_dir, env)

    def worker_env(self) -> Dict[str, str]:
        """The variables this run sets in the environment of its processes: the user's
        workload folders, so a benchmark process imports the module its block names."""
        return {USER_WORKLOADS_ENV: os.pathsep.join(self.user_workloads)} if self.user_workloads else {}

    def to_json(self) -> Dict[str, Any]:
        return {
            "profile": self.profile.to_json(),
            "run_id": self.run_id,
            "results_dir": self.results_dir,
            "seed": self.seed,
            "layout": self.layout,
            "workloads": list(self.workloads),
            "suites": list(self.suites),
            "user_workloads": list(self.user_workloads),
            "workers": None if self.workers is None else list(self.workers),
            "timeout": self.timeout,
            "resume": self.resume,
            "oversubscribe": self.oversubscribe,
            "pin_workers": self.pin_workers,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> RunOptions:
        workers = data.get("workers")
        timeout = data.get("timeout")
        return cls(
            profile=Profile.from_json(data["profile"]),
            run_id=str(data["run_id"]),
            results_dir=str(data["results_dir"]),
            seed=int(data["seed"]),
            layout=str(data.get("layout", "blocks")),
            workloads=tuple(data.get("workloads") or ()),
            suites=tuple(data.get("suites") or ()),
            user_workloads=tuple(data.get("user_workloads") or ()),
            workers=None if workers is None else tuple(int(w) for w in workers),
            timeout=None if timeout is None else float(timeout),
            resume=bool(data.get("resume", False)),
            oversubscribe=bool(data.get("oversubscribe", False)),
            pin_workers=bool(data.get("pin_workers", False)),
        )
