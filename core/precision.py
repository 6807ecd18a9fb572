"""Mixed precision as an option: one switch for the Keras dtype policy and loss scaling.

``auto`` (:func:`auto_precision`) picks what the hardware computes natively: bfloat16 on GPUs of
compute capability 8.0 or more and on CPUs with bfloat16 instructions, float16 on the GPUs of
compute capability 7.x (their tensor cores have no bfloat16), float32 elsewhere.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterable, Iterator
from typing import Literal

import keras
import tensorflow as tf

from core.hardware import cpu_flags, gpu_details

Precision = Literal["float32", "mixed_float16", "mixed_bfloat16"]
PrecisionChoice = Literal["auto", "float32", "mixed_float16", "mixed_bfloat16"]

BFLOAT16_CPU_FLAGS = ("amx_bf16", "avx512_bf16")
"""The x86 CPU flags (as Linux names them) of instructions that compute in bfloat16; oneDNN,
TensorFlow's CPU backend, uses them for ``mixed_bfloat16``."""


def gpu_compute_capabilities() -> list[tuple[int, int]]:
    """The compute capability of each visible GPU (those TensorFlow does not report are left
    out)."""
    return [gpu["compute_capability"] for gpu in gpu_details() if gpu.get("compute_capability")]


def auto_precision(
    capabilities: Iterable[tuple[int, int]] | None = None,
    flags: Iterable[str] | None = None,
    *,
    has_gpu: bool | None = None,
) -> tuple[Precision, str]:
    """The precision ``auto`` means on this machine, and why.

    Args:
        capabilities: the GPUs' compute capabilities (default: :func:`gpu_compute_capabilities`).
        flags: the CPU's feature flags (default: :func:`cpu_flags`).
        has_gpu: whether TensorFlow sees a GPU (default: whether ``capabilities`` is non-empty or
            TensorFlow lists one); a GPU of unknown capability gets ``float32``.

    Returns:
        ``(precision, reason)``: with GPUs the slowest one decides (the network runs on them);
        without, the CPU's bfloat16 instructions.
    """
    capabilities = list(gpu_compute_capabilities() if capabilities is None else capabilities)
    if has_gpu is None:
        has_gpu = bool(capabilities) or bool(tf.config.list_physical_devices("GPU"))
    if has_gpu:
        if not capabilities:
            return "float32", "a GPU of unknown compute capability"
        major, minor = min(capabilities)
        if major >= 8:
            return "mixed_bfloat16", f"GPU compute capability {major}.{minor}: bfloat16 natively"
        if major == 7:
            return "mixed_float16", f"GPU compute capability {major}.{minor}: float16 tensor cores"
        return "float32", f"GPU compute capability {major}.{minor}: no fast 16-bit arithmetic"
    flags = frozenset(cpu_flags() if flags is None else flags)
    native = [flag for flag in BFLOAT16_CPU_FLAGS if flag in flags]
    if native:
        return "mixed_bfloat16", f"CPU with bfloat16 instructions ({', '.join(native)})"
    return "float32", "CPU without bfloat16 instructions"


def resolve_precision(choice: PrecisionChoice | Precision) -> Precision:
    """``choice`` itself, or for ``auto`` what :func:`auto_precision` picks here."""
    return auto_precision()[0] if choice == "auto" else choice


def set_precision(precision: Precision = "float32") -> None:
    """Sets the global Keras dtype policy; call before building models.

    ``mixed_float16`` computes in float16 with float32 variables (use :func:`wrap_optimizer`);
    ``mixed_bfloat16`` needs no loss scaling. ``float32`` is the default and works everywhere.
    """
    keras.mixed_precision.set_dtype_policy(precision)


@contextlib.contextmanager
def precision_scope(precision: Precision) -> Iterator[None]:
    """Builds the models made inside it with ``precision``'s dtype policy, then restores the
    global policy: a layer keeps the policy it was built with, so a model's numerics follow its
    own config wherever it is built (a run, ``doomgps eval``, a benchmark)."""
    previous = keras.mixed_precision.dtype_policy()
    set_precision(precision)
    try:
        yield
    finally:
        keras.mixed_precision.set_dtype_policy(previous)


def wrap_optimizer(
    optimizer: keras.optimizers.Optimizer, precision: Precision = "float32"
) -> keras.optimizers.Optimizer:
    """Adds dynamic loss scaling for ``mixed_float16``; other precisions get the optimizer back."""
    if precision == "mixed_float16" and not isinstance(
        optimizer, keras.optimizers.LossScaleOptimizer
    ):
        return keras.optimizers.LossScaleOptimizer(optimizer)
    return optimizer


def scale_loss(optimizer: keras.optimizers.Optimizer, loss: tf.Tensor) -> tf.Tensor:
    """The loss to differentiate: scaled when the optimizer does loss scaling.

    A :class:`keras.optimizers.LossScaleOptimizer` unscales the gradients in ``apply_gradients``.
    """
    if isinstance(optimizer, keras.optimizers.LossScaleOptimizer):
        return optimizer.scale_loss(loss)
    return loss
