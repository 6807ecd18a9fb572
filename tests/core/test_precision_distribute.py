"""Mixed precision and the distribution strategy work unchanged on CPU; ``auto`` picks the
precision the hardware computes natively."""

from __future__ import annotations

import keras
import numpy as np
import pytest

from core.data import ArrayStream
from core.distribute import get_strategy, replicated
from core.precision import (
    auto_precision,
    resolve_precision,
    set_precision,
    wrap_optimizer,
)
from core.trainer import Learner, TrainerConfig, build_optimizer, supervised_step


@pytest.fixture
def mixed_float16():
    set_precision("mixed_float16")
    yield "mixed_float16"
    set_precision("float32")


def test_cpu_gets_the_default_single_replica_strategy():
    strategy = get_strategy("auto")
    assert strategy.num_replicas_in_sync == 1
    step = replicated(lambda batch: {"loss": batch * 2.0}, strategy)
    assert float(step(np.float32(1.5))["loss"]) == 3.0


def test_mixed_float16_with_loss_scaling_learns_a_separable_problem(mixed_float16):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(512, 8)).astype(np.float32)
    y = (x[:, 0] > 0).astype(np.int32)
    model = keras.Sequential(
        [keras.Input((8,)), keras.layers.Dense(16, activation="relu"), keras.layers.Dense(2)]
    )
    assert model.layers[0].compute_dtype == "float16"
    optimizer = wrap_optimizer(keras.optimizers.SGD(0.2), mixed_float16)
    assert isinstance(optimizer, keras.optimizers.LossScaleOptimizer)
    build_optimizer(optimizer, model)
    learner = Learner(
        supervised_step(model, optimizer),
        ArrayStream({"x": x, "y": y}, 64),
        config=TrainerConfig(steps=150, eval_every=0),
        show_progress=False,
    )
    metrics = learner.run()
    assert model.layers[0].kernel.dtype == "float32"
    assert metrics["accuracy"] > 0.9


@pytest.mark.parametrize(
    ("capabilities", "expected"),
    [
        ([(9, 0)], "mixed_bfloat16"),  # Hopper
        ([(8, 0), (8, 6)], "mixed_bfloat16"),  # Ampere
        ([(7, 5)], "mixed_float16"),  # Turing: float16 tensor cores, no bfloat16
        ([(8, 0), (7, 0)], "mixed_float16"),  # the slowest GPU decides
        ([(6, 1)], "float32"),  # Pascal
    ],
)
def test_auto_precision_follows_the_gpus_compute_capability(capabilities, expected):
    precision, reason = auto_precision(capabilities, flags={"amx_bf16"})
    assert precision == expected
    assert f"{min(capabilities)[0]}.{min(capabilities)[1]}" in reason


def test_auto_precision_uses_bfloat16_only_on_cpus_with_bfloat16_instructions():
    assert auto_precision([], {"avx2", "avx512_bf16"}, has_gpu=False)[0] == "mixed_bfloat16"
    assert auto_precision([], {"amx_tile", "amx_bf16"}, has_gpu=False)[0] == "mixed_bfloat16"
    assert auto_precision([], {"avx2", "avx512f"}, has_gpu=False) == (
        "float32",
        "CPU without bfloat16 instructions",
    )
    assert auto_precision([], {"amx_bf16"}, has_gpu=True)[0] == "float32"  # capability unknown


def test_resolve_precision_passes_explicit_choices_through_and_resolves_auto():
    assert resolve_precision("mixed_float16") == "mixed_float16"
    assert resolve_precision("auto") == auto_precision()[0]
    assert resolve_precision("auto") in ("float32", "mixed_float16", "mixed_bfloat16")
