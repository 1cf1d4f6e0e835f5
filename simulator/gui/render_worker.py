"""Rendering of B-mode frames off the GUI thread, latest request wins."""

from __future__ import annotations

import threading
from collections.abc import Mapping
from dataclasses import dataclass

from PySide6.QtCore import QObject, QThreadPool, Signal

from simulator.engine import BModeEngine, BModeFrame, FrameRequest
from simulator.label_outlines import LabelOverlay, make_overlay


@dataclass(frozen=True)
class RenderJob:
    """One frame to synthesise.

    Attributes
    ----------
    engine : BModeEngine
        Engine of the scene the request belongs to.
    request : FrameRequest
        Pose and settings to image.
    ticket : int
        Increasing number of the job (later jobs have larger tickets).
    label_colours : mapping of int to RGB, optional
        When given, also compute the teaching overlay (labels and outlines of
        these structures, ``simulator.label_outlines.make_overlay``) on the
        worker thread.
    """

    engine: BModeEngine
    request: FrameRequest
    ticket: int
    label_colours: Mapping[int, tuple[float, float, float]] | None = None


class RenderWorker(QObject):
    """Runs ``engine.render`` on a single worker thread.

    Only the newest request waits: a request submitted while another is
    waiting replaces it (the stale one is never rendered). Results come back
    on the thread that owns this object (the GUI thread) as signals.

    Parameters
    ----------
    synchronous : bool
        Render inside ``submit`` on the calling thread (for tests and
        scripts); the signals are then emitted before ``submit`` returns.
    parent : QObject, optional

    Signals
    -------
    frame_ready(RenderJob, BModeFrame, object)
        A job finished; the third argument is a ``LabelOverlay`` when the
        job asked for one, else False (never None: see tests/test_qt_signals.py).
    render_failed(RenderJob, str)
        A job raised; the message names what was wrong.
    """

    frame_ready = Signal(object, object, object)
    render_failed = Signal(object, str)

    def __init__(self, synchronous: bool = False, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.synchronous = synchronous
        self._pool = QThreadPool(self)
        self._pool.setMaxThreadCount(1)
        self._lock = threading.Lock()
        self._pending: RenderJob | None = None
        self._busy = False
        self._ticket = 0
        self.n_dropped = 0

    def submit(
        self,
        engine: BModeEngine,
        request: FrameRequest,
        label_colours: Mapping[int, tuple[float, float, float]] | None = None,
    ) -> RenderJob:
        """Queue a frame, replacing any request still waiting.

        Parameters
        ----------
        engine : BModeEngine
        request : FrameRequest
        label_colours : mapping of int to RGB, optional
            Also compute the teaching overlay of these structures.

        Returns
        -------
        RenderJob
            The job (its ticket identifies the result).
        """
        self._ticket += 1
        job = RenderJob(engine, request, self._ticket, label_colours)
        if self.synchronous:
            self._run(job)
            return job
        with self._lock:
            if self._pending is not None:
                self.n_dropped += 1
            self._pending = job
            start = not self._busy
            self._busy = True
        if start:
            self._pool.start(self._drain)
        return job

    @property
    def last_ticket(self) -> int:
        """Ticket of the most recently submitted job (0 before any)."""
        return self._ticket

    def cancel_pending(self) -> None:
        """Forget the request still waiting, if any (a running one finishes)."""
        with self._lock:
            self._pending = None

    def wait_idle(self, timeout_ms: int = 10_000) -> bool:
        """Block until the worker has nothing to do; True if it became idle."""
        return self._pool.waitForDone(timeout_ms)

    def _drain(self) -> None:
        # worker thread: render the newest waiting job until none is left
        while True:
            with self._lock:
                job = self._pending
                self._pending = None
                if job is None:
                    self._busy = False
                    return
            self._run(job)

    def _run(self, job: RenderJob) -> None:
        try:
            frame: BModeFrame = job.engine.render(job.request)
            overlay: LabelOverlay | bool = False
            if job.label_colours is not None:
                overlay = make_overlay(
                    job.engine.volume,
                    frame.geometry,
                    frame.probe2world,
                    frame.inside,
                    job.label_colours,
                )
        except Exception as exc:  # reported to the user, never a bare traceback
            self.render_failed.emit(job, _describe(exc))
            return
        self.frame_ready.emit(job, frame, overlay)


def _describe(exc: Exception) -> str:
    """A one-line message for a rendering error."""
    from simulator.probe import SettingsError

    if isinstance(exc, SettingsError):
        return str(exc)
    return f"rendering failed: {type(exc).__name__}: {exc}"
