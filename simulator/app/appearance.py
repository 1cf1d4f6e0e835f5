"""``main.py appearance --out DIR``: the tissue appearance sheet.

Renders each tissue's phantom (``simulator.appearance_phantoms``) in long and
short axis through the real B-mode engine, writes one greyscale picture per
tissue and axis with a millimetre depth scale into ``DIR``, and
``DIR.md`` beside it: one table row per tissue with the two pictures and the
textbook description of that tissue's sonographic appearance with its
published source. ``python main.py appearance --out docs/appearance``
regenerates ``docs/appearance.md`` and ``docs/appearance/``.
"""

from __future__ import annotations

import argparse
import os
import time
from dataclasses import dataclass
from pathlib import Path

from PIL import Image, ImageDraw

from simulator.app.cli import UserError
from simulator.app.overlay import _font
from simulator.appearance_phantoms import (
    AXES,
    SEED,
    VOXEL_MM,
    Phantom,
    build_phantom,
    phantom_keys,
)
from simulator.display import to_uint8
from simulator.engine import BModeEngine, BModeFrame, FrameRequest
from simulator.probe import ImagingSettings, get_probe, probe_pose

PROBE = "linear_38"
#: Width of the drawn ultrasound image, pixels (the docs stay small).
IMAGE_WIDTH_PX = 420
MARGIN_LEFT_PX = 54
MARGIN_TOP_PX = 26
MARGIN_RIGHT_PX = 6
MARGIN_BOTTOM_PX = 6
JPEG_QUALITY = 85


@dataclass(frozen=True)
class Source:
    """A published source: citation and where it was read."""

    cite: str
    url: str


_CCJM = Source(
    "Forney MC, Delzell PB. Musculoskeletal ultrasonography basics. Cleve Clin J Med "
    "2018;85(4):283, table 'Ultrasonographic features of musculoskeletal soft tissue'",
    "https://www.ccjm.org/content/85/4/283",
)
_CRASS = Source(
    "Crass JR, van de Vegte GL, Harkavy LA. Tendon echogenicity: ex vivo study. "
    "Radiology 1988;167(2):499-501",
    "https://pubmed.ncbi.nlm.nih.gov/3282264/",
)
_GREPMED = Source(
    "Diaz G. Tissue appearances on musculoskeletal ultrasound (GrepMed atlas)",
    "https://old.grepmed.com/images/4241",
)
_NERVE_CG = Source(
    "'Peripheral Nerves', ch. 18 of an MSK ultrasound text, reproduced by Clinical Gate",
    "https://clinicalgate.com/peripheral-nerves",
)
_NERVE_BTM = Source(
    "Bignotti B, Tagliafico A, Martinoli C. Ultrasonography of peripheral nerves: anatomy "
    "and pathology (review)",
    "https://c.coek.info/pdf-ultrasonography-of-peripheral-nerves-.html",
)
_NERVE_AJR = Source(
    "Stuart RM et al. Sonography of peripheral nerve pathology. AJR 2004;182:123-129, "
    "as summarised with Lee JC et al., AJR 2004;182:341-351 (muscle)",
    "http://musculoskeletal-radiology.blogspot.com/2006/08/normal-appearances-of-msk-structures.html",
)
_RUMACK = Source(
    "Diagnostic Ultrasound, part III (small parts), ch. 23 'The musculoskeletal system', "
    "p. 858 and Fig. 23.2",
    "https://www.yumpu.com/en/document/view/66128428/diagnostic-ultrasound-pdfdrive-/892",
)
_SKIN = Source(
    "'Dermis and hypodermis', in a rheumatology ultrasound text (arthritisresearch.us)",
    "https://www.arthritisresearch.us/power-doppler/dermis-and-hypodermis.html",
)
_VALLE = Source(
    "Valle M, Zamorani MP. Skin and subcutaneous tissue. In: Ultrasound of the "
    "Musculoskeletal System, Medical Radiology series, Springer, doi:10.1007/978-3-540-28163-4_2",
    "https://link.springer.com/chapter/10.1007/978-3-540-28163-4_2",
)
_SOFT = Source(
    "Normal sonographic appearance of various soft tissues (skin, fat, fascia, bone, "
    "cartilage, muscle), after a textbook figure 63-3",
    "https://www.seekhealthz.com/health/normal-sonographic-appearance-of-various-soft-tissues/",
)
_HOFFA = Source(
    "Vera-Pérez E, Sánchez-Bringas G, Ventura-Ríos L, et al. Sonographic characterization "
    "of Hoffa's fat pad. A pilot study. Rheumatol Int 2017;37(5)",
    "https://www.springermedizin.de/sonographic-characterization-of-hoffa-s-fat-pad-a-pilot-study/12025756",
)
_SASD = Source(
    "'Shoulder 2: The SASD bursa, rotator interval and other rotator cuff tendons', "
    "Ultrasound appearances (Radiology Key)",
    "https://radiologykey.com/shoulder-2-the-sasd-bursa-rotator-interval-and-other-rotator-cuff-tendons-2",
)
_SASD_SITES = Source(
    "'Specific sites', Fig. 4-2: normal SASD bursa at 12-5 MHz (Radiology Key)",
    "http://radiologykey.com/specific-sites/",
)
_CYST = Source(
    "University of Virginia Radiology, Emergency ultrasound: technique - terms "
    "(anechoic, acoustic enhancement, acoustic shadowing)",
    "https://uvarad.net/courses/rad/edus/technique3.html",
)
_FILIPPUCCI = Source(
    "Filippucci E, Gutierrez M, Georgescu D, Salaffi F, Grassi W. Hyaline cartilage "
    "involvement in patients with gout and calcium pyrophosphate deposition disease. "
    "Osteoarthritis Cartilage 2009;17(2):178-181, Fig. 1A",
    "https://slideplayer.com./amp/15936131",
)
_DISLER = Source(
    "Disler DG, Raymond E, May DA, Wayne JS, McCauley TR. Articular cartilage defects: "
    "in vitro evaluation of accuracy and interobserver reliability for detection and "
    "grading with US. Radiology 215(3):846, Fig. 1a",
    "http://radiology.rsnajnls.org/cgi/content/figsonly/215/3/846",
)


