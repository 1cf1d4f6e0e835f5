"""The presentation window for a projector or second screen (demonstration mode).

It mirrors the instructor's window: a large ultrasound image with large
labels and readouts, and optionally the 3D anatomy view beside it. It has no
controls; the instructor drives everything from the main window, which
stays on the laptop. With a single screen it opens as an ordinary window.
"""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QCloseEvent, QGuiApplication, QKeyEvent, QScreen
from PySide6.QtWidgets import QHBoxLayout, QLabel, QVBoxLayout, QWidget

from scenes import Scene
from simulator.engine import BModeFrame
from simulator.gui.anatomy_view import AnatomyView
from simulator.gui.image_view import BModeImageView
from simulator.probe import ProbeModel

#: Text and marker scale of the presentation image (readable from the back).
TEXT_SCALE = 2.0
#: Title font size, points.
TITLE_PT = 28


class PresentationWindow(QWidget):
    """Large image (and optional 3D view) for the audience.

    Signals
    -------
    closed()
        The window was closed (by the instructor or the window manager).
    """

    closed = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent, Qt.WindowType.Window)
        self.setWindowTitle("Injection simulator — presentation")
        self.setObjectName("presentation_window")
        self.title = QLabel()
        self.title.setStyleSheet(f"font-size: {TITLE_PT}pt; font-weight: bold; padding: 6px;")
        self.image_view = BModeImageView()
        self.image_view.set_text_scale(TEXT_SCALE)
        self.image_view.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.anatomy_view: AnatomyView | None = None
        self._scene: Scene | None = None
        self._probe: tuple[np.ndarray, ProbeModel] | None = None
        self._needle: tuple[np.ndarray | None, np.ndarray | None, int] = (None, None, 22)
        self._frame: BModeFrame | None = None
        self._injectate: object = None
        self._key_target: QWidget | None = None
        self._row = QHBoxLayout()
        self._row.setContentsMargins(0, 0, 0, 0)
        self._row.addWidget(self.image_view, 3)
        col = QVBoxLayout(self)
        col.setContentsMargins(8, 4, 8, 8)
        col.addWidget(self.title)
        col.addLayout(self._row, 1)
        self.setStyleSheet("background: black; color: white;")

    # ------------------------------------------------------------- layout
    @property
    def shows_3d(self) -> bool:
        """Whether the 3D view is shown beside the image."""
        return self.anatomy_view is not None

    def set_show_3d(self, show: bool) -> None:
        """Show or hide the 3D anatomy view beside the image."""
        if show == self.shows_3d:
            return
        if show:
            view = AnatomyView()
            self.anatomy_view = view
            self._row.addWidget(view, 2)
            if self._scene is not None:
                view.set_scene(self._scene)
            self._sync_3d()
        else:
            view, self.anatomy_view = self.anatomy_view, None
            assert view is not None
            self._row.removeWidget(view)
            view.finalize()
            view.deleteLater()

    def show_on_best_screen(self, instructor_screen: QScreen | None = None) -> None:
        """Full screen on a screen other than the instructor's, else a normal window."""
        others = [s for s in QGuiApplication.screens() if s is not instructor_screen]
        if instructor_screen is not None and others:
            screen = others[0]
            self.setGeometry(screen.geometry())
            self.showFullScreen()
            return
        self.resize(1280, 800)
        self.show()

    # -------------------------------------------------------------- state
    def set_scene(self, scene: Scene) -> None:
        """Show ``scene``'s title and anatomy."""
        self._scene = scene
        self.title.setText(scene.spec.title or scene.spec.name)
        self.image_view.clear("")
        if self.anatomy_view is not None:
            self.anatomy_view.set_scene(scene)

    def set_probe(self, probe2world: np.ndarray, probe: ProbeModel) -> None:
        """Move the probe of the 3D view."""
        self._probe = (probe2world, probe)
        if self.anatomy_view is not None:
            self.anatomy_view.set_probe(probe2world, probe)
            self.anatomy_view.request_render()

    def set_needle(self, hub_mm: np.ndarray | None, tip_mm: np.ndarray | None, gauge: int) -> None:
        """Move (or hide, with None) the needle of the 3D view."""
        self._needle = (hub_mm, tip_mm, gauge)
        if self.anatomy_view is not None:
            self.anatomy_view.set_needle(hub_mm, tip_mm, gauge)
            self.anatomy_view.request_render()

    def set_injectate(self, box: object) -> None:
        """Show (or with None hide) the injectate surface in the 3D view."""
        self._injectate = box
        if self.anatomy_view is not None:
            self.anatomy_view.set_injectate(box)  # type: ignore[arg-type]
            self.anatomy_view.request_render()

    def set_frame(self, frame: BModeFrame) -> None:
        """Put ``frame`` in place in the 3D view (the image view is fed directly)."""
        self._frame = frame
        if self.anatomy_view is not None:
            self.anatomy_view.set_frame(frame)
            self.anatomy_view.request_render()

    def _sync_3d(self) -> None:
        if self.anatomy_view is None:
            return
        if self._probe is not None:
            self.anatomy_view.set_probe(*self._probe)
        self.anatomy_view.set_needle(*self._needle)
        self.anatomy_view.set_injectate(self._injectate)  # type: ignore[arg-type]
        if self._frame is not None:
            self.anatomy_view.set_frame(self._frame)
        self.anatomy_view.set_camera_preset("probe")
        self.anatomy_view.request_render()

    def forward_keys_to(self, target: QWidget | None) -> None:
        """Send key presses on this window to ``target`` (the instructor's window)."""
        self._key_target = target

    def keyPressEvent(self, event: QKeyEvent) -> None:  # noqa: N802 (Qt API)
        """Keys typed on the presentation window drive the instructor's window."""
        if self._key_target is not None:
            self._key_target.keyPressEvent(event)
            return
        super().keyPressEvent(event)

    def closeEvent(self, event: QCloseEvent) -> None:  # noqa: N802 (Qt API)
        """Free the 3D view and tell the main window."""
        if self.anatomy_view is not None:
            self.anatomy_view.finalize()
        self.closed.emit()
        super().closeEvent(event)
