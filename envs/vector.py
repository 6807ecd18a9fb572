"""Vector environments: N engines in subprocess workers, stacked observations.

Built on gymnasium's :class:`~gymnasium.vector.AsyncVectorEnv` (shared-memory observations,
``spawn`` workers so TensorFlow's threads are never forked). Each worker asks the kernel to kill
it when the parent dies, and its engine is killed with it (see :mod:`envs.engine_process`).
With ``EnvConfig(engine_state=True, engine_state_in_info=True)`` every step's ``info`` carries
``engine_state`` (an object array of :class:`~envs.engine_state.EngineState`, one per env) for
teachers; observations never do.
"""

from __future__ import annotations

import contextlib
import ctypes
import functools
import os
import signal
from collections.abc import Iterator
from typing import Any

import gymnasium as gym
from gymnasium.vector import AsyncVectorEnv, AutoresetMode

from envs.config import EnvConfig
from envs.registry import ScenarioSpec, get_spec


def _die_with_parent(parent: int) -> None:
    """In a worker: die with the parent, and leave Ctrl-C to it.

    Ctrl-C signals the whole foreground process group. Were a worker to die of it first, the
    parent would see a crashed worker (exit 1) instead of its own KeyboardInterrupt (exit 130,
    workers closed, run resumable), so workers (and the engines they start, which inherit it)
    ignore SIGINT and stop when the parent closes them or dies.
    """
    if os.getpid() == parent:
        return  # gymnasium builds one env in the parent to read the spaces
    ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    if os.getppid() != parent:
        os._exit(1)
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def _make_worker_env(
    scenario: str | ScenarioSpec, config: EnvConfig, render_mode: str | None, parent: int
) -> gym.Env:
    _die_with_parent(parent)
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    from envs.factory import make_env

    return make_env(scenario, config, render_mode=render_mode)


@contextlib.contextmanager
def open_vector_env(
    scenario: str | ScenarioSpec, num_envs: int, config: EnvConfig | None = None, **kwargs: Any
) -> Iterator[AsyncVectorEnv]:
    """:func:`make_vector_env` as a context: closed on leaving it, and after an exception
    (Ctrl-C included) its workers are terminated rather than asked to close.

    An interrupt can land halfway through reading a worker's reply, and a graceful close would
    then wait for a message that never comes.
    """
    env = make_vector_env(scenario, num_envs, config, **kwargs)
    try:
        yield env
    except BaseException:
        env.close(terminate=True)
        raise
    env.close()


def make_vector_env(
    scenario: str | ScenarioSpec,
    num_envs: int,
    config: EnvConfig | None = None,
    *,
    render_mode: str | None = None,
    autoreset_mode: AutoresetMode | str = AutoresetMode.DISABLED,
    **kwargs: Any,
) -> AsyncVectorEnv:
    """Starts ``num_envs`` workers, each running one :func:`envs.factory.make_env` env.

    Args:
        scenario: registered name, gymnasium id, spec or ``.cfg`` path (validated here first, so a
            bad name fails in this process with a clear message, not inside a worker).
        num_envs: how many engines.
        config: rendering/stepping options shared by all envs.
        render_mode: passed to each env (``"rgb_array"`` lets ``call("render")`` return screens).
        autoreset_mode: gymnasium's autoreset mode; the default ``DISABLED`` lets the caller reset
            finished envs itself with ``options={"reset_mask": ...}`` and per-episode seeds.
        **kwargs: passed on to :class:`AsyncVectorEnv`.
    """
    spec = get_spec(scenario)
    config = config or EnvConfig()
    make = functools.partial(_make_worker_env, spec, config, render_mode, os.getpid())
    return AsyncVectorEnv(
        [make] * num_envs,
        shared_memory=True,
        context="spawn",
        autoreset_mode=AutoresetMode(autoreset_mode),
        **kwargs,
    )
