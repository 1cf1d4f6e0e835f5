"""Tracked probe and needle: tracker interface, serial drivers, emulators, calibration.

No Qt here. Filled in by the tracked-hardware issue; until then the
simulator is driven by mouse and keyboard.
"""
