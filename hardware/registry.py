"""Tracker protocols by name, imported lazily: ``open_tracker("diy", url)``.

Each protocol names a tracker class (constructor ``(url, **options)``) and an
emulator class (constructor ``(path=plausible_path, rate_hz=..., **options)``,
``.start() -> url``, ``.stop()``) as ``"module:attribute"`` paths, so a
protocol whose dependencies are missing only fails when it is used.

Protocol-specific options go through as keywords; :func:`tracker_accepts` /
:func:`emulator_accepts` tell whether a protocol takes one, e.g.
``open_tracker("ndi", "/dev/ttyUSB0", roms=["probe.rom", ("needle", "needle.rom")])``
(passive Polaris tools) or ``make_emulator("ndi", transport="socket")``.
"""

from __future__ import annotations

import importlib
import inspect
from typing import Any

from hardware.tracker import Tracker

#: name -> (tracker factory, emulator factory), ``"module:attribute"``.
PROTOCOLS: dict[str, tuple[str, str]] = {
    "diy": ("hardware.diy_tracker:DiyTracker", "hardware.diy_emulator:DiyEmulator"),
    "ndi": ("hardware.ndi_tracker:NdiTracker", "hardware.ndi_emulator:NdiEmulator"),
    "igtl": ("hardware.igtl_tracker:IgtlTracker", "hardware.igtl_emulator:IgtlEmulator"),
}


class UnknownProtocolError(ValueError):
    """A protocol name not in :data:`PROTOCOLS`."""


def _resolve(dotted: str) -> Any:
    module_name, _, attribute = dotted.partition(":")
    return getattr(importlib.import_module(module_name), attribute)


def _entry(protocol: str) -> tuple[str, str]:
    try:
        return PROTOCOLS[protocol]
    except KeyError:
        known = ", ".join(sorted(PROTOCOLS))
        message = f"tracker protocol {protocol!r}: expected one of {known}"
        raise UnknownProtocolError(message) from None


def tracker_class(protocol: str) -> type[Tracker]:
    """The tracker class of ``protocol`` (imports its module)."""
    return _resolve(_entry(protocol)[0])


def emulator_class(protocol: str) -> type:
    """The emulator class of ``protocol`` (imports its module)."""
    return _resolve(_entry(protocol)[1])


def _accepts(cls: type, option: str) -> bool:
    return option in inspect.signature(cls).parameters


def tracker_accepts(protocol: str, option: str) -> bool:
    """True if ``protocol``'s tracker takes the keyword ``option`` (e.g. ``"roms"``)."""
    return _accepts(tracker_class(protocol), option)


def emulator_accepts(protocol: str, option: str) -> bool:
    """True if ``protocol``'s emulator takes the keyword ``option`` (e.g. ``"transport"``)."""
    return _accepts(emulator_class(protocol), option)


def open_tracker(protocol: str, url: str, **options: Any) -> Tracker:
    """A (not yet started) tracker for ``protocol`` on ``url``.

    Raises
    ------
    UnknownProtocolError
        For a protocol not in :data:`PROTOCOLS` (the message lists them).
    """
    return tracker_class(protocol)(url, **options)


def make_emulator(protocol: str, **options: Any) -> Any:
    """A (not yet started) emulator for ``protocol``; ``.start()`` returns its URL."""
    return emulator_class(protocol)(**options)
