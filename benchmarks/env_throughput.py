"""Environment throughput on defend_the_center (160x120 render, frame skip 4, random actions).

Measures, in one run and on the same scenario: the raw ``vizdoom.DoomGame`` loop, ``DoomEnv``
without and with engine state, the vector env with 1 and 2 workers, and EnvPool's ViZDoom env
with the same numbers of envs when ``envpool`` is importable (it is not a dependency). Prints
agent steps/s and the ratios the issue's targets are about.

Run: ``.venv/bin/python benchmarks/env_throughput.py [--seconds 5] [--rounds 2]``
"""

from __future__ import annotations

import argparse
import os
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

from core.hardware import describe_hardware, hardware_line

SCENARIO = "defend_the_center"
FRAME_SKIP = 4


def raw_loop(seconds: float) -> float:
    """The bare engine: make_action with frame skip, read the screen, start new episodes."""
    import vizdoom as vzd

    from envs import engine_process
    from envs.registry import get_spec

    game = vzd.DoomGame()
    game.load_config(str(get_spec(SCENARIO).cfg_path))
    game.set_vizdoom_path(engine_process.engine_launcher())
    game.set_doom_config_path(str(engine_process.engine_workdir() / "_vizdoom.ini"))
    game.set_window_visible(False)
    game.set_sound_enabled(False)
    game.set_screen_resolution(vzd.ScreenResolution.RES_160X120)
    game.set_screen_format(vzd.ScreenFormat.GRAY8)
    game.init()
    rng = np.random.default_rng(0)
    actions = [[float(b) for b in row] for row in np.eye(3)] + [[0.0, 0.0, 0.0]]
    game.new_episode()
    steps, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        game.make_action(actions[rng.integers(len(actions))], FRAME_SKIP)
        if game.is_episode_finished():
            game.new_episode()
        _ = game.get_state().screen_buffer
        steps += 1
    rate = steps / (time.perf_counter() - start)
    game.close()
    return rate


def env_loop(seconds: float, engine_state: bool, labels: bool = True) -> float:
    """``DoomEnv`` (frame_stack 1); with engine state, ``engine_state()`` is read every step."""
    from envs.doom_env import DoomEnv

    # The raw loop's frame as the observation (160x120 grey): this measures the env's overhead.
    env = DoomEnv(
        SCENARIO,
        frame_skip=FRAME_SKIP,
        frame_stack=1,
        width=160,
        height=120,
        engine_state=engine_state,
        labels=labels,
    )
    env.reset(seed=0)
    rng = np.random.default_rng(0)
    steps, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        _, _, terminated, truncated, _ = env.step(int(rng.integers(env.action_space.n)))
        if terminated or truncated:
            env.reset()
        if engine_state and not env._needs_new_episode:
            env.engine_state()
        steps += 1
    rate = steps / (time.perf_counter() - start)
    env.close()
    return rate


def vector_loop(seconds: float, num_envs: int) -> float:
    """The project's vector env (AsyncVectorEnv, shared memory), stepping all envs each call."""
    from envs.config import EnvConfig
    from envs.vector import make_vector_env

    config = EnvConfig(frame_stack=1, frame_skip=FRAME_SKIP, width=160, height=120)
    env = make_vector_env(SCENARIO, num_envs, config)
    env.reset(seed=list(range(num_envs)))
    rng = np.random.default_rng(0)
    steps, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        _, _, terminated, truncated, _ = env.step(rng.integers(6, size=num_envs))
        done = terminated | truncated
        if done.any():
            env.reset(options={"reset_mask": done})
        steps += num_envs
    rate = steps / (time.perf_counter() - start)
    env.close()
    return rate


