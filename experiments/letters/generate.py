"""A deterministic notMNIST-style generator: letters A..J in many fonts and styles, 28x28 grey PNGs.

Fonts are the TrueType files matplotlib ships in ``mpl-data/fonts/ttf`` (matplotlib is a project
dependency): DejaVu Sans / Serif / Sans Mono in regular, bold, oblique and bold oblique, STIX
General in four styles, and the Computer Modern cmr10, cmb10, cmss10, cmti10, cmtt10, cmmi10 and
cmsy10 (calligraphic capitals). Pillow renders them. Each image draws its own style from
``default_rng([seed, split, letter, index])``, so any image can be made alone, in any order, by
any worker: case, font size, fill grey level, outline-only strokes, inverted boxes, rotation,
shear, scale, translation, blur and pixel noise.

The output uses the real dataset's layout, ``{out}/notMNIST_large/A..J/*.png`` and
``{out}/notMNIST_small/A..J/*.png``, so the same loader reads both.
"""

from __future__ import annotations

import math
from concurrent.futures import ProcessPoolExecutor
from functools import cache
from pathlib import Path

import matplotlib
import numpy as np
from PIL import Image, ImageDraw, ImageFilter, ImageFont

LETTERS = "ABCDEFGHIJ"
SPLITS = {"notMNIST_large": 0, "notMNIST_small": 1}
FONT_FILES = (
    "DejaVuSans.ttf",
    "DejaVuSans-Bold.ttf",
    "DejaVuSans-Oblique.ttf",
    "DejaVuSans-BoldOblique.ttf",
    "DejaVuSerif.ttf",
    "DejaVuSerif-Bold.ttf",
    "DejaVuSerif-Italic.ttf",
    "DejaVuSerif-BoldItalic.ttf",
    "DejaVuSansMono.ttf",
    "DejaVuSansMono-Bold.ttf",
    "DejaVuSansMono-Oblique.ttf",
    "DejaVuSansMono-BoldOblique.ttf",
    "STIXGeneral.ttf",
    "STIXGeneralBol.ttf",
    "STIXGeneralItalic.ttf",
    "STIXGeneralBolIta.ttf",
    "cmr10.ttf",
    "cmb10.ttf",
    "cmss10.ttf",
    "cmti10.ttf",
    "cmtt10.ttf",
    "cmmi10.ttf",
    "cmsy10.ttf",
)
CANVAS = 64  # render at ~2.3x and downsample, as anti-aliased scans would be
SIZE = 28


def font_dir() -> Path:
    """The folder of TrueType fonts bundled with matplotlib."""
    return Path(matplotlib.get_data_path()) / "fonts" / "ttf"


@cache
def _font(name: str, size: int) -> ImageFont.FreeTypeFont:
    return ImageFont.truetype(str(font_dir() / name), size)


def render_letter(letter: int, seed: int, split: int = 0, index: int = 0) -> np.ndarray:
    """Renders one 28x28 ``uint8`` image of letter ``LETTERS[letter]``; a pure function of its args.

    Args:
        letter: 0..9 for A..J.
        seed: the dataset seed.
        split: 0 for ``notMNIST_large``, 1 for ``notMNIST_small``.
        index: the image's number within its letter folder.
    """
    rng = np.random.default_rng([seed, split, letter, index])
    char = LETTERS[letter]
    if rng.random() < 0.2:
        char = char.lower()
    font_name = FONT_FILES[rng.integers(len(FONT_FILES))]
    if font_name == "cmsy10.ttf":
        char = char.upper()  # cmsy10 has calligraphic capitals only
    font = _font(font_name, int(rng.integers(40, 60)))
    invert = rng.random() < 0.1
    fg = int(rng.integers(150, 256))
    bg = 0
    canvas = Image.new("L", (CANVAS, CANVAS), bg)
    draw = ImageDraw.Draw(canvas)
    left, top, right, bottom = draw.textbbox((0, 0), char, font=font)
    xy = ((CANVAS - (right - left)) / 2 - left, (CANVAS - (bottom - top)) / 2 - top)
    if rng.random() < 0.15:  # outline-only letter
        draw.text(
            xy, char, font=font, fill=bg, stroke_width=int(rng.integers(1, 3)), stroke_fill=fg
        )
    else:
        draw.text(xy, char, font=font, fill=fg)
    # affine jitter around the centre: rotation, shear, anisotropic scale, translation
    angle = math.radians(rng.normal(0, 7))
    shear = rng.normal(0, 0.12)
    sx, sy = rng.uniform(0.8, 1.15, size=2)
    tx, ty = rng.normal(0, 2.0, size=2)
    cos, sin = math.cos(angle), math.sin(angle)
    fwd = np.array([[sx * cos, sx * (-sin + shear * cos)], [sy * sin, sy * (cos + shear * sin)]])
    inv = np.linalg.inv(fwd)
    c = CANVAS / 2
    offset = np.array([c, c]) - inv @ np.array([c + tx, c + ty])
    canvas = canvas.transform(
        (CANVAS, CANVAS),
        Image.Transform.AFFINE,
        (inv[0, 0], inv[0, 1], offset[0], inv[1, 0], inv[1, 1], offset[1]),
        resample=Image.Resampling.BILINEAR,
        fillcolor=bg,
    )
    if rng.random() < 0.3:
        canvas = canvas.filter(ImageFilter.GaussianBlur(rng.uniform(0.5, 1.5)))
    image = np.asarray(canvas.resize((SIZE, SIZE), Image.Resampling.BOX), dtype=np.float32)
    if invert:
        image = 255.0 - image
    image += rng.normal(0, rng.uniform(0, 12), size=image.shape)
    return np.clip(np.rint(image), 0, 255).astype(np.uint8)


def _render_block(args: tuple[Path, int, int, int, int, int]) -> int:
    folder, letter, seed, split, start, stop = args
    for index in range(start, stop):
        image = render_letter(letter, seed, split, index)
        Image.fromarray(image, mode="L").save(folder / f"{LETTERS[letter]}{index:07d}.png")
    return stop - start


def generate(
    out: str | Path,
    per_letter_large: int,
    per_letter_small: int,
    seed: int = 0,
    workers: int = 1,
    show_progress: bool = True,
) -> dict[str, int]:
    """Writes the notMNIST folder layout under ``out``; returns images written per split folder.

    Args:
        out: the dataset root (created).
        per_letter_large: images per letter in ``notMNIST_large``.
        per_letter_small: images per letter in ``notMNIST_small``.
        seed: the dataset seed; the same seed gives byte-identical images.
        workers: rendering processes.
        show_progress: show a progress bar (on a terminal).
    """
    from core.progress import progress

    out = Path(out)
    jobs = []
    block = 2000
    for split_name, count in (
        ("notMNIST_large", per_letter_large),
        ("notMNIST_small", per_letter_small),
    ):
        for letter, char in enumerate(LETTERS):
            folder = out / split_name / char
            folder.mkdir(parents=True, exist_ok=True)
            jobs += [
                (folder, letter, seed, SPLITS[split_name], lo, min(count, lo + block))
                for lo in range(0, count, block)
            ]
    total = 10 * (per_letter_large + per_letter_small)
    with progress(
        total=total, desc="generate", unit="images", disable=None if show_progress else True
    ) as bar:
        if workers <= 1:
            for job in jobs:
                bar.update(_render_block(job))
        else:
            with ProcessPoolExecutor(workers) as pool:
                for done in pool.map(_render_block, jobs):
                    bar.update(done)
    return {"notMNIST_large": 10 * per_letter_large, "notMNIST_small": 10 * per_letter_small}
