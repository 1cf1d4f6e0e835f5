"""The B-mode viewer window and ``run_app``, the desktop entry point.

The window shows one scene's B-mode image beside its imaging and probe
controls. It is thin: it keeps the current scene, settings and pose, sends
frame requests to a single render worker (latest request wins) and shows the
frames that come back.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtGui import QCloseEvent, QKeyEvent
from PySide6.QtWidgets import (
    QApplication,
    QComboBox,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QMainWindow,
    QVBoxLayout,
    QWidget,
)

from scenes import Scene, list_scene_files, load_scene
from simulator.engine import BModeEngine, BModeFrame, FrameRequest
from simulator.gui.controls import ImagingPanel, PosePanel, ProbePoseState
from simulator.gui.image_view import BModeImageView
from simulator.gui.render_worker import RenderJob, RenderWorker
from simulator.gui.theme import ERROR_COLOUR, apply_dark_theme
from simulator.probe import ImagingSettings, ProbeModel, SettingsError

WINDOW_TITLE = "Injection simulator — B-mode"
#: Scene shown at start-up.
DEFAULT_SCENE = "demo_msk"
#: Probe slide per arrow key press, mm.
MOVE_STEP_MM = 0.5
#: Rock / tilt per key press, degrees.
ANGLE_STEP_DEG = 1.0
#: Gain per +/- key press, dB.
GAIN_STEP_DB = 1.0


class ViewerWindow(QMainWindow):
    """Main window: B-mode image, scene chooser, imaging and probe controls.

    Parameters
    ----------
    scene : str or Path
        Scene name or ``.toml`` file shown first.
    synchronous : bool
        Render on the GUI thread inside each request (for tests); otherwise
        frames are rendered on one worker thread, latest request wins.
    parent : QWidget, optional

    Raises
    ------
    scenes.SceneError
        If the first scene cannot be loaded.
    """

    def __init__(
        self,
        scene: str | Path = DEFAULT_SCENE,
        synchronous: bool = False,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setWindowTitle(WINDOW_TITLE)
        self.scene: Scene | None = None
        self.engine: BModeEngine | None = None
        self.settings = ImagingSettings()
        self.pose = ProbePoseState()
        self._error_ticket = -1
        self._last_ms = 0.0

        self.worker = RenderWorker(synchronous=synchronous, parent=self)
        self.worker.frame_ready.connect(self._on_frame)
        self.worker.render_failed.connect(self._on_failed)

        self.image_view = BModeImageView()
        self.scene_combo = QComboBox()
        self._scene_files = list_scene_files()
        for path in self._scene_files:
            self.scene_combo.addItem(path.stem, str(path))
        self.scene_combo.setFocusPolicy(Qt.FocusPolicy.ClickFocus)
        self.scene_title = QLabel()
        self.scene_title.setWordWrap(True)
        self.imaging_panel = ImagingPanel()
        self.pose_panel = PosePanel()
        self._build_layout()
        self._build_status_bar()
        self._build_shortcuts()

        self._load(scene)
        self.scene_combo.currentIndexChanged.connect(self._on_scene_chosen)
        self.imaging_panel.setting_changed.connect(lambda n, v: self.set_settings(**{n: v}))
        self.pose_panel.pose_changed.connect(lambda n, v: self.set_pose(self.pose.with_field(n, v)))
        self.image_view.setFocus()
        self.resize(1400, 900)

    # ---------------------------------------------------------------- layout
    def _build_layout(self) -> None:
        scene_box = QGroupBox("Scene")
        sl = QVBoxLayout(scene_box)
        sl.addWidget(self.scene_combo)
        sl.addWidget(self.scene_title)
        side = QWidget()
        side.setFixedWidth(380)
        col = QVBoxLayout(side)
        col.setContentsMargins(4, 4, 4, 4)
        col.addWidget(scene_box)
        col.addWidget(self.imaging_panel)
        col.addWidget(self.pose_panel)
        col.addStretch(1)
        central = QWidget()
        row = QHBoxLayout(central)
        row.setContentsMargins(6, 6, 6, 6)
        row.addWidget(self.image_view, 1)
        row.addWidget(side)
        self.setCentralWidget(central)

    def _build_status_bar(self) -> None:
        self._message_label = QLabel()
        self._message_label.setStyleSheet(f"color: {ERROR_COLOUR.name()}; font-weight: bold;")
        self._info_label = QLabel()
        bar = self.statusBar()
        bar.setSizeGripEnabled(False)
        bar.addWidget(self._message_label, 1)
        bar.addPermanentWidget(self._info_label)

    def _build_shortcuts(self) -> None:
        # Keys reach the window when the focused widget does not use them
        # (the image view never does; a spin box keeps its own keys).
        self._key_actions: dict[int, Callable[[], None]] = {
            Qt.Key.Key_Right: lambda: self.move_probe(MOVE_STEP_MM, 0.0),
            Qt.Key.Key_Left: lambda: self.move_probe(-MOVE_STEP_MM, 0.0),
            Qt.Key.Key_Up: lambda: self.move_probe(0.0, MOVE_STEP_MM),
            Qt.Key.Key_Down: lambda: self.move_probe(0.0, -MOVE_STEP_MM),
            Qt.Key.Key_PageUp: lambda: self.turn_probe(rock_deg=ANGLE_STEP_DEG),
            Qt.Key.Key_PageDown: lambda: self.turn_probe(rock_deg=-ANGLE_STEP_DEG),
            Qt.Key.Key_BracketRight: lambda: self.turn_probe(tilt_deg=ANGLE_STEP_DEG),
            Qt.Key.Key_BracketLeft: lambda: self.turn_probe(tilt_deg=-ANGLE_STEP_DEG),
            Qt.Key.Key_Plus: lambda: self.change_gain(GAIN_STEP_DB),
            Qt.Key.Key_Equal: lambda: self.change_gain(GAIN_STEP_DB),
            Qt.Key.Key_Minus: lambda: self.change_gain(-GAIN_STEP_DB),
            Qt.Key.Key_Escape: self.image_view.setFocus,
        }

    def keyPressEvent(self, event: QKeyEvent) -> None:  # noqa: N802 (Qt API)
        """Probe and gain keys: arrows, PageUp/PageDown, [ ], + and -."""
        action = self._key_actions.get(event.key())
        if action is None:
            super().keyPressEvent(event)
            return
        action()
        event.accept()

    # --------------------------------------------------------------- scenes
    @property
    def probe(self) -> ProbeModel:
        """The probe model of the current scene."""
        assert self.scene is not None
        return self.scene.spec.probe.probe

    @property
    def frame(self) -> BModeFrame | None:
        """The frame on display (None before the first one)."""
        return self.image_view.frame

    def _load(self, path_or_name: str | Path) -> None:
        """Load a scene, reset settings and pose to its own, and render."""
        QApplication.setOverrideCursor(Qt.CursorShape.WaitCursor)
        try:
            scene = load_scene(path_or_name)
        finally:
            QApplication.restoreOverrideCursor()
        self._retire_engine()
        spec = scene.spec
        self.scene = scene
        self.engine = BModeEngine(scene.volume, spec.probe.probe)
        self.settings = spec.imaging
        self.pose = ProbePoseState(
            tuple(float(v) for v in spec.probe.position_mm),  # type: ignore[arg-type]
            spec.probe.yaw_deg,
            spec.probe.tilt_deg,
            spec.probe.rock_deg,
        )
        self.scene_title.setText(spec.title or spec.name)
        self._select_combo(Path(spec.path))
        self.imaging_panel.show_settings(self.settings, self.probe)
        self.pose_panel.show_pose(self.pose)
        self.image_view.clear("Rendering…")
        self.show_error("")
        self.request_render()

    def _select_combo(self, path: Path) -> None:
        i = self.scene_combo.findData(str(path))
        if i < 0:  # a scene file outside the built-in list
            self.scene_combo.addItem(path.stem, str(path))
            i = self.scene_combo.count() - 1
        self.scene_combo.blockSignals(True)
        self.scene_combo.setCurrentIndex(i)
        self.scene_combo.blockSignals(False)

    def select_scene(self, path_or_name: str | Path) -> bool:
        """Switch to another scene; on failure keep the current one.

        Parameters
        ----------
        path_or_name : str or Path
            Scene name (file stem) or ``.toml`` path.

        Returns
        -------
        bool
            True if the scene was loaded.
        """
        try:
            self._load(path_or_name)
        except (ValueError, OSError) as exc:  # SceneError and mesh errors are ValueErrors
            self.show_error(str(exc))
            if self.scene is not None:
                self._select_combo(Path(self.scene.spec.path))
            return False
        return True

    def _on_scene_chosen(self, index: int) -> None:
        path = self.scene_combo.itemData(index)
        if path:
            self.select_scene(path)

    def _retire_engine(self) -> None:
        self.worker.cancel_pending()
        self.worker.wait_idle()
        if self.engine is not None:
            self.engine.close()
            self.engine = None

    # ------------------------------------------------------------ intents
    def set_settings(self, **changes: object) -> bool:
        """Change imaging settings (fields of ``ImagingSettings``) and re-render.

        Invalid settings are refused: the status bar names the problem, the
        controls go back to the last good settings and the image stays.

        Returns
        -------
        bool
            True if the settings were accepted.
        """
        try:
            new = self.settings.with_(**changes)
            new.validate(self.probe)
        except (SettingsError, TypeError) as exc:
            self.show_error(str(exc))
            self.imaging_panel.show_settings(self.settings, self.probe)
            return False
        self.settings = new
        self.imaging_panel.show_settings(new, self.probe)
        self.request_render()
        return True

    def set_pose(self, pose: ProbePoseState) -> None:
        """Put the probe at ``pose`` and re-render."""
        self.pose = pose
        self.pose_panel.show_pose(pose)
        self.request_render()

    def move_probe(self, dx_mm: float, dy_mm: float) -> None:
        """Slide the probe on the skin by ``(dx_mm, dy_mm)`` (scene frame, mm)."""
        self.set_pose(self.pose.moved(dx_mm, dy_mm))

    def turn_probe(self, tilt_deg: float = 0.0, rock_deg: float = 0.0) -> None:
        """Tilt and/or rock the probe by the given angles, degrees."""
        p = self.pose
        self.set_pose(
            p.with_field("tilt_deg", p.tilt_deg + tilt_deg).with_field(
                "rock_deg", p.rock_deg + rock_deg
            )
        )

    def change_gain(self, delta_db: float) -> None:
        """Raise (or lower) the overall gain by ``delta_db``."""
        self.set_settings(gain_db=self.settings.gain_db + delta_db)

    def request_render(self) -> None:
        """Ask the worker for a frame of the current pose and settings."""
        if self.engine is None:
            return
        request = FrameRequest(
            probe2world=self.pose.probe2world(),
            settings=self.settings,
            timestamp_s=time.monotonic(),
        )
        self.worker.submit(self.engine, request)

    # ------------------------------------------------------------ results
    def _on_frame(self, job: RenderJob, frame: BModeFrame) -> None:
        if job.engine is not self.engine:
            return  # a frame of the previous scene
        self.image_view.set_frame(frame)
        self._last_ms = float(frame.timings_ms.get("total", 0.0))
        if job.ticket > self._error_ticket:
            self.show_error("")
        self._update_info(frame)

    def _on_failed(self, job: RenderJob, message: str) -> None:
        if job.engine is not self.engine:
            return
        self.show_error(message)

    def show_error(self, message: str) -> None:
        """Show ``message`` in the status bar (empty clears it)."""
        self._message_label.setText(message)
        if message:
            self._error_ticket = self.worker.last_ticket
            self._message_label.setToolTip(message)

    def status_text(self) -> str:
        """Everything the status bar shows, as one string (for tests and logs)."""
        return " | ".join(t for t in (self._message_label.text(), self._info_label.text()) if t)

    def _update_info(self, frame: BModeFrame) -> None:
        assert self.scene is not None
        s = frame.settings
        ms = self._last_ms
        fps = 1000.0 / ms if ms > 0 else 0.0
        self._info_label.setText(
            f"{self.scene.spec.name}  ·  {self.probe.name}  ·  {s.freq_mhz:.1f} MHz  ·  "
            f"depth {s.depth_mm:.0f} mm  ·  gain {s.gain_db:+.0f} dB  ·  "
            f"{ms:.0f} ms/frame ({fps:.0f} fps)"
        )

    def closeEvent(self, event: QCloseEvent) -> None:  # noqa: N802 (Qt API)
        """Stop rendering and free the engine's threads."""
        self._retire_engine()
        super().closeEvent(event)


def run_app(args: argparse.Namespace | None = None) -> int:
    """Run the desktop application until its window closes.

    Parameters
    ----------
    args : argparse.Namespace, optional
        Parsed command line of ``main.py``: ``app_scene`` (a scene name or
        any ``.toml`` file) is the scene to open.

    Returns
    -------
    int
        Exit status of the Qt event loop.
    """
    scene = getattr(args, "app_scene", None) or DEFAULT_SCENE
    if args is not None and getattr(args, "app_scene", None):
        from scenes import load_scene_spec
        from scenes.cache import find_scene

        load_scene_spec(find_scene(scene))  # a broken file: error before any window
    app = QApplication.instance()
    if not isinstance(app, QApplication):
        app = QApplication(sys.argv[:1])
    app.setApplicationName("Injection simulator")
    apply_dark_theme(app)
    window = ViewerWindow(scene=scene)
    window.show()
    return int(app.exec())
