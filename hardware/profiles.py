"""Device profiles: connection settings and calibrations of one tracker, saved as JSON.

Stored in ``$INJECTION_SIM_DEVICES`` if set (tests), else
``$XDG_CONFIG_HOME/injection-simulator/devices`` (default ``~/.config/...``), one
``NAME.json`` per device. Loading a broken file raises :class:`ProfileError` naming the
file and the field.
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from hardware.calibration import CalibrationError, check_rigid

PROTOCOLS = ("diy", "ndi", "igtl")
_NAME_RE = re.compile(r"^[A-Za-z0-9_.-]{1,64}$")


class ProfileError(ValueError):
    """A profile file that cannot be read; the message names the file and the field."""


def devices_dir() -> Path:
    """The folder holding device profiles (not created)."""
    env = os.environ.get("INJECTION_SIM_DEVICES")
    if env:
        return Path(env)
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "injection-simulator" / "devices"


@dataclass
class DeviceProfile:
    """One tracker's settings and calibrations.

    Attributes
    ----------
    name : str
        Profile name (file ``NAME.json``): letters, digits, ``_.-``.
    protocol : str
        ``"diy"``, ``"ndi"`` or ``"igtl"``.
    url : str
        Port or URL the tracker opens.
    baudrate : int
        Serial baud rate (NDI: the rate switched to with COMM).
    tools : dict of str to str
        Device handle / device name -> tool name.
    needle_tip_in_tool_mm : list of 3 float or None
        Pivot-calibrated needle tip in the needle sensor's frame, mm.
    needle_axis_in_tool : list of 3 float or None
        Tip -> hub direction in the sensor frame (None: toward the sensor origin).
    probe_sensor2face : 4x4 nested list or None
        Probe sensor frame -> probe (face) frame.
    tracker2world : 4x4 nested list or None
        Paired-point registration of the tracker to the scene.
    pivot_rms_mm, registration_fre_mm : float or None
        Residuals of the last calibrations, mm.
    calibrated : dict of str to str
        ISO dates of the last ``"pivot"``, ``"probe_face"``, ``"registration"``.
    options : dict
        Extra tracker constructor options (e.g. ``{"rate_hz": 60}``).
    """

    name: str
    protocol: str
    url: str
    baudrate: int = 115200
    tools: dict[str, str] = field(default_factory=dict)
    needle_tip_in_tool_mm: list[float] | None = None
    needle_axis_in_tool: list[float] | None = None
    probe_sensor2face: list[list[float]] | None = None
    tracker2world: list[list[float]] | None = None
    pivot_rms_mm: float | None = None
    registration_fre_mm: float | None = None
    calibrated: dict[str, str] = field(default_factory=dict)
    options: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict."""
        return asdict(self)

    @classmethod
    def from_dict(cls, data: Any, source: str = "<profile>") -> DeviceProfile:
        """Validate and build; :class:`ProfileError` names ``source`` and the field."""

        def fail(fld: str, expected: str) -> ProfileError:
            got = data.get(fld) if isinstance(data, dict) else data
            return ProfileError(f"{source}: field '{fld}': expected {expected}, got {got!r}")

        if not isinstance(data, dict):
            raise ProfileError(f"{source}: expected a JSON object, got {type(data).__name__}")
        known = set(cls.__dataclass_fields__)
        for key in data:
            if key not in known:
                raise ProfileError(f"{source}: unknown field '{key}' (known: {sorted(known)})")
        for key in ("name", "protocol", "url"):
            if not isinstance(data.get(key), str) or not data.get(key):
                raise fail(key, "a non-empty string")
        if not _NAME_RE.match(data["name"]):
            raise fail("name", "letters, digits, '_', '.', '-' (at most 64)")
        if data["protocol"] not in PROTOCOLS:
            raise fail("protocol", f"one of {', '.join(PROTOCOLS)}")
        baud = data.get("baudrate", 115200)
        if not isinstance(baud, int) or isinstance(baud, bool) or baud <= 0:
            raise fail("baudrate", "a positive integer")
        tools = data.get("tools", {})
        if not isinstance(tools, dict) or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in tools.items()
        ):
            raise fail("tools", "an object mapping handle to tool name")
        for key in ("needle_tip_in_tool_mm", "needle_axis_in_tool"):
            value = data.get(key)
            if value is not None:
                arr = np.asarray(value, dtype=object)
                if arr.shape != (3,) or not all(_is_number(v) for v in arr):
                    raise fail(key, "3 numbers (mm) or null")
        for key in ("probe_sensor2face", "tracker2world"):
            value = data.get(key)
            if value is not None:
                try:
                    check_rigid(np.asarray(value, dtype=np.float64), key)
                except (CalibrationError, ValueError, TypeError) as exc:
                    raise fail(key, f"a 4x4 rigid transform or null ({exc})") from None
        for key in ("pivot_rms_mm", "registration_fre_mm"):
            value = data.get(key)
            if value is not None and (not _is_number(value) or value < 0):
                raise fail(key, "a non-negative number (mm) or null")
        for key in ("calibrated", "options"):
            if not isinstance(data.get(key, {}), dict):
                raise fail(key, "an object")
        return cls(**data)

    # --- numpy views -----------------------------------------------------
    def matrix(self, name: str) -> np.ndarray | None:
        """``probe_sensor2face`` or ``tracker2world`` as a (4, 4) float64 array, or None."""
        value = getattr(self, name)
        return None if value is None else np.asarray(value, dtype=np.float64)


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and np.isfinite(value)


def profile_path(name: str, folder: Path | None = None) -> Path:
    """Path of profile ``name``."""
    if not _NAME_RE.match(name):
        raise ProfileError(f"device profile name {name!r}: expected letters, digits, '_.-'")
    return (folder or devices_dir()) / f"{name}.json"


def save_profile(profile: DeviceProfile, folder: Path | None = None) -> Path:
    """Write ``profile`` (validated) as JSON; returns the file path."""
    data = json.loads(json.dumps(profile.to_dict(), default=_to_json))
    path = profile_path(profile.name, folder)
    DeviceProfile.from_dict(data, str(path))
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")
    os.replace(tmp, path)
    return path


def _to_json(value: Any) -> Any:
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, np.generic):
        return value.item()
    raise TypeError(f"cannot store {type(value).__name__} in a device profile")


def load_profile(name_or_path: str | Path, folder: Path | None = None) -> DeviceProfile:
    """Load a profile by name (from :func:`devices_dir`) or by file path.

    Raises
    ------
    ProfileError
        Missing file, bad JSON (with line and column), or a bad field.
    """
    path = Path(name_or_path)
    if path.suffix != ".json":
        path = profile_path(str(name_or_path), folder)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ProfileError(f"{path}: no such device profile") from None
    except OSError as exc:
        raise ProfileError(f"{path}: cannot read ({exc.strerror})") from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ProfileError(
            f"{path}: not valid JSON (line {exc.lineno}, column {exc.colno})"
        ) from None
    return DeviceProfile.from_dict(data, str(path))


def list_profiles(folder: Path | None = None) -> list[str]:
    """Names of the saved profiles, sorted."""
    d = folder or devices_dir()
    return sorted(p.stem for p in d.glob("*.json")) if d.is_dir() else []
