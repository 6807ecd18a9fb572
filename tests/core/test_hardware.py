"""The machine a run records: CPU model, cores, the flags that pick oneDNN's kernels, GPUs."""

from __future__ import annotations

import json

import tensorflow as tf

from core.hardware import cpu_flags, cpu_model, describe_hardware, gpu_names, hardware_line
from core.precision import gpu_compute_capabilities

CPUINFO = (
    "processor\t: 0\nvendor_id\t: AuthenticAMD\nmodel name\t: AMD EPYC 9R14\n"
    "flags\t\t: fpu avx2 avx512f avx512_bf16 sse4_2\nbugs\t\t: spectre\n"
)


def test_cpu_flags_reads_the_flags_line_and_tolerates_a_missing_file(tmp_path):
    cpuinfo = tmp_path / "cpuinfo"
    cpuinfo.write_text("processor\t: 0\nflags\t\t: fpu avx2 amx_bf16\nbugs\t\t: spectre\n")
    assert cpu_flags(cpuinfo) == {"fpu", "avx2", "amx_bf16"}
    assert cpu_flags(tmp_path / "missing") == frozenset()


def test_the_cpu_model_comes_from_cpuinfo_and_falls_back_to_the_platform(tmp_path):
    cpuinfo = tmp_path / "cpuinfo"
    cpuinfo.write_text(CPUINFO)
    assert cpu_model(cpuinfo) == "AMD EPYC 9R14"
    assert cpu_model(tmp_path / "missing")  # platform.processor() or the machine's name


def test_a_machine_is_described_by_its_kernel_flags_only_and_fits_in_json(tmp_path):
    cpuinfo = tmp_path / "cpuinfo"
    cpuinfo.write_text(CPUINFO)
    hardware = describe_hardware(cpuinfo)
    assert hardware["cpu"] == "AMD EPYC 9R14"
    assert hardware["cpu_flags"] == ["avx2", "avx512f", "avx512_bf16"]  # no fpu, no sse4_2
    assert hardware["cores"] >= 1 and hardware["tensorflow"] == tf.__version__
    assert hardware["gpus"] == [] or all(isinstance(name, str) for name in hardware["gpus"])
    assert json.loads(json.dumps(hardware)) == hardware


def test_the_log_line_names_the_cpu_its_cores_flags_and_gpus():
    hardware = {"cpu": "AMD EPYC", "cores": 2, "cpu_flags": ["avx2", "avx512f"], "gpus": []}
    assert hardware_line(hardware) == "AMD EPYC, 2 cores (avx2, avx512f), no GPU"
    hardware.update(cpu_flags=[], gpus=["NVIDIA H200"])
    assert hardware_line(hardware) == "AMD EPYC, 2 cores, NVIDIA H200"


def test_each_gpu_s_name_and_compute_capability_come_from_one_report(monkeypatch):
    class FakeGpu:
        def __init__(self, name):
            self.name = name

    reports = {
        "/physical_device:GPU:0": {"device_name": "NVIDIA H200", "compute_capability": (9, 0)},
        "/physical_device:GPU:1": {},  # a GPU TensorFlow knows nothing about
    }
    monkeypatch.setattr(
        tf.config, "list_physical_devices", lambda kind=None: [FakeGpu(n) for n in reports]
    )
    monkeypatch.setattr(tf.config.experimental, "get_device_details", lambda d: reports[d.name])
    assert gpu_names() == ["NVIDIA H200", "/physical_device:GPU:1"]
    assert gpu_compute_capabilities() == [(9, 0)]
    assert describe_hardware()["gpus"] == ["NVIDIA H200", "/physical_device:GPU:1"]
