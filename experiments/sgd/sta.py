"""Spike-triggered average (STA), vectorised, with a synthetic neuron whose filter is known.

The blog's (and the course's) convention: the stimulus is sampled at 500 Hz (2 ms per sample) and
``rho`` is a binary spike train of the same length. For every spike at index ``i >= window``
(``window = 150``), the window ``stim[i - 149 .. i]`` (150 samples = 300 ms, ending at the spike)
is collected; the STA is the mean of these windows, with a +/-1 standard deviation band, on the
time axis ``-298 .. 0`` ms. Spike counts above 1 in a bin weight that bin's window by the count.

No per-spike Python loop: spike windows are gathered with one fancy index per chunk of spikes.
"""

from __future__ import annotations

import dataclasses
import pickle
import time
import zipfile
from pathlib import Path

import numpy as np

from core.errors import UserError

WINDOW = 150
"""Samples per STA window (300 ms at 500 Hz)."""
DT_MS = 2.0
"""Sampling period of the blog's stimulus in milliseconds (500 Hz)."""


@dataclasses.dataclass(frozen=True)
class Sta:
    """A spike-triggered average.

    Attributes:
        mean: the STA, shape ``(window,)``; the last entry is the stimulus at the spike.
        std: the standard deviation of the windows across spikes (the +/-1 band).
        time_ms: the time axis, ``-(window - 1) * dt_ms .. 0``.
        n_spikes: how many spikes (counts) went into the average.
    """

    mean: np.ndarray
    std: np.ndarray
    time_ms: np.ndarray
    n_spikes: int


def _first_bad(mask: np.ndarray) -> int:
    return int(np.flatnonzero(mask)[0])


def validate_recording(
    stim: np.ndarray, rho: np.ndarray, window: int = WINDOW, source: str = "data"
) -> tuple[np.ndarray, np.ndarray]:
    """Checks a stimulus / spike-train pair and returns them as float64 / int64 1-D arrays.

    Args:
        stim: the stimulus, one sample per bin.
        rho: the spike train (0/1, or non-negative integer counts), same length.
        window: STA window length in samples.
        source: a name for error messages (usually the file path).

    Raises:
        UserError: one line, for wrong shapes, mismatched lengths, NaN/inf, negative or fractional
            spike counts, a recording shorter than the window, or no spike at index ``>= window``.
    """
    try:
        stim = np.asarray(stim, dtype=np.float64)
        rho_f = np.asarray(rho, dtype=np.float64)
    except (TypeError, ValueError) as error:
        raise UserError(f"{source}: stim and rho must be numeric arrays ({error})") from None
    stim, rho_f = np.squeeze(stim), np.squeeze(rho_f)
    for name, array in (("stim", stim), ("rho", rho_f)):
        if array.ndim != 1:
            raise UserError(f"{source}: {name} must be 1-D, got shape {array.shape}")
    if stim.shape != rho_f.shape:
        raise UserError(
            f"{source}: stim has {stim.size} samples but rho has {rho_f.size}; "
            "they must be the same length"
        )
    for name, array in (("stim", stim), ("rho", rho_f)):
        bad = ~np.isfinite(array)
        if bad.any():
            raise UserError(
                f"{source}: {name} has {int(bad.sum())} NaN/inf values "
                f"(first at index {_first_bad(bad)})"
            )
    bad = (rho_f < 0) | (rho_f != np.round(rho_f))
    if bad.any():
        raise UserError(
            f"{source}: rho must hold non-negative integer spike counts; "
            f"index {_first_bad(bad)} holds {rho_f[_first_bad(bad)]!r}"
        )
    if stim.size <= window:
        raise UserError(
            f"{source}: the recording has {stim.size} samples; the STA needs more "
            f"than the {window}-sample window"
        )
    rho_i = rho_f.astype(np.int64)
    if not rho_i[window:].any():
        raise UserError(
            f"{source}: no spikes at index >= {window} (rho has {int(rho_i.sum())} "
            "spikes in total); the STA needs at least one"
        )
    return stim, rho_i