def envpool_loop(seconds: float, num_envs: int) -> float | None:
    """EnvPool's ViZDoom env with the same settings, or None when envpool is not importable."""
    try:
        import envpool
    except ImportError:
        return None
    import re
    import tempfile

    from envs.registry import get_spec

    # The same cfg and wad as ours, rendered at 160x120 like ours (EnvPool renders at the cfg's
    # resolution and outputs grey frames).
    spec = get_spec(SCENARIO)
    folder = Path(tempfile.mkdtemp(prefix="envpool-bench-"))
    cfg = folder / "scenario.cfg"
    text = spec.cfg_path.read_text()
    text = re.sub(r"screen_resolution\s*=\s*\S+", "screen_resolution = RES_160X120", text)
    cfg.write_text(text)
    env = envpool.make_gymnasium(
        "VizdoomCustom-v1",
        num_envs=num_envs,
        batch_size=num_envs,
        frame_skip=FRAME_SKIP,
        img_height=120,
        img_width=160,
        stack_num=1,
        use_combined_action=True,
        num_threads=num_envs,
        seed=0,
        cfg_path=str(cfg),
        wad_path=str(spec.wad_path),
        max_episode_steps=2100 // FRAME_SKIP,
    )
    env.reset()
    n_actions = env.action_space.n
    rng = np.random.default_rng(0)
    steps, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        env.step(rng.integers(n_actions, size=num_envs))
        steps += num_envs
    rate = steps / (time.perf_counter() - start)
    env.close()
    return rate


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=5.0, help="time per measurement")
    parser.add_argument("--rounds", type=int, default=2, help="interleaved rounds; best kept")
    args = parser.parse_args()
    print(f"machine: {hardware_line(describe_hardware())}")
    cases: dict[str, Callable[[], float | None]] = {
        "raw vizdoom.DoomGame loop": lambda: raw_loop(args.seconds),
        "DoomEnv, no engine state": lambda: env_loop(args.seconds, engine_state=False),
        "DoomEnv, engine state read every step": lambda: env_loop(args.seconds, True),
        "DoomEnv, engine state without labels buffer": lambda: env_loop(
            args.seconds, True, labels=False
        ),
        "vector env, 1 worker": lambda: vector_loop(args.seconds, 1),
        "vector env, 2 workers": lambda: vector_loop(args.seconds, 2),
        "EnvPool, 1 env": lambda: envpool_loop(args.seconds, 1),
        "EnvPool, 2 envs": lambda: envpool_loop(args.seconds, 2),
    }
    best: dict[str, float | None] = {}
    for _ in range(args.rounds):
        for name, run in cases.items():
            rate = run()
            if rate is not None:
                best[name] = max(best.get(name) or 0.0, rate)
            else:
                best.setdefault(name, None)
    print(
        f"{SCENARIO}, 160x120, frame skip {FRAME_SKIP}, random actions, {os.cpu_count()} cores,"
        f" best of {args.rounds} x {args.seconds:g} s\n"
    )
    print("| setup | agent steps/s |\n|---|---:|")
    for name, rate in best.items():
        print(f"| {name} | {'not installed' if rate is None else f'{rate:,.0f}'} |")
    raw = best["raw vizdoom.DoomGame loop"]
    print("\n| ratio | measured | target |\n|---|---:|---:|")
    rows = [
        ("DoomEnv / raw loop", best["DoomEnv, no engine state"], raw, 0.9),
        (
            "DoomEnv with engine state / raw loop",
            best["DoomEnv, engine state read every step"],
            raw,
            None,
        ),
        (
            "DoomEnv with engine state, no labels / raw loop",
            best["DoomEnv, engine state without labels buffer"],
            raw,
            None,
        ),
        (
            "vector 2 workers / 1 worker",
            best["vector env, 2 workers"],
            best["vector env, 1 worker"],
            1.6,
        ),
        (
            "vector 1 worker / EnvPool 1 env",
            best["vector env, 1 worker"],
            best["EnvPool, 1 env"],
            1.0,
        ),
        (
            "vector 2 workers / EnvPool 2 envs",
            best["vector env, 2 workers"],
            best["EnvPool, 2 envs"],
            1.0,
        ),
    ]
    for name, numerator, denominator, target in rows:
        value = "n/a" if not numerator or not denominator else f"{numerator / denominator:.2f}x"
        print(f"| {name} | {value} | {'-' if target is None else f'>= {target}x'} |")


if __name__ == "__main__":
    main()
