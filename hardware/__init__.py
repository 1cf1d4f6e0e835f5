"""Tracked probe and needle: tracker interface, serial drivers, emulators, calibration.

No Qt here (tests/test_architecture.py checks it).

- ``tracker``: the one interface (``Tracker``, ``TrackerSample``, ``ToolSample``,
  ``ToolDescription``, ``TrackerStatus``) every pose source implements;
- ``sources``: the mouse/keyboard (``ManualSource``) and a replayed recording
  (``ReplaySource``) behind that interface;
- ``serial_link``: a port read in its own thread, unplug detection, reconnection;
- ``diy_protocol`` / ``diy_tracker`` / ``diy_emulator``: the open DIY serial
  protocol (PROTOCOL.md, WIRING.md, ``firmware/``);
- ``ndi_*``, ``igtl_*``: NDI combined API and OpenIGTLink;
- ``motion``: the plausible probe and needle path the emulators play;
- ``smoothing``: one-euro / exponential pose filters;
- ``registry``: protocols by name (``open_tracker``, ``make_emulator``);
- ``commands``: ``python main.py tracker`` and ``emulate``.
"""