def spike_triggered_average(
    stim: np.ndarray, rho: np.ndarray, window: int = WINDOW, dt_ms: float = DT_MS, chunk: int = 1024
) -> Sta:
    """Computes the STA and its +/-1 standard deviation band, vectorised.

    Args:
        stim: stimulus samples, shape ``(T,)``.
        rho: spike train (0/1 or counts), shape ``(T,)``.
        window: samples per window; spikes at index ``< window`` are skipped (blog convention).
        dt_ms: sampling period, for the time axis.
        chunk: spikes gathered per fancy-index call; small chunks stay in cache (1024 is fastest).

    Returns:
        The :class:`Sta`.

    Raises:
        UserError: for invalid input (see :func:`validate_recording`).
    """
    stim, rho = validate_recording(stim, rho, window)
    spikes = np.flatnonzero(rho[window:]) + window
    weights = rho[spikes].astype(np.float64)
    offsets = np.arange(-window + 1, 1)
    # Shift by the stimulus mean so the one-pass sum of squares does not cancel catastrophically.
    shift = float(stim.mean())
    centred = stim - shift
    total = np.zeros(window)
    total_sq = np.zeros(window)
    for start in range(0, spikes.size, chunk):
        windows = centred[spikes[start : start + chunk, None] + offsets]
        w = weights[start : start + chunk]
        total += w @ windows
        total_sq += w @ (windows * windows)
    n = float(weights.sum())
    mean = total / n
    var = np.maximum(total_sq / n - mean * mean, 0.0)
    time_ms = offsets.astype(np.float64) * dt_ms
    return Sta(mean=mean + shift, std=np.sqrt(var), time_ms=time_ms, n_spikes=int(n))


def spike_triggered_average_loop(
    stim: np.ndarray, rho: np.ndarray, window: int = WINDOW
) -> np.ndarray:
    """The plain per-spike loop (the course's reference code), kept only for benchmarks/tests."""
    stim, rho = validate_recording(stim, rho, window)
    total = np.zeros(window)
    n = 0
    for i in np.flatnonzero(rho[window:]) + window:
        total += rho[i] * stim[i - window + 1 : i + 1]
        n += int(rho[i])
    return total / n


def default_filter(window: int = WINDOW, dt_ms: float = DT_MS) -> np.ndarray:
    """A biphasic temporal filter ``f(tau)``, ``tau = 0 .. (window-1) * dt_ms`` ms, unit norm.

    A difference of two alpha functions (a fast positive lobe, a slow negative one), as in
    visual neurons such as the fly H1 cell. ``f[0]`` weights the current stimulus sample.
    """
    tau = np.arange(window) * dt_ms
    fast, slow = 20.0, 60.0
    f = (tau / fast) * np.exp(-tau / fast) - 0.35 * (tau / slow) * np.exp(-tau / slow)
    return f / np.linalg.norm(f)


