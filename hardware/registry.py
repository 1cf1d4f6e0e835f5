"""Tracker protocols by name, imported lazily: ``open_tracker("diy", url)``.

Each protocol names a tracker class (constructor ``(url, **options)``) and an
emulator class (constructor ``(path=plausible_path, rate_hz=..., **options)``,
``.start() -> url``, ``.stop()``) as ``"module:attribute"`` paths, so a
protocol whose dependencies are missing only fails when it is used.
"""

from __future__ import annotations

import importlib
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
