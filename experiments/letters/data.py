"""notMNIST data: the real folder layout (or generated data in it), splits, dedupe, ``.npz`` cache.

Layout: ``{root}/notMNIST_large/A..J/*.png`` and ``{root}/notMNIST_small/A..J/*.png`` (either
may be missing). Training and validation come from ``notMNIST_large``, test from
``notMNIST_small``, as in the course; with only one folder all three splits come from it.
Unreadable images are skipped with a message. Pixels stay ``uint8`` in memory and in the cache;
:func:`normalise` gives the course's ``(x - 127.5) / 255``.

Validation and test images that duplicate a training image (or a test image a validation one)
are dropped: *exact* duplicates have identical bytes, *near* duplicates differ by less than
``near_tolerance`` in mean absolute normalised pixel value from their nearest neighbour, which is
searched on 7x7 mean-pooled images. The counts are in :attr:`Letters.report`.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import pickle
import sys
import zipfile
from pathlib import Path
from typing import Annotated, Any

import numpy as np
import tyro

from core.errors import UserError

LETTERS = "ABCDEFGHIJ"
LARGE, SMALL = "notMNIST_large", "notMNIST_small"


@dataclasses.dataclass(frozen=True)
class DataConfig:
    """Where the letters come from and how they are split."""

    path: Path = Path("data/letters")
    """notMNIST root (holding notMNIST_large/ and/or notMNIST_small/), a .npz cache, or the
    course's notMNIST.pickle (only with --trust-pickle)"""
    train_size: int = 200000
    """training images (fewer when the data has fewer)"""
    valid_size: int = 10000
    """validation images"""
    test_size: int = 10000
    """test images"""
    split_seed: int = 0
    """seed of the shuffle that assigns images to splits"""
    dedupe: bool = True
    """drop validation/test images that duplicate an earlier split"""
    near_tolerance: float = 0.02
    """near duplicate: mean absolute difference of normalised pixels below this"""
    cache: bool = True
    """cache the loaded splits as {path}/.cache/*.npz"""
    trust_pickle: Annotated[bool, tyro.conf.arg(prefix_name=False)] = False
    """allow loading a .pickle file (pickles can run arbitrary code): --trust-pickle"""


@dataclasses.dataclass
class Letters:
    """The three splits as ``uint8`` images ``(N, 28, 28)`` and ``int32`` labels 0..9 (A..J)."""

    train_x: np.ndarray
    train_y: np.ndarray
    valid_x: np.ndarray
    valid_y: np.ndarray
    test_x: np.ndarray
    test_y: np.ndarray
    report: dict[str, Any] = dataclasses.field(default_factory=dict)

    def sizes(self) -> dict[str, int]:
        """Images per split."""
        return {"train": len(self.train_y), "valid": len(self.valid_y), "test": len(self.test_y)}


def normalise(x: np.ndarray) -> np.ndarray:
    """``uint8`` pixels to the course's float32 ``(x - 127.5) / 255``."""
    return (x.astype(np.float32) - 127.5) / 255.0


def read_letter_folder(
    folder: Path, show_progress: bool = True
) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """Reads ``folder/A..J/*.png``; returns images, labels and the skipped files' messages."""
    from PIL import Image, UnidentifiedImageError

    from core.progress import progress

    files = [
        (label, path)
        for label, char in enumerate(LETTERS)
        for path in sorted((folder / char).glob("*.png"))
    ]
    images = np.empty((len(files), 28, 28), dtype=np.uint8)
    labels = np.empty(len(files), dtype=np.int32)
    skipped: list[str] = []
    count = 0
    for label, path in progress(
        files, desc=f"read {folder.name}", unit="images", disable=None if show_progress else True
    ):
        try:
            with Image.open(path) as image:
                array = np.asarray(image.convert("L"))
            if array.shape != (28, 28):
                raise ValueError(f"shape {array.shape}, expected (28, 28)")
        except (OSError, ValueError, UnidentifiedImageError, SyntaxError) as error:
            message = f"skipping unreadable image {path}: {str(error).splitlines()[0]}"
            print(message, file=sys.stderr)
            skipped.append(message)
            continue
        images[count], labels[count] = array, label
        count += 1
    return images[:count], labels[:count], skipped


def _digests(x: np.ndarray) -> list[bytes]:
    return [hashlib.blake2b(row.tobytes(), digest_size=16).digest() for row in x]


def _pooled(x: np.ndarray) -> np.ndarray:
    return x.reshape(len(x), 7, 4, 7, 4).astype(np.float32).mean(axis=(2, 4)).reshape(len(x), 49)