@dataclass(frozen=True)
class Description:
    """The textbook appearance of a tissue, in our words, and where it is from."""

    text: str
    sources: tuple[Source, ...]


#: Textbook appearance per phantom key.
DESCRIPTIONS: dict[str, Description] = {
    "tendon": Description(
        "Brighter than muscle, with a tightly packed fibrillar pattern: in long axis many "
        "parallel bright lines, in short axis a bundle of bright dots. Strongly anisotropic: "
        "scanned a few degrees off perpendicular it turns iso- then hypoechoic to muscle.",
        (_CCJM, _CRASS, _GREPMED),
    ),
    "tendinosis": Description(
        "Focal or diffuse hypoechoic change in a tendon that is abnormally thickened, with "
        "the compact fibrillar pattern lost and sometimes areas of fibre disruption.",
        (_CCJM,),
    ),
    "ligament": Description(
        "Bright, compact band joining two bones, with a fibrillar pattern that is less "
        "regular than a tendon's; as anisotropic, so it darkens when the beam is not "
        "perpendicular to it.",
        (_CCJM,),
    ),
    "nerve": Description(
        "Fascicular ('honeycomb') texture: dark, rounded fascicles in a bright connective "
        "tissue (epineurium) background, best seen in short axis; in long axis several "
        "parallel dark bands separated by broken bright lines. Less compact and less bright "
        "overall than tendon; borders show best against darker muscle rather than fat.",
        (_CCJM, _NERVE_CG, _NERVE_BTM, _NERVE_AJR),
    ),
    "muscle": Description(
        "Mostly dark (hypoechoic) with bright lines and dots from the fibroadipose septa "
        "(perimysium): a feather-like, pennate pattern of oblique bright lines in long axis, "
        "a speckled 'starry sky' in short axis; a thin bright fascia wraps each muscle.",
        (_CCJM, _RUMACK, _SOFT),
    ),
    "subcutaneous_fat": Description(
        "Dark (nearly echo-free) layer of fat lobules crossed by thin bright fibrous septa, "
        "mostly running parallel to the skin, some curving and intersecting between the "
        "skin and the superficial fascia.",
        (_SKIN, _SOFT, _VALLE),
    ),
    "fat_pad": Description(
        "The infrapatellar (Hoffa) fat pad is darker than the patellar tendon above it; in "
        "young healthy knees its superficial layer is hypoechoic with septa and its deeper "
        "layer homogeneous, without septa, and slightly brighter.",
        (_HOFFA,),
    ),
    "bursa": Description(
        "A normal bursa is a thin dark line, about 1 mm and up to 2 mm thick, held between "
        "bright layers of peribursal fat; fluid in it separates the bright fat layers. It "
        "must not be confused with the dark deep deltoid.",
        (_SASD, _SASD_SITES),
    ),
    "collection": Description(
        "Simple fluid is anechoic (no internal echoes) with thin, sharply defined walls, "
        "and the tissue behind it is brighter than at the same depth beside it (posterior "
        "acoustic enhancement), because fluid attenuates little.",
        (_CYST,),
    ),
    "bone_cartilage": Description(
        "Cortical bone is a very bright, sharp line with a clean black acoustic shadow "
        "behind it. Hyaline cartilage on it is a uniform anechoic band of even thickness "
        "held between two sharp bright margins: a thin one at its surface "
        "(chondrosynovial) and a thicker one at the bone (osteochondral).",
        (_FILIPPUCCI, _DISLER, _SOFT),
    ),
    "skin": Description(
        "Epidermis and dermis form one thin, homogeneous bright band at the surface (the "
        "two are not told apart at usual MSK frequencies); 1.5-4 mm thick histologically, "
        "with the dark subcutaneous fat beneath.",
        (_SKIN, _VALLE, _SOFT),
    ),
    "fascia": Description(
        "A thin linear bright layer of variable thickness; the superficial fascia between "
        "the subcutaneous fat and the muscle can look like a double bright line.",
        (_SOFT, _SKIN, _RUMACK),
    ),
}


