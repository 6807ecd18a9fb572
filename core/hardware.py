"""Where a run ran: the CPU model, the cores this process may use, the instruction sets that
decide TensorFlow's CPU kernels, the GPUs and TensorFlow's version.

oneDNN, TensorFlow's CPU backend, picks its kernels by instruction set, and a greedy student's
episode turns on a float rounding, so a run repeats to the last digit on the same kind of CPU
only (``docs/agents.md``). Training runs record :func:`describe_hardware` in their state and
summary, and benchmarks print it, so that every number says where it came from.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

KERNEL_CPU_FLAGS = ("avx2", "avx512f", "avx512_bf16", "amx_bf16")
"""The x86 CPU flags (as Linux names them) that change which kernels oneDNN runs: 256- and
512-bit vectors, bfloat16 dot products and Intel's AMX tiles."""


def _cpuinfo_lines(cpuinfo: str | Path) -> list[str]:
    try:
        return Path(cpuinfo).read_text().splitlines()
    except OSError:
        return []


def cpu_flags(cpuinfo: str | Path = "/proc/cpuinfo") -> frozenset[str]:
    """The CPU's feature flags as Linux lists them (empty where there is no ``/proc/cpuinfo``)."""
    for line in _cpuinfo_lines(cpuinfo):
        if line.startswith("flags"):
            return frozenset(line.partition(":")[2].split())
    return frozenset()


def cpu_model(cpuinfo: str | Path = "/proc/cpuinfo") -> str:
    """The CPU's model name as Linux gives it (``platform.processor()`` where it gives none)."""
    for line in _cpuinfo_lines(cpuinfo):
        if line.startswith("model name"):
            return line.partition(":")[2].strip()
    import platform

    return platform.processor() or platform.machine() or "unknown CPU"


def usable_cores() -> int:
    """The cores this process may run on (its affinity where the OS has one)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # macOS, Windows
        return os.cpu_count() or 1


def gpu_details() -> list[dict[str, Any]]:
    """What TensorFlow reports of each GPU it sees, one dict per GPU in its order: at least
    ``name`` (the device name, or TensorFlow's ``/physical_device:GPU:i`` where it reports none)
    and, on CUDA devices, ``compute_capability`` as ``(major, minor)``."""
    import tensorflow as tf

    gpus = []
    for gpu in tf.config.list_physical_devices("GPU"):
        details = dict(tf.config.experimental.get_device_details(gpu))
        details["name"] = str(details.pop("device_name", gpu.name))
        capability = details.get("compute_capability")
        if capability:
            details["compute_capability"] = (int(capability[0]), int(capability[1]))
        gpus.append(details)
    return gpus


def gpu_names() -> list[str]:
    """The name of each GPU TensorFlow sees (:func:`gpu_details`' ``name``)."""
    return [gpu["name"] for gpu in gpu_details()]


def describe_hardware(cpuinfo: str | Path = "/proc/cpuinfo") -> dict[str, Any]:
    """The machine as a JSON-ready dict: ``cpu``, ``cores``, ``cpu_flags`` (those of
    :data:`KERNEL_CPU_FLAGS` it has), ``gpus`` and ``tensorflow``."""
    import tensorflow as tf

    flags = cpu_flags(cpuinfo)
    return {
        "cpu": cpu_model(cpuinfo),
        "cores": usable_cores(),
        "cpu_flags": [flag for flag in KERNEL_CPU_FLAGS if flag in flags],
        "gpus": gpu_names(),
        "tensorflow": tf.__version__,
    }


def hardware_line(hardware: dict[str, Any]) -> str:
    """One line for a log: ``AMD EPYC, 2 cores (avx2, avx512f, avx512_bf16), no GPU``."""
    flags = f" ({', '.join(hardware['cpu_flags'])})" if hardware["cpu_flags"] else ""
    gpus = ", ".join(hardware["gpus"]) or "no GPU"
    return f"{hardware['cpu']}, {hardware['cores']} cores{flags}, {gpus}"


def machines_line(machines: list[dict[str, Any]]) -> str:
    """``on <machine>``, or ``on <first>, then on <second>`` for a run resumed elsewhere."""
    return ", then ".join(f"on {hardware_line(machine)}" for machine in machines)
