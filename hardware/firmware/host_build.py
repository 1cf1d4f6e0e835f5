"""Build and run the DIY tracker sketch on the host, against the mock Arduino core.

The unmodified ``diy_tracker/diy_tracker.ino`` is compiled with g++ together with
``host/`` (a mock Arduino core, Wire and BNO055 library); the program calls
``setup()`` then ``loop()`` in simulated time, with the sensors driven by a script
(format in ``host/mock_core.h``), and writes the device's bytes to stdout. No board,
no arduino-cli, no network.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

FIRMWARE_DIR = Path(__file__).resolve().parent
HOST_DIR = FIRMWARE_DIR / "host"
SKETCH_PATH = FIRMWARE_DIR / "diy_tracker" / "diy_tracker.ino"
#: Warnings are errors: the sketch must compile cleanly as C++17.
CXX_FLAGS = ("-std=c++17", "-Wall", "-Wextra", "-Werror", "-O1")
#: Exit status of the host program when the sketch misused the mock core (--strict).
EXIT_MISUSE = 3


class FirmwareBuildError(RuntimeError):
    """The host build or run of the firmware failed; the message holds the compiler output."""


def find_cxx() -> str | None:
    """The C++ compiler to use: ``$CXX`` if set, else ``g++`` on the PATH, else None."""
    return os.environ.get("CXX") or shutil.which("g++")


def build_host_firmware(
    out_dir: Path, esp32: bool = False, sketch: Path = SKETCH_PATH, cxx: str | None = None
) -> Path:
    """Compile ``sketch`` on the mock core into ``out_dir``; return the program's path.

    Parameters
    ----------
    out_dir : Path
        Directory for the executable (created if missing).
    esp32 : bool
        Define ``ARDUINO_ARCH_ESP32`` (the sketch's ESP32 pins, 12-bit ADC); else an
        AVR-like board (A0, 10-bit ADC).
    sketch : Path
        The ``.ino`` file.
    cxx : str, optional
        Compiler; default :func:`find_cxx`.

    Raises
    ------
    FirmwareBuildError
        No compiler, or the compilation failed (message: the compiler's output).
    """
    cxx = cxx or find_cxx()
    if cxx is None:
        raise FirmwareBuildError(
            "no C++ compiler: install g++ (scripts/bootstrap --gui-headless does, as root)"
        )
    out_dir.mkdir(parents=True, exist_ok=True)
    exe = out_dir / f"{sketch.stem}_host{'_esp32' if esp32 else ''}"
    cmd = [
        cxx,
        *CXX_FLAGS,
        *(["-DARDUINO_ARCH_ESP32"] if esp32 else []),
        "-I",
        str(HOST_DIR),
        "-I",
        str(sketch.parent),
        "-include",
        "Arduino.h",
        f'-DSKETCH_FILE="{sketch.name}"',
        str(HOST_DIR / "main.cpp"),
        str(HOST_DIR / "mock_core.cpp"),
        "-o",
        str(exe),
    ]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    if proc.returncode != 0:
        raise FirmwareBuildError(
            f"compiling {sketch} failed ({' '.join(cmd)}):\n{proc.stderr}{proc.stdout}"
        )
    return exe


def run_host_firmware(
    exe: Path,
    script: str,
    duration_ms: int,
    step_us: int = 1000,
    strict: bool = True,
    stdin: bytes = b"",
    timeout_s: float = 60.0,
) -> tuple[bytes, str]:
    """Run the host program on a script; return (the device's bytes, its stderr text).

    Parameters
    ----------
    exe : Path
        From :func:`build_host_firmware`.
    script : str
        Scripted sensor values and host bytes (format in ``host/mock_core.h``).
    duration_ms : int
        Simulated run time, ms.
    step_us : int
        Simulated time between ``loop()`` calls, us.
    strict : bool
        Fail if the sketch misused the mock core (unconfigured pin, Serial before begin...).
    stdin : bytes
        Bytes on the program's stdin (read by ``Serial`` at the first polls).

    Raises
    ------
    FirmwareBuildError
        The program exited with a non-zero status.
    """
    script_path = exe.with_name(f"{exe.name}.{os.getpid()}.{id(script)}.script")
    script_path.write_text(script, encoding="utf-8")
    try:
        cmd = [str(exe), "--script", str(script_path), "--duration-ms", str(int(duration_ms))]
        cmd += ["--step-us", str(int(step_us))] + (["--strict"] if strict else [])
        proc = subprocess.run(cmd, input=stdin, capture_output=True, timeout=timeout_s)
    finally:
        script_path.unlink(missing_ok=True)
    err = proc.stderr.decode("utf-8", "replace")
    if proc.returncode != 0:
        why = "the sketch misused the mock core" if proc.returncode == EXIT_MISUSE else "failed"
        raise FirmwareBuildError(f"{exe.name} {why} (exit {proc.returncode}):\n{err}")
    return proc.stdout, err