def find_duplicates(
    reference: np.ndarray,
    queries: np.ndarray,
    near_tolerance: float = 0.02,
    chunk: int = 1024,
    ref_chunk: int = 65536,
) -> tuple[np.ndarray, np.ndarray]:
    """Marks queries that duplicate a reference image.

    Args:
        reference: ``uint8`` images ``(N, 28, 28)``.
        queries: ``uint8`` images ``(M, 28, 28)``.
        near_tolerance: the near-duplicate threshold (mean absolute difference, normalised).
        chunk: queries per distance block.
        ref_chunk: reference images per distance block.

    Returns:
        ``(exact, near)`` boolean masks over queries; ``near`` excludes exact duplicates.
    """
    known = set(_digests(reference))
    exact = np.array([d in known for d in _digests(queries)], dtype=bool)
    near = np.zeros(len(queries), dtype=bool)
    if len(reference) == 0 or len(queries) == 0:
        return exact, near
    ref = _pooled(reference)
    ref_sq = (ref**2).sum(1)
    tol = near_tolerance * 255.0
    for lo in range(0, len(queries), chunk):
        q = _pooled(queries[lo : lo + chunk])
        best = np.full(len(q), np.inf, dtype=np.float32)
        arg = np.zeros(len(q), dtype=np.int64)
        for rlo in range(0, len(ref), ref_chunk):
            d = ref_sq[None, rlo : rlo + ref_chunk] - 2.0 * q @ ref[rlo : rlo + ref_chunk].T
            i = d.argmin(1)
            v = d[np.arange(len(q)), i]
            better = v < best
            best[better], arg[better] = v[better], i[better] + rlo
        diff = np.abs(
            queries[lo : lo + chunk].astype(np.float32) - reference[arg].astype(np.float32)
        ).mean(axis=(1, 2))
        near[lo : lo + chunk] = diff < tol
    return exact, near & ~exact


def _take_clean(
    pool_x: np.ndarray,
    pool_y: np.ndarray,
    want: int,
    references: dict[str, np.ndarray],
    cfg: DataConfig,
    report: dict[str, Any],
    name: str,
) -> tuple[np.ndarray, np.ndarray, int]:
    """Takes the first ``want`` pool images that duplicate no reference; returns them and the
    number of pool images examined."""
    keep: list[int] = []
    start, block = 0, max(want, 1024)
    while len(keep) < want and start < len(pool_x):
        stop = min(len(pool_x), start + block)
        bad = np.zeros(stop - start, dtype=bool)
        for ref_name, ref in references.items():
            if cfg.dedupe:
                exact, near = find_duplicates(ref, pool_x[start:stop], cfg.near_tolerance)
            else:
                exact = near = np.zeros(stop - start, dtype=bool)
            report[f"{name}_vs_{ref_name}_exact"] = report.get(
                f"{name}_vs_{ref_name}_exact", 0
            ) + int((exact & ~bad).sum())
            report[f"{name}_vs_{ref_name}_near"] = report.get(
                f"{name}_vs_{ref_name}_near", 0
            ) + int((near & ~bad).sum())
            bad |= exact | near
        keep += [start + i for i in np.flatnonzero(~bad)]
        start = stop
    keep = keep[:want]
    examined = keep[-1] + 1 if keep else start
    report[f"{name}_examined"] = int(examined)
    return pool_x[keep], pool_y[keep], examined


def split_letters(
    large: tuple[np.ndarray, np.ndarray] | None,
    small: tuple[np.ndarray, np.ndarray] | None,
    cfg: DataConfig,
) -> Letters:
    """Shuffles (fixed seed), splits and dedupes; see the module docstring for the rules."""
    rng = np.random.default_rng(cfg.split_seed)
    report: dict[str, Any] = {}
    if large is None and small is None:
        raise UserError(f"{cfg.path}: no {LARGE}/ or {SMALL}/ folder with A..J images")
    sources = [s for s in (large, small) if s is not None and len(s[0])]
    if not sources:
        raise UserError(f"{cfg.path}: no readable images")
    if large is not None and small is not None and len(large[0]) and len(small[0]):
        pool, test_pool = large, small
    else:
        pool, test_pool = sources[0], None
    order = rng.permutation(len(pool[0]))
    px, py = pool[0][order], pool[1][order]
    reserve = cfg.valid_size + (cfg.test_size if test_pool is None else 0)
    n_train = min(cfg.train_size, max(len(px) - reserve, 0))
    if n_train < cfg.train_size:
        report["train_size_note"] = f"only {n_train} training images available"
    train_x, train_y = px[:n_train], py[:n_train]
    valid_x, valid_y, used = _take_clean(
        px[n_train:], py[n_train:], cfg.valid_size, {"train": train_x}, cfg, report, "valid"
    )
    if test_pool is None:
        tx, ty = px[n_train + used :], py[n_train + used :]
    else:
        t_order = rng.permutation(len(test_pool[0]))
        tx, ty = test_pool[0][t_order], test_pool[1][t_order]
    test_x, test_y, _ = _take_clean(
        tx, ty, cfg.test_size, {"train": train_x, "valid": valid_x}, cfg, report, "test"
    )
    letters = Letters(train_x, train_y, valid_x, valid_y, test_x, test_y, report)
    report.update({f"{k}_size": v for k, v in letters.sizes().items()})
    return letters


