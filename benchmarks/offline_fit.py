"""How well a student variant imitates its teacher where it matters, measured offline in minutes.

Not a speed benchmark but a screen for student variants, cheaper than a training run by an
order of magnitude: a feed-forward student (the training run's own, or one resized or trained
differently by the flags) learns the teacher's labels from finished runs' datasets for a fixed
number of optimizer steps, and is then asked for its action in the states that *other* runs'
students visited (their DAgger rows: iteration 1 and later, student acting), which it never
saw. The agreement with the teacher's best action is printed per band of the teacher's margin
(its best action's score less the second best's): near-ties, where the choice hardly matters,
and decisive states, where on take_cover a policy's survival is decided
(``python -m benchmarks.dodging``: a teacher that errs in a tenth of them loses 30%).

    .venv/bin/python -m benchmarks.offline_fit --train RUN_A --test RUN_B RUN_C
    .venv/bin/python -m benchmarks.offline_fit --train RUN_A --test RUN_B --stem-filters 32 \\
        --dilated-filters 32 --bottleneck-filters 16 --dense-units 256
    .venv/bin/python -m benchmarks.offline_fit --train RUN_A --test RUN_B --width 160  # runs at 320

The runs must share the observation and the actions (one scenario, one env config), and
should come from different training seeds: runs of one seed start their episodes on the same
seeds, so their teacher rounds are the same episodes.
"""

from __future__ import annotations

import dataclasses
import time
from pathlib import Path
from typing import Literal

import numpy as np
import tyro

from benchmarks.dodging import margin_bands

DECISIVE_MARGIN = 0.05
"""A state is decisive where the teacher's best action beats the second by this much."""
MARGIN_BANDS = margin_bands(DECISIVE_MARGIN)
"""The teacher's margin bands reported, those of ``benchmarks.dodging``."""


@dataclasses.dataclass(frozen=True)
class BenchArgs:
    """Train a student variant on some runs' datasets; test it on other runs' student states."""

    train: tuple[Path, ...]
    """Finished training runs whose datasets the student learns from (pooled)."""
    test: tuple[Path, ...]
    """Finished training runs whose students' states it is tested on (each reported apart)."""
    steps: int = 6000
    """Optimizer steps (a 100k-frame take_cover run takes about 7,000 over its rounds)."""
    batch_size: int = 64
    seed: int = 0
    stem_filters: int | None = None
    """The student's sizes (default: the first ``--train`` run's)."""
    dilated_filters: int | None = None
    bottleneck_filters: int | None = None
    dense_units: int | None = None
    activation: Literal["relu", "leaky_relu"] | None = None
    """The student's activation (default: the run's; see ``doomgps train``)."""
    label_weighting: Literal["uniform", "spread"] | None = None
    """How each row's policy loss is weighted (default: the run's; see ``doomgps train``)."""
    weight_floor: float | None = None
    random_shift: int | None = None
    """Pixels of random image shift in training (default: the run's)."""
    weight_decay: float = 0.0
    """Decoupled weight decay of Adam (AdamW's, per unit of learning rate; 0: none, as in
    ``doomgps train``): a regulariser against memorising the training rows."""
    width: int | None = None
    """Resize every observation, trained on and tested, to this many columns (OpenCV's area
    interpolation, the height kept) before the student sees it: an input resolution screened
    on the very states and labels of the runs (default: the runs' own width)."""
    report_every: int = 0
    """Every this many steps, print the decisive agreement on each tested set so far (a fit
    curve that tells a student still learning from one that has stopped); 0: only at the end."""


def load_rows(run_dir: Path) -> dict[str, np.ndarray]:
    """Every readable row of a run's dataset, opened read-only (a live run's folder is left
    alone; a corrupt shard is reported and skipped, as training does)."""
    from agents.dataset import ShardedDataset
    from core.errors import UserError

    dataset = ShardedDataset(run_dir / "dataset", read_only=True)
    if not dataset.shards():
        raise UserError(f"{run_dir}: no dataset shards (not a training run?)")
    return dataset.load()


def resize_observations(observations: np.ndarray, width: int) -> np.ndarray:
    """Stacked uint8 ``(N, H, W, C)`` frames resized to ``width`` columns, as the env resizes
    its render (``cv2.INTER_AREA``): halving the width averages each pair of columns.

    Raises:
        UserError: ``width`` below 1.
    """
    import cv2

    from core.errors import UserError

    if width < 1:
        raise UserError(f"--width must be >= 1, got {width}")
    n, height, _, channels = observations.shape
    resized = np.empty((n, height, width, channels), np.uint8)
    for i, frames in enumerate(observations):
        resized[i] = cv2.resize(frames, (width, height), interpolation=cv2.INTER_AREA).reshape(
            height, width, channels
        )
    return resized


def margins(scores: np.ndarray) -> np.ndarray:
    """The teacher's margin per row: its best action's score less the second best's."""
    ranked = np.sort(scores, axis=-1)
    return ranked[:, -1] - ranked[:, -2]


def agreement_by_margin(best: np.ndarray, taken: np.ndarray, margin: np.ndarray) -> list[float]:
    """How often ``taken`` is the teacher's ``best`` per :data:`MARGIN_BANDS`, then over all
    decisive rows (NaN for an empty band)."""
    agree = best == taken
    masks = [(margin >= lo) & (margin < hi) for lo, hi in MARGIN_BANDS]
    masks.append(margin >= DECISIVE_MARGIN)
    return [float(agree[m].mean()) if m.any() else float("nan") for m in masks]