@dataclasses.dataclass(frozen=True)
class SyntheticNeuron:
    """A linear-nonlinear-Bernoulli neuron driven by Gaussian white noise.

    The drive is ``g[i] = sum_tau f[tau] * stim[i - tau]``, standardised; the spike probability
    per bin is ``rate_max_hz * dt * sigmoid(gain * (g - threshold))``. For Gaussian white noise
    the STA is proportional to the filter reversed in time (Bussgang), so it can be checked.

    Attributes:
        filter: ``f[tau]``, tau in samples; defaults to :func:`default_filter`.
        rate_max_hz: the peak firing rate.
        gain: slope of the sigmoid nonlinearity.
        threshold: drive (in standard deviations) at half the peak rate.
        dt_ms: sampling period.
    """

    filter: np.ndarray = dataclasses.field(default_factory=default_filter)
    rate_max_hz: float = 200.0
    gain: float = 2.0
    threshold: float = 1.0
    dt_ms: float = DT_MS

    def true_sta(self) -> np.ndarray:
        """The filter on the STA's time axis (reversed: the last entry is ``f[0]``), unit norm."""
        f = self.filter[::-1]
        return f / np.linalg.norm(f)

    def simulate(self, n_samples: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        """Draws ``(stim, rho)``: white-noise stimulus, 0/1 spike train, both ``(n_samples,)``."""
        stim = rng.standard_normal(n_samples)
        drive = np.convolve(stim, self.filter)[:n_samples]
        drive = (drive - drive.mean()) / drive.std()
        rate = self.rate_max_hz / (1.0 + np.exp(-self.gain * (drive - self.threshold)))
        p = np.minimum(rate * self.dt_ms / 1000.0, 1.0)
        rho = (rng.random(n_samples) < p).astype(np.int64)
        return stim, rho


def correlation(a: np.ndarray, b: np.ndarray) -> float:
    """Pearson correlation of two equal-length vectors."""
    a = a - a.mean()
    b = b - b.mean()
    return float(a @ b / (np.linalg.norm(a) * np.linalg.norm(b)))


def _refuse_pickle(path: Path) -> UserError:
    return UserError(
        f"{path}: refusing to unpickle (a pickle can run arbitrary code); pass "
        "--trust-pickle if you trust its source, or re-save it as .npz with keys "
        "stim and rho"
    )


def load_recording(path: str | Path, trust_pickle: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """Loads ``(stim, rho)`` from a ``.npz`` (keys ``stim``, ``rho``) or, if trusted, a pickle.

    ``.npz`` files are read with ``allow_pickle=False``. A pickle (such as the course's
    ``data.pickle``, a dict with ``stim`` and ``rho``) is opened only with ``trust_pickle=True``.

    Args:
        path: the file.
        trust_pickle: allow unpickling (runs code from the file: only for trusted files).

    Returns:
        ``(stim, rho)`` validated by :func:`validate_recording`.

    Raises:
        UserError: one line, for a missing or unreadable file, a refused pickle, missing keys or
            invalid arrays.
    """
    path = Path(path)
    try:
        head = path.read_bytes()[:4] if path.is_file() else None
    except OSError as error:
        raise UserError(f"{path}: cannot read ({error.strerror})") from None
    if head is None:
        raise UserError(f"{path}: no such file")
    is_zip = head.startswith(b"PK\x03\x04") or head.startswith(b"PK\x05\x06")
    looks_pickled = path.suffix.lower() in (".pickle", ".pkl") or head[:1] == b"\x80"
    if is_zip:
        try:
            with np.load(path, allow_pickle=False) as archive:
                keys = list(archive.keys())
                if "stim" not in keys or "rho" not in keys:
                    raise UserError(f"{path}: has keys {keys}; expected 'stim' and 'rho'")
                stim, rho = archive["stim"], archive["rho"]
        except ValueError as error:  # object arrays need pickle
            if "pickle" in str(error):
                raise _refuse_pickle(path) from None
            raise UserError(f"{path}: unreadable .npz ({error})") from None
        except (OSError, zipfile.BadZipFile, EOFError) as error:
            raise UserError(f"{path}: not a valid .npz archive ({error})") from None
    elif looks_pickled:
        if not trust_pickle:
            raise _refuse_pickle(path)
        try:
            with path.open("rb") as handle:
                data = pickle.load(handle, encoding="latin1")  # the course pickle is Python 2
        except Exception as error:  # any unpickling failure is a bad file, not a bug here
            raise UserError(f"{path}: cannot unpickle ({type(error).__name__}: {error})") from None
        if not isinstance(data, dict) or "stim" not in data or "rho" not in data:
            raise UserError(f"{path}: the pickle must hold a dict with keys 'stim' and 'rho'")
        stim, rho = data["stim"], data["rho"]
    else:
        raise UserError(f"{path}: not a .npz archive (expected keys 'stim' and 'rho') or a pickle")
    return validate_recording(stim, rho, source=str(path))


def time_sta(stim: np.ndarray, rho: np.ndarray, repeats: int = 3) -> tuple[Sta, float]:
    """Computes the STA ``repeats`` times and returns it with the best wall time in seconds."""
    best = float("inf")
    result = None
    for _ in range(max(1, repeats)):
        start = time.perf_counter()
        result = spike_triggered_average(stim, rho)
        best = min(best, time.perf_counter() - start)
    assert result is not None
    return result, best


@dataclasses.dataclass(frozen=True)
class StaConfig:
    """``doomgps sgd sta``: the spike-triggered average of a recording or of a synthetic neuron."""

    data: Path | None = None
    """A ``.npz`` with 1-D arrays ``stim`` and ``rho`` (500 Hz); default: a synthetic neuron."""
    trust_pickle: bool = False
    """Allow loading a pickle (e.g. the course's data.pickle); unpickling can run arbitrary code."""
    duration_s: float = 1200.0
    """Synthetic neuron only: recording length in seconds (1200 s gives about 54k spikes)."""
    seed: int = 0
    """Seed for the synthetic stimulus and spikes."""
    runs_root: Path = Path("runs")
    """Folder that holds run directories."""
    name: str = "sta"
    """Run label used in the run directory name."""


def _plot(sta: Sta, true: np.ndarray | None, title: str):  # -> matplotlib Figure
    from matplotlib.figure import Figure

    figure = Figure(figsize=(10, 4), layout="constrained")
    left, right = figure.subplots(1, 2)
    left.fill_between(
        sta.time_ms, sta.mean - sta.std, sta.mean + sta.std, alpha=0.25, label="+/-1 std"
    )
    left.plot(sta.time_ms, sta.mean, lw=2, label="STA")
    left.set(xlabel="time before spike (ms)", ylabel="stimulus", title=title)
    left.legend()
    right.plot(sta.time_ms, sta.mean, lw=2, label="STA")
    if true is not None:
        scale = float(sta.mean @ true / (true @ true))  # least-squares scale of the true filter
        right.plot(sta.time_ms, scale * true, "--", label="true filter (scaled)")
    right.axhline(0.0, color="grey", lw=0.5)
    right.set(xlabel="time before spike (ms)", title="STA (zoom)")
    right.legend()
    return figure


def run_sta(config: StaConfig) -> Path:
    """Computes the STA, writes ``sta.png``, ``sta.npz``, the results table and TensorBoard logs.

    TensorBoard's x-axis is the STA sample index for ``eval/sta`` (0 = -298 ms).

    Returns:
        The run directory.
    """
    from core.seeding import seed_everything
    from experiments.sgd.common import save_figure, start_run, write_results

    rng = seed_everything(config.seed, tensorflow=False)
    neuron: SyntheticNeuron | None = None
    if config.data is not None:
        stim, rho = load_recording(config.data, trust_pickle=config.trust_pickle)
        source = str(config.data)
    else:
        if config.duration_s * 1000.0 / DT_MS <= WINDOW:
            raise UserError(f"--duration-s {config.duration_s} is shorter than one STA window")
        neuron = SyntheticNeuron()
        stim, rho = neuron.simulate(round(config.duration_s * 1000.0 / DT_MS), rng)
        source = "synthetic"
    sta, seconds = time_sta(stim, rho)
    true = neuron.true_sta() if neuron is not None else None
    run_dir, logger = start_run(config.runs_root, "sgd_sta", config.name, config.seed, config)
    with logger:
        row = {
            "source": source,
            "samples": int(stim.size),
            "duration_s": stim.size * DT_MS / 1000.0,
            "spikes_used": sta.n_spikes,
            "rate_hz": float(rho.sum()) / (stim.size * DT_MS / 1000.0),
            "corr_true_filter": correlation(sta.mean, true) if true is not None else float("nan"),
            "sta_ms": seconds * 1000.0,
            "peak_ms": float(sta.time_ms[np.argmax(np.abs(sta.mean))]),
        }
        for index, value in enumerate(sta.mean):
            logger.write({"eval/sta": value, "eval/sta_std": sta.std[index]}, step=index)
        logger.write(
            {
                "data/spikes_used": row["spikes_used"],
                "perf/sta_ms": row["sta_ms"],
                "eval/corr_true_filter": row["corr_true_filter"],
            },
            step=0,
        )
        np.savez(run_dir / "sta.npz", mean=sta.mean, std=sta.std, time_ms=sta.time_ms)
        figure = _plot(sta, true, f"STA of {sta.n_spikes} spikes ({source})")
        save_figure(run_dir, figure, "sta.png", logger, tag="eval/sta_plot")
        table = write_results(run_dir, [row], list(row), "Spike-triggered average", logger)
    print(table)
    print(f"run dir: {run_dir}")
    return run_dir