def settings_for(phantom: Phantom) -> ImagingSettings:
    """The imaging settings of a phantom's picture (flat TGC, the probe's default lines)."""
    return ImagingSettings(
        depth_mm=phantom.depth_mm,
        freq_mhz=phantom.freq_mhz,
        focus_mm=phantom.focus_mm,
    )


def render_phantom(phantom: Phantom) -> BModeFrame:
    """One frame of ``phantom`` from the probe at the origin, array along +x."""
    engine = BModeEngine(phantom.volume, get_probe(PROBE))
    try:
        return engine.render(FrameRequest(probe2world=probe_pose(), settings=settings_for(phantom)))
    finally:
        engine.close()


def picture(frame: BModeFrame, title: str, width_px: int = IMAGE_WIDTH_PX) -> Image.Image:
    """The frame in grey at its true aspect ratio, a depth scale in mm on the left, a title."""
    g = frame.geometry
    scale = width_px / g.cols
    height = round(g.rows * scale)
    grey = Image.fromarray(to_uint8(frame.image)).resize(
        (width_px, height), Image.Resampling.BILINEAR
    )
    canvas = Image.new(
        "L",
        (MARGIN_LEFT_PX + width_px + MARGIN_RIGHT_PX, MARGIN_TOP_PX + height + MARGIN_BOTTOM_PX),
        18,
    )
    canvas.paste(grey, (MARGIN_LEFT_PX, MARGIN_TOP_PX))
    draw = ImageDraw.Draw(canvas)
    font = _font(12)
    depth_mm = g.z0_mm + (g.rows - 1) * g.pixel_mm
    for tick in range(0, int(depth_mm) + 1):
        y = MARGIN_TOP_PX + (tick - g.z0_mm) / g.pixel_mm * scale
        major = tick % 5 == 0
        draw.line(
            [(MARGIN_LEFT_PX - (9 if major else 4), y), (MARGIN_LEFT_PX - 2, y)],
            fill=210,
            width=1,
        )
        if major and tick > 0:
            draw.text((4, y - 6), f"{tick} mm", fill=210, font=font)
    draw.text((MARGIN_LEFT_PX, 6), title, fill=235, font=_font(14))
    return canvas


def image_name(key: str, axis: str, fmt: str) -> str:
    """File name of one picture."""
    return f"{key}_{axis}.{fmt}"


def _save(img: Image.Image, path: Path, fmt: str) -> None:
    if fmt == "jpg":
        img.save(path, quality=JPEG_QUALITY, optimize=True)
    else:
        img.save(path, optimize=True)


def _cell_settings(ph: Phantom) -> str:
    return f"{ph.freq_mhz:g} MHz, depth {ph.depth_mm:g} mm, focus {ph.focus_mm:g} mm"


def _source_text(src: Source) -> str:
    return f"[{src.cite}]({src.url})"


