"""Scoring samples of a live session: what the metrics and the records are fed.

``SessionSampler`` reads a ``ScanSession`` at the scoring sample rate and
returns ``simulator.scoring.Sample`` objects: the probe pose, the needle
(entry, tip, depth), whether the tip is in the imaged slice (the engine's
``view_needle``, the same test a rendered frame uses), the structure at the
tip, the injected volume, whether the target's aim point is in the image, and
the events logged since the previous sample.
The same samples drive the live readout, the stored trajectory and a replay.
"""

from __future__ import annotations

import numpy as np

from simulator.app.scan_session import ScanSession
from simulator.scoring.samples import Sample


class SessionSampler:
    """Samples one session; each event goes into exactly one sample.

    Parameters
    ----------
    session : ScanSession
    """

    def __init__(self, session: ScanSession) -> None:
        self.session = session
        self._next_event = len(session.events)

    def sample(self, injecting: bool = False, t_s: float | None = None) -> Sample:
        """The session's state now.

        Parameters
        ----------
        injecting : bool
            Whether the plunger is being pushed (the window knows; headless
            callers say so).
        t_s : float, optional
            Sample time, s; default the session clock.

        Returns
        -------
        Sample
        """
        s = self.session
        t = s.clock() if t_s is None else float(t_s)
        events = s.events.events
        new = tuple(events[self._next_event :])
        self._next_event = len(events)
        probe2world = s.probe2world()
        target_in_image = None
        if s.target is not None:
            aim = np.asarray(s.target.point_mm, dtype=np.float64)[None, :]
            target_in_image = bool(s.engine.in_image(aim, probe2world, s.settings)[0])
        k = s.kinematics
        pose = None if k is None else k.pose
        if pose is None:
            return Sample(
                t_s=t,
                probe2world=probe2world,
                injected_ml=s.injection.injected_ml,
                injecting=injecting,
                target_in_image=target_in_image,
                events=new,
            )
        shape = s.needle_shape()
        assert shape is not None
        view = s.engine.view_needle(shape, probe2world, s.settings)
        return Sample(
            t_s=t,
            probe2world=probe2world,
            entry_mm=tuple(float(v) for v in pose.entry_mm),  # type: ignore[arg-type]
            tip_mm=tuple(float(v) for v in pose.tip_mm),  # type: ignore[arg-type]
            inserted=k.inserted,  # type: ignore[union-attr]
            depth_mm=k.depth_mm if k.inserted else 0.0,  # type: ignore[union-attr]
            tip_in_image=bool(view.tip_in_image),
            structure_at_tip=k.structure_at_tip if k.inserted else None,  # type: ignore[union-attr]
            kind_at_tip=k.kind_at_tip if k.inserted else None,  # type: ignore[union-attr]
            injected_ml=s.injection.injected_ml,
            injecting=injecting,
            target_in_image=target_in_image,
            events=new,
        )