def variant_config(args: BenchArgs):
    """The first ``--train`` run's config with the flags' changes."""
    from agents.config import resolve_config
    from agents.student import SIZE_FIELDS
    from core.errors import UserError
    from scripts.train import load_run_config

    config = load_run_config(args.train[0], None)
    if config.student.recurrent_units:
        raise UserError("benchmarks.offline_fit screens feed-forward students only")
    if not args.weight_decay >= 0.0:
        raise UserError(f"--weight-decay must be >= 0, got {args.weight_decay}")
    if args.width is not None and args.width < 1:
        raise UserError(f"--width must be >= 1, got {args.width}")
    student = dataclasses.replace(
        config.student,
        **{
            name: getattr(args, name)
            for name in (*SIZE_FIELDS, "activation")
            if getattr(args, name) is not None
        },
    )
    training = ("label_weighting", "weight_floor", "random_shift")
    changes = {name: getattr(args, name) for name in training if getattr(args, name) is not None}
    if args.width is not None:
        changes["env"] = dataclasses.replace(config.env, width=args.width)
    return resolve_config(dataclasses.replace(config, student=student, **changes))


def main(args: BenchArgs) -> str:
    """Trains the variant, tests it, and returns the markdown table it printed."""
    import keras
    import tensorflow as tf

    from agents.gps import dormancy_scalars, imitation_step, training_columns
    from agents.learner import mirror_permutation
    from agents.student import build_student, policy_logits
    from agents.student_actor import symmetric_mirror
    from core.data import ArrayStream
    from core.seeding import seed_everything
    from envs.registry import get_spec

    config = variant_config(args)
    spec = get_spec(config.scenario)
    seed_everything(args.seed)
    rows = [load_rows(run) for run in args.train]
    pooled = {key: np.concatenate([r.pop(key) for r in rows]) for key in list(rows[0])}
    if args.width is not None:
        pooled["observation"] = resize_observations(pooled["observation"], args.width)
    columns = training_columns(config, pooled)
    model = build_student(config.env.observation_shape, len(spec.actions), config.student)
    mirror = mirror_permutation(spec.action_names) if config.mirror else None
    optimizer = keras.optimizers.Adam(config.learning_rate, weight_decay=args.weight_decay or None)
    step = tf.function(imitation_step(config, model, optimizer, mirror))
    symmetric = symmetric_mirror(spec, True, False)
    act = tf.function(lambda obs, prev, mirror: policy_logits(model, obs, prev, mirror))

    def actions(data: dict[str, np.ndarray], mirror: list[int] | None) -> np.ndarray:
        chunks = []
        for start in range(0, len(data["scores"]), 512):
            part = slice(start, start + 512)
            prev = data["previous_actions"][part] if "previous_actions" in data else None
            chunks.append(act(data["observation"][part], prev, mirror).numpy().argmax(-1))
        return np.concatenate(chunks)

    sample = np.random.default_rng(args.seed).permutation(len(pooled["scores"]))[:5000]
    tested = [("training rows (5,000)", {k: v[sample] for k, v in pooled.items()})]
    for run in args.test:
        data = load_rows(run)
        own = ~data["teacher"].astype(bool) & (data["iteration"] >= 1)
        data = {key: value[own] for key, value in data.items()}
        if args.width is not None:
            data["observation"] = resize_observations(data["observation"], args.width)
        tested.append((run.name, data))
    teacher = [(data["scores"].argmax(-1), margins(data["scores"])) for _, data in tested]

    def decisive_shares() -> str:
        shares = [
            agreement_by_margin(best, actions(data, None), margin)[-1]
            for (_, data), (best, margin) in zip(tested, teacher, strict=True)
        ]
        return " / ".join(f"{100 * share:.1f}%" for share in shares)

    def dormant() -> str:  # the share of each layer's units positive on none of 512 rows
        fractions = dormancy_scalars(model, columns, seed=args.seed)
        return ", ".join(f"{tag.split('/')[-1]} {v:.0%}" for tag, v in fractions.items())

    seconds = 0.0  # training time only, the reports left out
    stream = ArrayStream(columns, args.batch_size, seed=args.seed)
    for done in range(1, args.steps + 1):
        started = time.perf_counter()
        step(next(stream))
        seconds += time.perf_counter() - started
        if args.report_every and done % args.report_every == 0 and done < args.steps:
            print(
                f"step {done:,} ({seconds:.0f} s): decisive agreement, plain, "
                f"training / tested: {decisive_shares()}; dormant: {dormant()}",
                flush=True,
            )
    bands = [f"{lo:g}-{hi:g}" for lo, hi in MARGIN_BANDS]
    lines = [
        f"{len(columns['observation'])} rows from {len(args.train)} run(s), {args.steps} steps "
        f"of {args.batch_size} in {seconds:.0f} s; {model.count_params():,} parameters",
        f"dormant units: {dormant()}",
        "",
        "| states | policy | rows | " + " | ".join(bands) + " | decisive |",
        "|---|---|---:|" + "---:|" * (len(bands) + 1),
    ]
    for (name, data), (best, margin) in zip(tested, teacher, strict=True):
        for policy, mirrored in (("plain", None), ("symmetric", symmetric)):
            if policy == "symmetric" and mirrored is None:
                continue
            shares = agreement_by_margin(best, actions(data, mirrored), margin)
            cells = " | ".join(f"{100 * s:.1f}%" for s in shares)
            lines.append(f"| {name} | {policy} | {len(best)} | {cells} |")
    text = "\n".join(lines)
    print(text, flush=True)
    return text


if __name__ == "__main__":
    main(tyro.cli(BenchArgs))