def _cache_path(cfg: DataConfig) -> Path:
    key = (
        f"letters_{cfg.train_size}_{cfg.valid_size}_{cfg.test_size}_{cfg.split_seed}_"
        f"{int(cfg.dedupe)}_{cfg.near_tolerance:g}.npz"
    )
    return cfg.path / ".cache" / key


def save_npz(path: Path, letters: Letters) -> None:
    """Writes the splits and the report to an uncompressed ``.npz`` (no pickled objects)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp.npz")
    arrays = {
        f.name: getattr(letters, f.name) for f in dataclasses.fields(letters) if f.name != "report"
    }
    np.savez(tmp, report=np.array(json.dumps(letters.report)), **arrays)
    tmp.replace(path)


def load_npz(path: Path) -> Letters:
    """Reads a cache written by :func:`save_npz` with ``allow_pickle=False``; one-line errors."""
    names = ("train_x", "train_y", "valid_x", "valid_y", "test_x", "test_y")
    try:
        with np.load(path, allow_pickle=False) as data:
            arrays = {name: data[name] for name in names}
            report = json.loads(str(data["report"])) if "report" in data else {}
    except FileNotFoundError:
        raise UserError(f"{path}: no such dataset file") from None
    except (
        OSError,
        ValueError,
        KeyError,
        EOFError,
        zipfile.BadZipFile,
        json.JSONDecodeError,
    ) as error:
        raise UserError(
            f"{path}: corrupt dataset cache ({str(error).splitlines()[0][:120]}); "
            "delete it to rebuild"
        ) from None
    for name in names[::2]:
        if arrays[name].ndim != 3 or arrays[name].shape[1:] != (28, 28):
            raise UserError(
                f"{path}: corrupt dataset cache ({name} has shape "
                f"{arrays[name].shape}); delete it to rebuild"
            )
    return Letters(
        **{k: v.astype(np.uint8 if k.endswith("_x") else np.int32) for k, v in arrays.items()},
        report=report,
    )


def load_pickle(path: Path, trust: bool) -> Letters:
    """Reads the course's ``notMNIST.pickle`` (normalised floats) -- only when ``trust`` is set."""
    if not trust:
        raise UserError(
            f"{path}: refusing to unpickle (a pickle can run arbitrary code); "
            "pass --trust-pickle if you trust this file"
        )
    try:
        with open(path, "rb") as handle:
            data = pickle.load(handle)
        parts = {}
        for split in ("train", "valid", "test"):
            x = np.asarray(data[f"{split}_dataset"], dtype=np.float32)
            parts[f"{split}_x"] = np.clip(np.rint(x * 255.0 + 127.5), 0, 255).astype(np.uint8)
            parts[f"{split}_y"] = np.asarray(data[f"{split}_labels"], dtype=np.int32)
    except (OSError, pickle.UnpicklingError, EOFError, KeyError, TypeError, ValueError) as error:
        raise UserError(f"{path}: unreadable course pickle ({error})") from None
    return Letters(**parts, report={"source": "pickle"})


def load_letters(cfg: DataConfig, show_progress: bool = True) -> Letters:
    """Loads the letters from a notMNIST root, a ``.npz`` cache or (trusted) course pickle.

    Raises:
        UserError: missing or corrupt data, untrusted pickle.
    """
    path = Path(cfg.path)
    if path.suffix == ".npz":
        return load_npz(path)
    if path.suffix in (".pickle", ".pkl"):
        return load_pickle(path, cfg.trust_pickle)
    if not path.is_dir():
        raise UserError(f"{path}: no such dataset folder (run `doomgps letters generate` first?)")
    cache = _cache_path(cfg)
    if cfg.cache and cache.exists():
        return load_npz(cache)
    loaded: dict[str, tuple[np.ndarray, np.ndarray] | None] = {}
    skipped: list[str] = []
    for name in (LARGE, SMALL):
        if (path / name).is_dir():
            x, y, bad = read_letter_folder(path / name, show_progress)
            loaded[name], skipped = (x, y), skipped + bad
        else:
            loaded[name] = None
    letters = split_letters(loaded[LARGE], loaded[SMALL], cfg)
    letters.report["skipped_images"] = len(skipped)
    if cfg.cache:
        save_npz(cache, letters)
    return letters
