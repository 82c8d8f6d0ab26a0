"""In-tree tox plugin: bench envs run on the interpreter gilbench's discovery picks.

tox loads this file from the project root.  It makes ``tox -e bench-py313t`` find a
free-threaded build in pyenv, uv or gilbench's provisioned cache without the user
editing PATH, using exactly the discovery ``python -m harness interpreters`` shows.
"""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING

from tox.config.loader.memory import MemoryLoader
from tox.plugin import impl

from harness.interpreters import BENCH_ENVS, Interpreter, discover, resolve_env, resolve_pkg_env

if TYPE_CHECKING:
    from tox.config.sets import EnvConfigSet
    from tox.session.state import State


@functools.lru_cache(maxsize=1)
def _interpreters() -> list[Interpreter]:
    return discover()


@impl
def tox_add_env_config(env_conf: EnvConfigSet, state: State) -> None:
    if env_conf.name in BENCH_ENVS:
        interp = resolve_env(env_conf.name, _interpreters())
    elif env_conf.name.startswith(".pkg-"):  # the wheel build env of a bench env
        interp = resolve_pkg_env(env_conf.name, _interpreters())
    else:
        return
    if interp is not None:  # otherwise tox looks by factor and skips it if missing
        env_conf.loaders.insert(0, MemoryLoader(base_python=[interp.path]))
