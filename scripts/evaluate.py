"""``doomgps eval``: headless evaluation episodes of a policy (a CI gate with ``--min-return``).

Exit codes: 0 ok; 1 the mean return is below ``--min-return``; 2 a user error.
"""

from __future__ import annotations

import dataclasses
import json
import sys
from pathlib import Path

import tyro


@dataclasses.dataclass(frozen=True)
class EvalArgs:
    """Run headless evaluation episodes and print per-episode and mean ± std returns."""

    scenario: str = "defend_the_center"
    """Scenario name (see `doomgps scenarios`), gymnasium id or path to a .cfg."""
    policy: str = "random"
    """`random`, `teacher`, or a student run directory / checkpoint."""
    episodes: int = 10
    """Number of episodes; episode k uses seed `seed + k`."""
    seed: int = 0
    """Seed of the first episode."""
    num_envs: int = 2
    """Engines run in parallel."""
    teacher_mode: str = "omniscient"
    """For `--policy teacher`: `omniscient` or `imitable`."""
    turning_shots: bool = True
    """For `--policy teacher` on the shooting scenarios: may it fire while turning."""
    centre_band: float = 0.0
    """For `--policy teacher` on take_cover: when calm and farther than this from the middle of
    the room, the teacher walks back toward it (see `doomgps train --centre-band`)."""
    early_dodge: bool = False
    """For `--policy teacher` on take_cover: it strafes as soon as standing would be hit (see
    `doomgps train --early-dodge`)."""
    teacher_memory_tics: int | None = None
    """For `--policy teacher --teacher-mode imitable` on take_cover and the health scenarios:
    how long (tics) it remembers what it saw on screen. Default: the teacher's own."""
    teacher_view_degrees: float | None = None
    """For `--policy teacher --teacher-mode imitable` on take_cover: it sees only the fireballs
    within this horizontal view (degrees; see `doomgps train --teacher-view-degrees`)."""
    symmetric_policy: bool | None = None
    """For a student: act with the mean of its logits on the frames and on their mirror image
    (an exactly left-right symmetric policy). Default: as the run was evaluated in training."""
    logit_adjustment: float | None = None
    """For a student: tau of the post-hoc logit adjustment it acts with (0: the plain policy;
    see `doomgps train --logit-adjustment`). Default: as the run was evaluated in training."""
    field_of_view: float | None = None
    """For `--policy random` or `teacher`: the player's horizontal field of view in degrees
    (default: Doom's 90). A student plays with the view it was trained with."""
    frame_skip: int | None = None
    """For `--policy random` or `teacher`: engine tics per step, 1 to 16 (default: 4). A student
    plays with the frame skip it was trained with."""
    json: bool = False
    """Print one JSON object instead of the table."""
    min_return: float | None = None
    """Exit with code 1 when the mean return is below this (a CI gate)."""
    record: Path | None = None
    """Write episode 0 as an .mp4 video here."""


def main(argv: list[str]) -> int:
    """Parses the flags, runs the episodes, prints the results."""
    args = tyro.cli(EvalArgs, args=argv, prog="doomgps eval")
    import teachers
    from agents.evaluation import evaluate, summary
    from agents.policies import load_policy
    from core.errors import UserError
    from envs.config import EnvConfig
    from envs.doom_env import check_field_of_view
    from envs.registry import get_spec
    from teachers.base import check_frame_skip

    spec = get_spec(args.scenario)
    if args.episodes < 1:
        raise UserError("--episodes must be at least 1")
    if args.teacher_mode not in ("omniscient", "imitable"):
        raise UserError(f"--teacher-mode must be omniscient or imitable, not {args.teacher_mode!r}")
    if args.record is not None and args.record.suffix.lower() != ".mp4":
        raise UserError(f"--record expects an .mp4 path, got {args.record}")
    if args.symmetric_policy is not None and args.policy in ("random", "teacher"):
        raise UserError("--symmetric-policy is for a student run, not --policy " + args.policy)
    if args.logit_adjustment is not None and args.policy in ("random", "teacher"):
        raise UserError("--logit-adjustment is for a student run, not --policy " + args.policy)
    # env options for random or a teacher; a student plays with those it was trained with
    env_options = {"field_of_view": args.field_of_view, "frame_skip": args.frame_skip}
    checks = {
        "field_of_view": (check_field_of_view, "view"),
        "frame_skip": (check_frame_skip, "frame skip"),
    }
    for name, value in env_options.items():
        if value is None:
            continue
        check, what = checks[name]
        if args.policy not in ("random", "teacher"):
            raise UserError(
                f"--{name.replace('_', '-')} is for --policy random or teacher (a student "
                f"plays with the {what} it was trained with)"
            )
        check(value)
    num_envs = max(1, min(args.num_envs, args.episodes))
    options = teachers.options(
        turning_shots=args.turning_shots,
        centre_band=args.centre_band,
        memory_tics=args.teacher_memory_tics,
        view_degrees=args.teacher_view_degrees,
        early_dodge=args.early_dodge,
    )
    actor, env_config = load_policy(
        args.policy,
        spec,
        num_envs,
        seed=args.seed,
        teacher_mode=args.teacher_mode,
        symmetric=args.symmetric_policy,
        logit_adjustment=args.logit_adjustment,
        **options,
    )
    if any(value is not None for value in env_options.values()):
        env_config = EnvConfig(**{k: v for k, v in env_options.items() if v is not None})
    results = evaluate(
        spec,
        actor,
        episodes=args.episodes,
        seed=args.seed,
        num_envs=num_envs,
        env_config=env_config,
        record=args.record,
        show_progress=not args.json,
    )
    report = summary(results, scenario=spec.name, policy=args.policy)
    if args.json:
        print(json.dumps(report))
    else:
        for k, (ret, length) in enumerate(zip(report["returns"], report["lengths"], strict=True)):
            print(
                f"episode {k:3d}  seed {report['seeds'][k]:5d}  return {ret:9.2f}  steps {length}"
            )
        print(
            f"{spec.name} / {args.policy}: mean return {report['mean_return']:.2f} "
            f"± {report['std_return']:.2f} over {report['episodes']} episodes "
            f"({report['frames']} frames, {report['wall_seconds']:.1f} s)"
        )
        if args.record is not None:
            print(f"video: {args.record}")
    if args.min_return is not None and report["mean_return"] < args.min_return:
        print(
            f"mean return {report['mean_return']:.2f} is below --min-return {args.min_return:g}",
            file=sys.stderr,
        )
        return 1
    return 0
