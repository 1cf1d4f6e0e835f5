"""Loading scenes off the GUI thread, the newest request wins.

``SceneLoader.load(path_or_name)`` runs ``scenes.load_scene`` (voxelising the
scene or reading it from the cache) and reads its VTK meshes on one worker
thread. Progress, the loaded ``Scene`` and failures come back as signals on
the thread that owns the loader (the GUI thread). A newer request supersedes
an older one: the older build is abandoned at its next progress report (the
progress callback raises a private exception) and nothing it produces is ever
emitted.
"""

from __future__ import annotations

import threading
from pathlib import Path

from PySide6.QtCore import QCoreApplication, QObject, Qt, QThreadPool, Signal, Slot

from scenes import Scene, SceneError, load_scene
from scenes.meshes import MeshError

#: Share of the progress range given to ``load_scene``; the rest: reading meshes.
_LOAD_SHARE = 0.96


class _Superseded(Exception):  # noqa: N818  (a control-flow signal, not an error)
    """Raised inside the worker when a newer request replaced this one."""


class SceneLoader(QObject):
    """Loads scenes on a worker thread and reports on the GUI thread.

    Parameters
    ----------
    cache_dir : str or Path, optional
        Volume cache folder (default: ``scenes.cache.default_cache_dir()``).
    synchronous : bool
        Load inside ``load`` on the calling thread, emitting every signal
        before ``load`` returns (tests, scripts).
    parent : QObject, optional

    Signals
    -------
    progress(float, str)
        Fraction in [0, 1] (never decreasing within a request) and the stage,
        e.g. ``"voxelising femur (3/11)"``; the last one is ``(1.0, "ready")``.
    loaded(object)
        The ``scenes.Scene``, its ``meshes`` already read.
    failed(str)
        What was wrong, naming the scene file; never a traceback.

    Notes
    -----
    Signals of a superseded request are never emitted. The worker reports
    through private signals connected with ``Qt.QueuedConnection`` to slots of
    this object, which re-emit the public signals on the GUI thread only if
    the request is still the newest.
    """

    progress = Signal(float, str)
    loaded = Signal(object)
    failed = Signal(str)

    # worker thread -> GUI thread (queued): request id first
    _progress_w = Signal(int, float, str)
    _loaded_w = Signal(int, object)
    _failed_w = Signal(int, str)

    def __init__(
        self,
        cache_dir: str | Path | None = None,
        synchronous: bool = False,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self.cache_dir = cache_dir
        self.synchronous = synchronous
        self._pool = QThreadPool(self)
        self._pool.setMaxThreadCount(1)
        self._lock = threading.Lock()
        self._latest = 0  # newest request id (written on the GUI thread only)
        self._busy = False
        queued = Qt.ConnectionType.QueuedConnection
        self._progress_w.connect(self._on_progress, queued)
        self._loaded_w.connect(self._on_loaded, queued)
        self._failed_w.connect(self._on_failed, queued)

    # ------------------------------------------------------------------ API

    def load(self, path_or_name: str | Path) -> int:
        """Start loading a scene; any earlier request is superseded.

        Parameters
        ----------
        path_or_name : str or Path
            A ``.toml`` path or a built-in scene name (see ``scenes.load_scene``).

        Returns
        -------
        int
            The request id (increasing).
        """
        with self._lock:
            self._latest += 1
            request = self._latest
        self._busy = True
        if self.synchronous:
            self._run(request, path_or_name, direct=True)
        else:
            self._pool.start(lambda: self._run(request, path_or_name, direct=False))
        return request

    @property
    def busy(self) -> bool:
        """True from ``load`` until the newest request's ``loaded``/``failed``."""
        return self._busy

    @property
    def latest_request(self) -> int:
        """Id of the newest request (0 before any)."""
        return self._latest

    def wait(self, timeout_ms: int = 30_000) -> bool:
        """Block until the worker is idle, then deliver its pending signals.

        For tests and scripts only: it blocks the calling (GUI) thread.

        Returns
        -------
        bool
            True if the worker finished within ``timeout_ms``.
        """
        done = self._pool.waitForDone(timeout_ms)
        QCoreApplication.sendPostedEvents(self)
        return done

    # --------------------------------------------------------------- worker

    def _run(self, request: int, path_or_name: str | Path, direct: bool) -> None:
        """Load one request (worker thread, or the caller's when synchronous)."""
        progress_sig = self._progress_w if not direct else None

        def report(fraction: float, message: str) -> None:
            if request != self._latest:
                raise _Superseded
            if progress_sig is not None:
                progress_sig.emit(request, fraction, message)
            else:
                self._on_progress(request, fraction, message)

        def report_load(fraction: float, message: str) -> None:
            if fraction >= 1.0:  # load_scene's "ready": the meshes are still to read
                report(_LOAD_SHARE, "reading meshes")
            else:
                report(_LOAD_SHARE * fraction, message)

        try:
            scene = load_scene(path_or_name, cache_dir=self.cache_dir, progress=report_load)
            _ = scene.meshes  # read the VTK meshes here, not on the GUI thread
            report(1.0, "ready")
        except _Superseded:
            return
        except Exception as exc:  # reported as a message, never a traceback
            message = describe_load_error(path_or_name, exc)
            if direct:
                self._on_failed(request, message)
            else:
                self._failed_w.emit(request, message)
            return
        if direct:
            self._on_loaded(request, scene)
        else:
            self._loaded_w.emit(request, scene)

    # ---------------------------------------------------------- GUI thread

    @Slot(int, float, str)
    def _on_progress(self, request: int, fraction: float, message: str) -> None:
        if request == self._latest:
            self.progress.emit(fraction, message)

    @Slot(int, object)
    def _on_loaded(self, request: int, scene: Scene) -> None:
        if request == self._latest:
            self._busy = False
            self.loaded.emit(scene)

    @Slot(int, str)
    def _on_failed(self, request: int, message: str) -> None:
        if request == self._latest:
            self._busy = False
            self.failed.emit(message)


def describe_load_error(path_or_name: str | Path, exc: BaseException) -> str:
    """A one-line message for a failed scene load, naming the scene file.

    Parameters
    ----------
    path_or_name : str or Path
        What was asked for.
    exc : BaseException
        What ``load_scene`` raised.

    Returns
    -------
    str
    """
    if isinstance(exc, SceneError):
        return str(exc)  # names the scene file and the field
    if isinstance(exc, MeshError):
        return _named(path_or_name, str(exc))
    if isinstance(exc, OSError):
        where = exc.filename or path_or_name
        return f"scene '{path_or_name}': cannot read '{where}' ({exc.strerror or exc})"
    return _named(path_or_name, f"loading failed: {type(exc).__name__}: {exc}")


def _named(path_or_name: str | Path, text: str) -> str:
    return f"scene '{path_or_name}': {text}"