def markdown(rows: list[tuple[Phantom, dict[str, str]]], folder: str, out_arg: str) -> str:
    """The sheet: settings, then one table row per tissue.

    ``folder`` is the picture folder relative to the sheet, ``out_arg`` the
    ``--out`` it was made with (shown in the command that regenerates it).
    """
    probe = get_probe(PROBE)
    base = ImagingSettings()
    lines = [
        "# Tissue appearance sheet",
        "",
        "Each tissue the simulator knows, imaged through the real B-mode engine",
        "(`simulator.engine.BModeEngine`) in long and short axis, beside the textbook",
        "description of its sonographic appearance and the published source it was",
        "looked up in. The phantoms are small in-memory volumes painted from NumPy shapes",
        "(`simulator/appearance_phantoms.py`). Regenerate this page and its pictures with",
        "",
        "```sh",
        f"python main.py appearance --out {out_arg}",
        "```",
        "",
        "## Rendering settings",
        "",
        f"- probe `{PROBE}` ({probe.footprint_mm:g} mm linear array, F-number "
        f"{probe.f_number:g}, {probe.default_lines} lines), face centre at the origin on the "
        "skin, array along world +x (yaw, tilt and rock 0): the beam is perpendicular to "
        "every structure's axis;",
        "- long axis: the structure's axis (and fibre direction) along world +x, in the image "
        "plane; short axis: along world +y, across it;",
        f"- frequency, depth and focus per row (under each picture); gain {base.gain_db:g} dB, "
        f"TGC flat ({', '.join(f'{v:g}' for v in base.tgc_db)} dB), dynamic range "
        f"{base.dynamic_range_db:g} dB, built-in depth compensation "
        f"{base.compensation_db_cm_mhz:g} dB/cm/MHz;",
        f"- phantom grid {VOXEL_MM:g} mm, speckle seed {SEED}, skin 1.5 mm and subcutaneous "
        "fat over a 0.4 mm deep fascia unless the row says otherwise; background muscle "
        "with fibres rising 14 degrees along the structure;",
        "- pictures: grey map as displayed, depth scale in mm on the left. They show the "
        "engine as it was when the sheet was last regenerated.",
        "",
        "## Tissues",
        "",
        "| tissue | long axis | short axis | textbook appearance | source |",
        "|---|---|---|---|---|",
    ]
    for ph, files in rows:
        desc = DESCRIPTIONS[ph.key]
        cells = [f"**{ph.title}**<br>{ph.layout}<br>*{_cell_settings(ph)}*"]
        for axis in AXES:
            name = files.get(axis)
            cells.append(f"![{ph.title}, {axis} axis]({folder}/{name})" if name else "")
        cells.append(desc.text)
        cells.append("<br>".join(_source_text(s) for s in desc.sources))
        lines.append("| " + " | ".join(c.replace("|", "/") for c in cells) + " |")
    lines.append("")
    return "\n".join(lines)


def run_appearance(args: argparse.Namespace) -> int:
    """Render the sheet into ``args.out`` and write ``args.out`` + ``.md``."""
    out: Path = args.out
    keys = phantom_keys()
    if args.only:
        unknown = [k for k in args.only if k not in keys]
        if unknown:
            raise UserError(
                f"--only: unknown tissue(s) {', '.join(unknown)}; known: {', '.join(keys)}"
            )
        keys = tuple(k for k in keys if k in args.only)
    fmt = args.format
    out.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    rows: list[tuple[Phantom, dict[str, str]]] = []
    for key in keys:
        files: dict[str, str] = {}
        phantom = None
        for axis in AXES:
            phantom = build_phantom(key, axis)
            frame = render_phantom(phantom)
            name = image_name(key, axis, fmt)
            title = f"{phantom.title}: {axis} axis"
            _save(picture(frame, title, args.width), out / name, fmt)
            files[axis] = name
            print(f"wrote {out / name}")
        assert phantom is not None
        rows.append((phantom, files))
    md_path = out.with_suffix(".md")
    folder = os.path.relpath(out, md_path.parent)
    md_path.write_text(markdown(rows, Path(folder).as_posix(), out.as_posix()), encoding="utf-8")
    print(f"wrote {md_path}")
    total = sum((out / f).stat().st_size for _, fs in rows for f in fs.values())
    print(
        f"{len(rows)} tissues, {2 * len(rows)} pictures, {total / 1e6:.2f} MB, "
        f"{time.perf_counter() - t0:.1f} s"
    )
    return 0


def add_parser(sub: argparse._SubParsersAction) -> None:
    """The ``appearance`` sub-command's parser."""
    a = sub.add_parser(
        "appearance",
        help="render every tissue in long and short axis with its textbook description",
        description="Render each tissue's phantom in long and short axis through the B-mode "
        "engine into DIR (one picture per tissue and axis) and write DIR.md beside it: "
        "the pictures side by side with the textbook appearance and its source.",
    )
    a.add_argument("--out", required=True, type=Path, metavar="DIR", help="picture folder")
    a.add_argument(
        "--only", nargs="+", metavar="TISSUE", help=f"only these: {', '.join(phantom_keys())}"
    )
    a.add_argument("--format", choices=("jpg", "png"), default="jpg", help="picture format")
    a.add_argument(
        "--width", type=int, default=IMAGE_WIDTH_PX, metavar="PX", help="image width, pixels"
    )
