"""The main window: ultrasound screen, 3D anatomy, imaging and procedure panels.

The window is thin. It owns a ``ScanSession`` (scene, probe on the skin,
needle, settings), turns keys, mouse gestures and panel edits into the
session's intents, sends frame requests to one render worker (the newest
pose wins) and shows the frames that come back on the ultrasound screen, in
the 3D view and, in demonstration mode, on the presentation window. Scenes
load on a worker thread with progress shown. An ``AttemptController`` records
and scores the attempt (dock "Score"); ``ModeControl`` holds the mode
(practice, exam, demo) and the exam's guidance lock.
"""

from __future__ import annotations

import os
import tempfile
import time
from pathlib import Path

import numpy as np
from PySide6.QtCore import Qt, QTimer
from PySide6.QtGui import QAction, QCloseEvent, QKeyEvent, QResizeEvent
from PySide6.QtWidgets import (
    QApplication,
    QDockWidget,
    QFileDialog,
    QLabel,
    QMainWindow,
    QMenu,
    QProgressBar,
    QScrollArea,
    QSlider,
    QToolBar,
    QVBoxLayout,
    QWidget,
)

from scenes import Scene, SceneSpec
from scenes.skin import skin_surface
from simulator.app.scan_session import ScanSession
from simulator.cine import CineBuffer
from simulator.engine import BModeFrame
from simulator.gui.anatomy_view import CAMERA_PRESETS, AnatomyView
from simulator.gui.attempt_controller import (
    DEFAULT_EXAM_LIMIT_S,
    AttemptController,
    AttemptResult,
)
from simulator.gui.controls import ImagingPanel, PosePanel
from simulator.gui.event_panel import EventPanel
from simulator.gui.help_overlay import HelpOverlay
from simulator.gui.image_view import BModeImageView
from simulator.gui.injection_control import InjectionControl
from simulator.gui.keymap import binding_for, step_kind
from simulator.gui.mode_control import LOCKED_MESSAGE, ModeControl
from simulator.gui.needle_panel import NeedlePanel
from simulator.gui.presentation import PresentationWindow
from simulator.gui.procedure_panel import ProcedurePanel
from simulator.gui.quiz_dialog import QuizDialog, open_quiz_dialog
from simulator.gui.render_worker import RenderJob, RenderWorker
from simulator.gui.replay_window import ReplayWindow, open_replay_window
from simulator.gui.results_dialog import ResultsDialog, open_results_dialog
from simulator.gui.scene_loader import SceneLoader
from simulator.gui.score_panel import ScorePanel
from simulator.gui.settings_store import (
    Remembered,
    load_remembered,
    open_settings,
    save_remembered,
)
from simulator.gui.theme import ERROR_COLOUR
from simulator.gui.tracker_dialog import TrackerDialog, open_tracker_dialog
from simulator.gui.tracking_control import tracking_of
from simulator.label_outlines import LabelOverlay
from simulator.presets import PRESETS
from simulator.probe import SettingsError
from simulator.records import DB_ENV_VAR, RecordStore

WINDOW_TITLE = "Injection simulator"
#: Scene shown at the very first start.
DEFAULT_SCENE = "demo_msk"
#: Frames kept for cine review.
CINE_FRAMES = 128
#: Image millimetres of probe slide per millimetre dragged on the image.
DRAG_GAIN = 1.0
#: Highest render rate of the 3D view while frames stream, frames per second.
#: Software OpenGL on a 2-core machine takes ~20-60 ms (and both cores) per 3D
#: render; capping it keeps the ultrasound screen (the priority) above 30 fps
#: while the probe moves (scripts/bench-gui).
ANATOMY_MAX_FPS = 10.0
#: Highest 3D render rate while only the live image changes (probe and needle still).
ANATOMY_IMAGE_ONLY_FPS = 4.0
#: Largest share of the time the 3D view may take while frames stream: a slow
#: render (a large, translucent scene, or a loaded machine) is rendered less often.
ANATOMY_TIME_SHARE = 0.2
#: The 3D view catches up this long after the last frame (the probe came to rest), ms.
REST_RENDER_MS = 80
#: Frame-rate readout smoothing (exponential, per frame).
FPS_SMOOTHING = 0.1
#: The frame-rate figure on screen changes at most this often, s (a new text
#: every frame would re-lay out the screen and the status bar every frame).
FPS_READOUT_INTERVAL_S = 0.5
#: Frames closer together than this count as a moving probe for the fps readout, s.
MOVING_INTERVAL_S = 0.25
#: How long a needle or injection notice stays in the status bar, ms.
NOTICE_MS = 8000


class MainWindow(QMainWindow):
    """The practice and demonstration window.

    Parameters
    ----------
    scene : str or Path, optional
        Scene name or ``.toml`` file to open; default the last scene used
        (remembered) or ``DEFAULT_SCENE``.
    synchronous : bool
        Load scenes and render frames on the GUI thread (tests); otherwise
        both run on worker threads.
    remember : bool
        Restore and save the window layout, last scene and preset.
    db_path : str or Path, optional
        The attempt records file; default ``simulator.records.default_db_path()``
        (``$INJECTION_SIM_DB``). With ``remember=False`` and no
        ``$INJECTION_SIM_DB`` a throw-away file in the temporary folder is used,
        so a window that remembers nothing records nothing in the user's records.
    parent : QWidget, optional
    """

    def __init__(
        self,
        scene: str | Path | None = None,
        synchronous: bool = False,
        remember: bool = True,
        db_path: str | Path | None = None,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setWindowTitle(WINDOW_TITLE)
        self.setObjectName("main_window")
        self.session: ScanSession | None = None
        self.frozen = False
        self.cine = CineBuffer(CINE_FRAMES)
        self.labels_visible = False
        self.presentation: PresentationWindow | None = None
        self._remember = remember
        self._settings_store = open_settings() if remember else None
        self._remembered = (
            load_remembered(self._settings_store) if self._settings_store else Remembered()
        )
        self._fps = 0.0
        self._fps_shown = 0.0
        self._fps_shown_t = -1e9
        self._last_frame_t: float | None = None
        self._error_ticket = -1
        self._loading = ""
        self._pending_note = ""
        self._label_names: dict[int, tuple[str, tuple[float, float, float]]] = {}
        self._label_colours: dict[int, tuple[float, float, float]] = {}

        self.worker = RenderWorker(synchronous=synchronous, parent=self)
        self.worker.frame_ready.connect(self._on_frame)
        self.worker.render_failed.connect(self._on_render_failed)
        self.loader = SceneLoader(synchronous=synchronous, parent=self)
        self.loader.progress.connect(self._on_load_progress)
        self.loader.loaded.connect(self._on_scene_loaded)
        self.loader.failed.connect(self._on_load_failed)

        self.image_view = BModeImageView()
        self.image_view.caliper_changed.connect(self._on_caliper)
        self.image_view.drag_mm.connect(self._on_image_drag)
        self.image_view.wheel_steps.connect(self._on_image_wheel)
        self.anatomy_view = AnatomyView()
        self.anatomy_view.skin_clicked.connect(self._on_skin_clicked)
        self.anatomy_view.set_max_fps(ANATOMY_MAX_FPS)
        self._3d_stale = False
        self._3d_pose_changed = False
        self._last_3d_s = -1e9
        self._rest_timer = QTimer(self)
        self._rest_timer.setSingleShot(True)
        self._rest_timer.setInterval(REST_RENDER_MS)
        self._rest_timer.timeout.connect(self._on_rest)
        self.imaging_panel = ImagingPanel()
        self.pose_panel = PosePanel()
        self.needle_panel = NeedlePanel()
        self.procedure_panel = ProcedurePanel()
        self.event_panel = EventPanel()
        self.injection_control = InjectionControl(
            lambda: self.session,
            self.needle_panel,
            self.event_panel,
            on_change=self._pose_changed,
            on_notice=lambda text: self.statusBar().showMessage(text, NOTICE_MS),
            on_injectate=self._show_injectate,
            parent=self,
        )
        self.help_overlay = HelpOverlay(self)
        self.score_panel = ScorePanel()
        self.target_visible = True
        self._guidance_before_exam: dict[str, bool] | None = None
        self.attempts = AttemptController(
            RecordStore(_records_path(db_path, remember)),
            injecting=lambda: self.injection_control.injecting,
            parent=self,
        )
        self.modes = ModeControl(self.attempts, self._notice, self)
        self._build_docks()
        self._build_toolbar()
        self._build_menus()
        self._build_status_bar()
        self._connect_panels()
        self._connect_attempts()
        self.resize(1600, 1000)
        self._restore_layout()
        recovered = len(self.attempts.store.recovered)
        if recovered:
            self._pending_note = (
                f"{recovered} interrupted attempt{'s' if recovered > 1 else ''} "
                "recovered as incomplete"
            )

        first = scene or self._remembered.last_scene or DEFAULT_SCENE
        self.labels_visible = self._remembered.labels_visible
        self.anatomy_view.set_skin_opacity(self._remembered.skin_opacity)
        self.skin_slider.setValue(round(100 * self._remembered.skin_opacity))
        self.action_labels.setChecked(self.labels_visible)
        self.image_view.setFocus()
        self.open_scene(first)

    # ================================================================ layout
    def _build_docks(self) -> None:
        self.setCentralWidget(self.image_view)
        self.setDockNestingEnabled(True)

        def dock(title: str, name: str, widget: QWidget, area: Qt.DockWidgetArea) -> QDockWidget:
            d = QDockWidget(title, self)
            d.setObjectName(name)
            d.setWidget(widget)
            d.setFeatures(
                QDockWidget.DockWidgetFeature.DockWidgetMovable
                | QDockWidget.DockWidgetFeature.DockWidgetFloatable
                | QDockWidget.DockWidgetFeature.DockWidgetClosable
            )
            self.addDockWidget(area, d)
            return d

        controls = QWidget()
        col = QVBoxLayout(controls)
        col.setContentsMargins(4, 4, 4, 4)
        col.addWidget(self.imaging_panel)
        col.addWidget(self.pose_panel)
        col.addWidget(self.needle_panel)
        col.addStretch(1)
        scroll = QScrollArea()
        scroll.setWidget(controls)
        scroll.setWidgetResizable(True)
        scroll.setMinimumWidth(400)
        scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        right = Qt.DockWidgetArea.RightDockWidgetArea
        left = Qt.DockWidgetArea.LeftDockWidgetArea
        self.dock_controls = dock("Controls", "dock_controls", scroll, left)
        self.dock_3d = dock("3D anatomy", "dock_3d", self.anatomy_view, right)
        self.dock_procedure = dock("Procedure", "dock_procedure", self.procedure_panel, right)
        self.dock_events = dock("Needle events", "dock_events", self.event_panel, right)
        # the score under the controls: always in sight, whatever the right column shows
        self.dock_score = dock("Score", "dock_score", self.score_panel, left)
        self.splitDockWidget(self.dock_controls, self.dock_score, Qt.Orientation.Vertical)
        self.dock_score.hide()  # shown when an attempt starts
        self.tabifyDockWidget(self.dock_procedure, self.dock_events)
        self.dock_procedure.raise_()
        self.event_panel.notable.connect(self.dock_events.raise_)
        self.resizeDocks([self.dock_controls], [410], Qt.Orientation.Horizontal)
        self.resizeDocks([self.dock_3d], [560], Qt.Orientation.Horizontal)
        self.resizeDocks([self.dock_3d, self.dock_procedure], [520, 380], Qt.Orientation.Vertical)
        self.resizeDocks([self.dock_controls, self.dock_score], [600, 340], Qt.Orientation.Vertical)

    def _build_toolbar(self) -> None:
        bar = QToolBar("Main")
        bar.setObjectName("toolbar_main")
        bar.setMovable(False)
        bar.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.addToolBar(bar)

        def action(text: str, tip: str, slot, checkable: bool = False) -> QAction:  # type: ignore[no-untyped-def]
            a = QAction(text, self)
            a.setToolTip(tip)
            a.setCheckable(checkable)
            a.triggered.connect(slot)
            bar.addAction(a)
            return a

        self.action_freeze = action(
            "Freeze", "Freeze / unfreeze (Space)", self._on_freeze_action, True
        )
        self.action_labels = action(
            "Labels", "Structure labels on the image (L)", self._on_labels_action, True
        )
        self.action_calipers = action(
            "Calipers", "Measure a distance: click two points (C)", self._on_calipers_action, True
        )
        action("Save image", "Save the ultrasound screen as PNG (P)", self.save_image_dialog)
        bar.addSeparator()
        for i, name in enumerate(CAMERA_PRESETS):
            action(
                f"{name.capitalize()} view",
                f"3D camera: {name} view ({i + 1})",
                lambda _=False, n=name: self.anatomy_view.set_camera_preset(n),
            )
        bar.addWidget(QLabel("  Skin "))
        self.skin_slider = QSlider(Qt.Orientation.Horizontal)
        self.skin_slider.setRange(0, 100)
        self.skin_slider.setFixedWidth(110)
        self.skin_slider.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.skin_slider.setToolTip("Skin opacity in the 3D view")
        self.skin_slider.valueChanged.connect(
            lambda v: self.anatomy_view.set_skin_opacity(v / 100.0)
        )
        bar.addWidget(self.skin_slider)
        bar.addSeparator()
        self.action_presentation = action(
            "Presentation",
            "Presentation window for a projector (F5)",
            self._on_presentation_action,
            True,
        )
        action("Help", "Keyboard and mouse (F1)", self.help_overlay.toggle)
        bar.addSeparator()
        self.action_target = action(
            "Target", "Target highlight in 3D and procedure notes (T)", self._on_target_action, True
        )
        self.action_target.setChecked(True)
        bar.addWidget(QLabel("  Mode "))
        bar.addWidget(self.modes.combo)
        self.action_attempt = action(
            "Start attempt", "Start / finish the scored attempt (F9)", self.toggle_attempt
        )
        self.trainee_label = QLabel()
        bar.addWidget(self.trainee_label)
        for a in bar.actions():
            w = bar.widgetForAction(a)
            if w is not None:
                w.setFocusPolicy(Qt.FocusPolicy.NoFocus)

    def _build_menus(self) -> None:
        """Menus: Attempt (mode, trainee, instructor) and Records (other dialogs)."""
        menu = self.menuBar().addMenu("&Attempt")
        menu.addAction("Start / finish attempt\tF9", self.toggle_attempt)
        menu.addAction("Grade of the last attempt…\tG", self.open_grade)
        for mode, title in (("practice", "Practice"), ("exam", "Exam…"), ("demo", "Demo")):
            menu.addAction(f"{title} mode", lambda m=mode: self.modes.request_mode(m))
        menu.addSeparator()
        menu.addAction("Trainee…", self.choose_trainee)
        menu.addAction("Add instructor…", self.modes.add_instructor)
        menu.addAction("Unlock guidance (instructor PIN)…", self.unlock_guidance)
        self.records_menu = self.menuBar().addMenu("&Records")
        self.action_results = self.records_menu.addAction("Results…", self.open_results)
        self.action_replay = self.records_menu.addAction("Replay last attempt…", self.open_replay)
        self.action_quiz = self.records_menu.addAction("Image quiz…", self.open_quiz)
        tracking = self.menuBar().addMenu("&Tracking")
        self.action_tracking = tracking.addAction("Connect tracker…", self.open_tracking)

    def _build_status_bar(self) -> None:
        self._message_label = QLabel()
        self._message_label.setStyleSheet(f"color: {ERROR_COLOUR.name()}; font-weight: bold;")
        self._info_label = QLabel()
        self.progress_bar = QProgressBar()
        self.progress_bar.setRange(0, 100)
        self.progress_bar.setFixedWidth(260)
        self.progress_bar.hide()
        bar = self.statusBar()
        bar.setSizeGripEnabled(False)
        bar.addWidget(self._message_label, 1)
        bar.addPermanentWidget(self.progress_bar)
        bar.addPermanentWidget(self._info_label)

    def _connect_panels(self) -> None:
        ip = self.imaging_panel
        ip.setting_changed.connect(lambda n, v: self.set_settings(**{n: v}))
        ip.preset_chosen.connect(self.apply_preset)
        ip.probe_chosen.connect(self.choose_probe)
        self.pose_panel.pose_changed.connect(self._on_pose_field)
        self.needle_panel.action.connect(lambda name, amount: self.do_action(name, amount))
        self.procedure_panel.scene_chosen.connect(self._on_scene_chosen)

    def _connect_attempts(self) -> None:
        a = self.attempts
        a.started.connect(self._on_attempt_started)
        a.readout.connect(self.score_panel.show_readout)
        a.finished.connect(self._on_attempt_finished)
        self.modes.mode_changed.connect(self._on_mode_changed)
        self._show_attempt_state()

    def _restore_layout(self) -> None:
        r = self._remembered
        if r.geometry is not None:
            self.restoreGeometry(r.geometry)
        if r.window_state is not None:
            self.restoreState(r.window_state)

    # ================================================================ scenes
    @property
    def scene(self) -> Scene | None:
        """The scene on screen (None while the first one loads)."""
        return self.session.scene if self.session is not None else None

    @property
    def frame(self) -> BModeFrame | None:
        """The frame on the ultrasound screen."""
        return self.image_view.frame

    def open_scene(self, path_or_name: str | Path) -> None:
        """Load a scene on the loader thread; the current one stays until it is ready."""
        self._loading = str(path_or_name)
        self.progress_bar.setValue(0)
        self.progress_bar.setFormat(f"{Path(str(path_or_name)).stem}: %p%")
        self.progress_bar.show()
        if self.session is None:
            self.image_view.clear(f"Loading {Path(str(path_or_name)).stem}…")
        self.loader.load(path_or_name)

    def _on_load_progress(self, fraction: float, message: str) -> None:
        self.progress_bar.setValue(round(100 * fraction))
        self.progress_bar.setToolTip(message)
        if self.session is None:
            self.image_view.clear(f"{message}  {100 * fraction:.0f} %")

    def _on_load_failed(self, message: str) -> None:
        self.progress_bar.hide()
        self.show_error(message)
        if self.session is None and self._loading != DEFAULT_SCENE:
            # e.g. the remembered last scene was moved away: open the default one
            self._pending_note = f"{message}; opened {DEFAULT_SCENE} instead"
            self.open_scene(DEFAULT_SCENE)
            return
        if self.session is None:
            self.image_view.clear("Could not load the scene: choose another in the Procedure panel")
        else:
            self.procedure_panel.select_scene(str(self.session.scene.path))

    def _on_scene_loaded(self, scene: Scene) -> None:
        self.progress_bar.hide()
        self.attempts.set_session(None)  # a running attempt ends incomplete (abandoned)
        self._retire_session()
        session = ScanSession(scene, skin_surface(scene), relabel_in_background=True)
        self.session = session
        self._set_label_names(scene.spec)
        preset = self._remembered.preset
        if preset in PRESETS:
            try:
                session.apply_preset(preset)
            except SettingsError:
                session.apply_preset("scene")
        self.cine.clear()
        self._last_frame_t = None
        self._fps = self._fps_shown = 0.0
        self._fps_shown_t = -1e9
        self._set_frozen(False)
        self.image_view.clear_calipers()
        self.anatomy_view.set_scene(scene)
        if self.presentation is not None:
            self.presentation.set_scene(scene)
        self.procedure_panel.add_scene_file(str(scene.path))
        self.procedure_panel.select_scene(str(scene.path))
        self.procedure_panel.show_scene(scene.spec)
        self.imaging_panel.show_probes(scene.spec.probe.models, session.probe.name)
        self._show_settings()
        self.show_error("")
        if self._pending_note:
            self.statusBar().showMessage(self._pending_note, 20_000)
            self._pending_note = ""
        self.setWindowTitle(f"{WINDOW_TITLE} — {scene.spec.title or scene.spec.name}")
        self.injection_control.reset()
        self.attempts.set_session(session)
        self._apply_guidance()
        self.modes.default_time_limit_s = _time_limit_s(scene.spec)
        if self.modes.mode == "exam":
            self._relock_exam()  # an instructor's unlock ends with the scene it was for
            self.attempts.start()  # an exam runs from the moment its scene is on screen
        self._pose_changed()
        self.anatomy_view.set_camera_preset("probe")

    def _retire_session(self) -> None:
        self.worker.cancel_pending()
        self.worker.wait_idle()
        if self.session is not None:
            self.session.close()
            self.session = None

    # =============================================================== intents
    def do_action(self, name: str, amount: float = 0.0, kind: str = "normal") -> None:
        """Carry out a keymap action (see ``simulator.gui.keymap.BINDINGS``).

        Parameters
        ----------
        name : str
            Action name.
        amount : float
            Signed number of steps (or the index of a camera preset).
        kind : str
            Step size: ``"fine"``, ``"normal"`` or ``"coarse"``.
        """
        window_actions = {
            "freeze": self.toggle_freeze,
            "labels": lambda: self.set_labels_visible(not self.labels_visible),
            "target": lambda: self.set_target_visible(not self.target_visible),
            "attempt": self.toggle_attempt,
            "grade": self.open_grade,
            "calipers": lambda: self.action_calipers.trigger(),
            "save_image": self.save_image_dialog,
            "presentation": lambda: self.action_presentation.trigger(),
            "presentation_3d": self.toggle_presentation_3d,
            "fullscreen": self._toggle_fullscreen,
            "help": self.help_overlay.toggle,
        }
        if name in window_actions:
            window_actions[name]()
            return
        if name == "camera":
            self.anatomy_view.set_camera_preset(CAMERA_PRESETS[int(amount)])
            return
        s = self.session
        if s is None:
            return
        if self.frozen and name == "slide_along":
            self.scroll_cine(int(np.sign(amount)))
            return
        try:
            if name == "slide_along":
                s.slide(amount, 0.0, kind)
            elif name == "slide_across":
                s.slide(0.0, amount, kind)
            elif name in ("rotate", "tilt", "rock"):
                s.turn(name, amount, kind)
            elif name == "reset_probe":
                s.reset_probe()
            elif name == "place_needle":
                self.injection_control.stop()
                s.place_needle()
            elif name == "advance":
                s.advance(amount, kind)
            elif name == "steer_angle":
                s.steer("angle", amount, kind)
            elif name == "steer_heading":
                s.steer("heading", amount, kind)
            elif name == "remove_needle":
                self.injection_control.stop()
                s.remove_needle()
            elif name == "aspirate":
                self.injection_control.aspirate()
            elif name == "inject":
                self.injection_control.toggle()
            elif name in ("gain", "depth", "focus"):
                s.step_setting(name, amount)
                self._show_settings()
                self.request_render()
                return
            else:
                raise KeyError(f"unknown action {name!r}")
        except SettingsError as exc:
            self.show_error(str(exc))
            return
        self._pose_changed()

    def keyPressEvent(self, event: QKeyEvent) -> None:  # noqa: N802 (Qt API)
        """Keys of ``simulator.gui.keymap``; Escape closes the help and calipers."""
        if event.key() == Qt.Key.Key_Escape:
            if self.help_overlay.isVisible():
                self.help_overlay.hide()
            elif self.action_calipers.isChecked():
                self.action_calipers.trigger()
            self.image_view.setFocus()
            event.accept()
            return
        binding = binding_for(event.key())
        if binding is None:
            super().keyPressEvent(event)
            return
        kind = step_kind(event.modifiers()) if binding.stepped else "normal"
        self.do_action(binding.action, binding.amount, kind)
        event.accept()

    def set_settings(self, **changes: object) -> bool:
        """Change imaging settings; invalid values are refused with a message.

        Returns
        -------
        bool
            True if the settings were accepted.
        """
        if self.session is None:
            return False
        try:
            self.session.set_settings(**changes)
        except (SettingsError, TypeError) as exc:
            self.show_error(str(exc))
            self._show_settings()
            return False
        self._show_settings()
        self.request_render()
        return True

    def apply_preset(self, name: str) -> None:
        """Apply an imaging preset (``"scene"``, ``"msk"``, ``"nerve"``, ``"deep_joint"``)."""
        if self.session is None:
            return
        try:
            self.session.apply_preset(name)
        except (SettingsError, KeyError) as exc:
            self.show_error(str(exc))
        self._remembered.preset = self.session.preset
        self._show_settings()
        self.request_render()

    def choose_probe(self, name: str) -> None:
        """Switch to another probe the scene offers."""
        if self.session is None:
            return
        self.worker.cancel_pending()
        self.worker.wait_idle()
        models = self.session.scene.spec.probe.models
        try:
            self.session.choose_probe(name)
        except (KeyError, SettingsError) as exc:
            self.imaging_panel.show_probes(models, self.session.probe.name)
            self.show_error(str(exc).strip("'\""))
            return
        self.imaging_panel.show_probes(models, self.session.probe.name)
        self._show_settings()
        self._pose_changed()

    def _on_pose_field(self, name: str, value: float) -> None:
        if self.session is not None:
            self.session.set_handle(self.session.handle.with_field(name, value))
            self._pose_changed()

    def _on_image_drag(self, dx_mm: float, dz_mm: float) -> None:
        # dragging the image: left-right slides along the array, up-down across it
        if self.session is not None and not self.frozen:
            self.session.slide_mm(-DRAG_GAIN * dx_mm, DRAG_GAIN * dz_mm)
            self._pose_changed()

    def _on_image_wheel(self, steps: int, modifiers: object) -> None:
        if self.session is None:
            return
        if self.frozen:
            self.scroll_cine(-int(np.sign(steps)))
            return
        mods = Qt.KeyboardModifier(modifiers)  # type: ignore[call-overload]
        if mods & Qt.KeyboardModifier.ShiftModifier:
            self.session.turn("tilt", steps)
        elif mods & Qt.KeyboardModifier.ControlModifier:
            self.session.turn("rock", steps)
        else:
            self.session.turn("rotate", steps)
        self._pose_changed()

    def _on_skin_clicked(self, x_mm: float, y_mm: float, z_mm: float) -> None:
        if self.session is None:
            return
        mods = QApplication.keyboardModifiers()
        if mods & Qt.KeyboardModifier.ShiftModifier:
            self.injection_control.stop()
            self.session.place_needle(np.array([x_mm, y_mm, z_mm]))
        else:
            self.session.set_handle(
                self.session.handle.with_field("x_mm", x_mm).with_field("y_mm", y_mm)
            )
        self._pose_changed()

    def _pose_changed(self) -> None:
        """Show the new probe / needle pose everywhere and ask for a frame."""
        s = self.session
        if s is None:
            return
        self.pose_panel.show_pose(s.handle)
        self.needle_panel.show_needle(s.needle)
        if s.notice:
            self.statusBar().showMessage(s.notice, NOTICE_MS)
            s.notice = ""
        self.injection_control.refresh()
        m = s.probe2world()
        self.anatomy_view.set_probe(m, s.probe)
        needle = s.needle
        hub = needle.hub_mm if needle is not None else None
        tip = needle.tip_mm if needle is not None else None
        self.anatomy_view.set_needle(hub, tip, needle.gauge if needle is not None else 22)
        if self.presentation is not None:
            self.presentation.set_probe(m, s.probe)
            self.presentation.set_needle(hub, tip, needle.gauge if needle is not None else 22)
        self._3d_stale = True
        self._3d_pose_changed = True
        if self.frozen or self.session is None:
            self.anatomy_view.request_render()  # no frame will come to carry the update
        self.request_render()

    def _show_injectate(self, box: object) -> None:
        self.anatomy_view.set_injectate(box)  # type: ignore[arg-type]
        if self.presentation is not None:
            self.presentation.set_injectate(box)

    def request_render(self) -> None:
        """Ask the worker for a frame of the current pose (unless frozen)."""
        if self.session is None or self.frozen:
            return
        colours = self._label_colours if self.labels_visible else None
        self.worker.submit(self.session.engine, self.session.frame_request(), colours)

    # ========================================================== freeze, cine
    def toggle_freeze(self) -> None:
        """Freeze the image (cine review) or go live again."""
        self._set_frozen(not self.frozen)
        if not self.frozen:
            self.request_render()

    def _set_frozen(self, frozen: bool) -> None:
        self.frozen = frozen
        self.action_freeze.setChecked(frozen)
        if frozen and len(self.cine):
            self.cine.seek(len(self.cine) - 1)
        self._show_frozen_state()

    def _show_frozen_state(self) -> None:
        idx = self.cine.index + 1 if self.frozen and len(self.cine) else None
        count = len(self.cine) if self.frozen else None
        for view in self._image_views():
            view.set_frozen(self.frozen, idx, count)

    def scroll_cine(self, steps: int) -> None:
        """Show the cine frame ``steps`` away from the current one (when frozen)."""
        if not self.frozen or not len(self.cine):
            return
        frame, overlay = self.cine.step(steps)
        self._show_frame(frame, overlay)
        self._show_frozen_state()

    # ================================================================ frames
    def _on_frame(self, job: RenderJob, frame: BModeFrame, overlay: object) -> None:
        if self.session is None or job.engine is not self.session.engine or self.frozen:
            return
        self._update_fps(frame)
        overlay = overlay if isinstance(overlay, LabelOverlay) else None
        self.cine.append((frame, overlay))
        self._show_frame(frame, overlay)
        # paint the ultrasound screen now, ahead of the (slower) 3D render queued below
        self.image_view.repaint()
        self.anatomy_view.set_frame(frame)
        self._render_3d_after_frame()
        if self.presentation is not None:
            self.presentation.set_frame(frame)
        if job.ticket > self._error_ticket:
            self.show_error("")

    def _render_3d_after_frame(self) -> None:
        """Render the 3D view right after a frame was painted, within its budget.

        Rendering just after a frame overlaps the 3D render with the engine's work
        on the next frame instead of delaying that frame's display. While frames
        stream the 3D view renders at most ``ANATOMY_MAX_FPS`` times a second
        (``ANATOMY_IMAGE_ONLY_FPS`` when only the live image changed) and takes
        at most ``ANATOMY_TIME_SHARE`` of the time, so a slow render (a big scene,
        a loaded machine) is rendered less often. When frames stop (the probe
        rests), a short timer renders the final state.
        """
        now = time.monotonic()
        max_fps = ANATOMY_MAX_FPS if self._3d_pose_changed else ANATOMY_IMAGE_ONLY_FPS
        interval_s = max(
            1.0 / max_fps, 1e-3 * self.anatomy_view.last_render_ms / ANATOMY_TIME_SHARE
        )
        if now - self._last_3d_s >= interval_s:
            self._render_3d(now)
        else:
            self._3d_stale = True
        self._rest_timer.start()

    def _render_3d(self, now: float) -> None:
        self._last_3d_s = now
        self._3d_stale = self._3d_pose_changed = False
        self.anatomy_view.render()

    def _on_rest(self) -> None:
        if self._3d_stale:
            self._render_3d(time.monotonic())

    def _update_fps(self, frame: BModeFrame) -> None:
        """Frame rate: frames shown per second while the probe moves, else what the
        engine sustains (1000 / ms per frame); smoothed."""
        now = time.monotonic()
        if self._last_frame_t is None:  # a scene's first frame includes its set-up
            self._last_frame_t = now
            return
        dt = now - self._last_frame_t
        self._last_frame_t = now
        engine_ms = float(frame.timings_ms.get("total", 0.0))
        if dt < MOVING_INTERVAL_S:
            inst = 1.0 / max(dt, 1e-3)
        elif engine_ms > 0:
            inst = 1000.0 / engine_ms
        else:
            return
        a = FPS_SMOOTHING if self._fps else 1.0
        self._fps = (1 - a) * self._fps + a * inst

    def _show_frame(self, frame: BModeFrame, overlay: LabelOverlay | None) -> None:
        now = time.monotonic()
        if now - self._fps_shown_t >= FPS_READOUT_INTERVAL_S:
            self._fps_shown, self._fps_shown_t = self._fps, now
        readout = self.readout_lines(frame)
        for view in self._image_views():
            view.set_frame(frame)
            view.set_overlay(overlay, self._label_names)
            view.set_labels_visible(self.labels_visible)
            view.set_readout(readout)
        info = "  ·  ".join(readout)
        if info != self._info_label.text():  # a new text re-lays out the status bar
            self._info_label.setText(info)

    def _image_views(self) -> list[BModeImageView]:
        views = [self.image_view]
        if self.presentation is not None:
            views.append(self.presentation.image_view)
        return views

    def _set_label_names(self, spec: SceneSpec) -> None:
        """Overlay names and colours of ``spec``'s structures (once per scene)."""
        texts = {s.name: s.name.replace("_", " ") for s in spec.structures}
        if spec.procedure is not None:
            for lab in spec.procedure.labels:
                texts[lab.structure] = lab.text
        self._label_names = {
            i + 1: (texts[s.name], s.colour) for i, s in enumerate(spec.structures)
        }
        self._label_colours = {k: colour for k, (_, colour) in self._label_names.items()}

    def readout_lines(self, frame: BModeFrame) -> list[str]:
        """The scanner readout for ``frame``: probe, frequency, depth, gain, fps."""
        s = frame.settings
        assert self.session is not None
        preset = self.session.preset
        preset_title = PRESETS[preset].title if preset in PRESETS else "Scene preset"
        return [
            f"{self.session.probe.name.replace('_', ' ')} · {preset_title}",
            f"{s.freq_mhz:.1f} MHz",
            f"Depth {s.depth_mm / 10:.1f} cm",
            f"Gain {s.gain_db:+.0f} dB · DR {s.dynamic_range_db:.0f} dB",
            f"{self._fps_shown:.0f} fps" if self._fps_shown > 0 else "– fps",
        ]

    def _on_render_failed(self, job: RenderJob, message: str) -> None:
        if self.session is not None and job.engine is self.session.engine:
            self.show_error(message)

    def _show_settings(self) -> None:
        if self.session is None:
            return
        self.imaging_panel.show_settings(self.session.settings, self.session.probe)
        self.imaging_panel.show_preset(self.session.preset)

    # ============================================================ toolbar etc
    def set_labels_visible(self, visible: bool) -> bool:
        """Show or hide the structure labels overlay (teaching).

        Returns
        -------
        bool
            False when refused (guidance locked in an exam).
        """
        if visible and not self.modes.allow_guidance("the labels"):
            self.action_labels.setChecked(self.labels_visible)
            return False
        self.labels_visible = visible
        if self.modes.mode != "exam":
            self._remembered.labels_visible = visible
        self.action_labels.setChecked(visible)
        for view in self._image_views():
            view.set_labels_visible(visible)
        if visible and not self.frozen:
            self.request_render()
        return True

    def _on_labels_action(self, checked: bool) -> None:
        self.set_labels_visible(checked)

    def _on_freeze_action(self, checked: bool) -> None:
        if checked != self.frozen:
            self.toggle_freeze()

    def _on_calipers_action(self, checked: bool) -> None:
        self.image_view.set_caliper_mode(checked)
        if not checked:
            self.image_view.clear_calipers()

    def _on_caliper(self, distance_mm: object) -> None:
        if distance_mm is not None:
            self.statusBar().showMessage(f"Caliper: {float(distance_mm):.1f} mm", 10_000)

    def save_image_dialog(self) -> None:
        """Ask for a file name and save the ultrasound screen there as PNG."""
        name = self.scene.spec.name if self.scene is not None else "image"
        default = str(Path.home() / f"{name}-{time.strftime('%Y%m%d-%H%M%S')}.png")
        path, _ = QFileDialog.getSaveFileName(self, "Save image", default, "PNG images (*.png)")
        if path:
            self.save_image(path)

    def save_image(self, path: str | Path) -> Path | None:
        """Save the ultrasound screen as a PNG; errors go to the status bar."""
        try:
            out = self.image_view.save_png(path)
        except OSError as exc:
            self.show_error(str(exc))
            return None
        self.statusBar().showMessage(f"Saved {out}", 10_000)
        return out

    def _toggle_fullscreen(self) -> None:
        self.showNormal() if self.isFullScreen() else self.showFullScreen()

    def _on_presentation_action(self, checked: bool) -> None:
        if checked:
            self.open_presentation()
        else:
            self.close_presentation()

    def open_presentation(self) -> PresentationWindow:
        """Open the presentation window (second screen if there is one)."""
        if self.presentation is None:
            self.presentation = PresentationWindow()
            self.presentation.closed.connect(self._on_presentation_closed)
            self.presentation.forward_keys_to(self)
            if self.session is not None:
                self.presentation.set_scene(self.session.scene)
                self.presentation.set_injectate(self.session.injection.fluid_box())
            self.presentation.show_on_best_screen(self.screen())
            self._pose_changed()
            if self.frame is not None:
                self.presentation.set_frame(self.frame)
        self.action_presentation.setChecked(True)
        return self.presentation

    def toggle_presentation_3d(self) -> None:
        """Show or hide the 3D view beside the image on the presentation window."""
        showing = self.presentation is not None and self.presentation.shows_3d
        if not showing and not self.modes.allow_guidance("the 3D view"):
            return
        pres = self.presentation or self.open_presentation()
        pres.set_show_3d(not pres.shows_3d)
        if pres.anatomy_view is not None:
            pres.anatomy_view.set_target_highlight(self.target_visible)
        self._pose_changed()

    def close_presentation(self) -> None:
        """Close the presentation window."""
        if self.presentation is not None:
            p, self.presentation = self.presentation, None
            p.close()
        self.action_presentation.setChecked(False)

    def _on_presentation_closed(self) -> None:
        self.presentation = None
        self.action_presentation.setChecked(False)

    # ============================================================ attempts
    def toggle_attempt(self) -> None:
        """Start an attempt, or finish the running one (F9).

        In an exam a new attempt after the finished one needs an instructor PIN.
        """
        a = self.attempts
        if a.running:
            a.finish("complete")
            return
        if self.modes.mode == "exam":
            # always the PIN, even if an instructor unlocked guidance in the last attempt
            self.modes.notify(LOCKED_MESSAGE)
            if self.modes.check_pin("An instructor's PIN starts a new exam attempt.") is None:
                return
            self._relock_exam()
        s = self.session
        k = None if s is None else s.kinematics
        if s is not None and (s.injection.injected_ml > 0.0 or (k is not None and k.inserted)):
            # an attempt is scored from untouched tissue with the needle out of the skin
            self._fresh_tissue()
        if a.start() is None:
            self._notice("No scene to record an attempt on yet.")

    def _relock_exam(self) -> None:
        """A new exam attempt: every guidance aid off and locked again."""
        self.modes.unlocked_by = None
        self._set_guidance(labels=False, target=False, show_3d=False)
        if self.presentation is not None and self.presentation.shows_3d:
            self.presentation.set_show_3d(False)

    def _on_attempt_started(self, attempt_id: int) -> None:
        self.score_panel.attempt_started(attempt_id)
        self.dock_score.show()
        self.dock_score.raise_()
        self._show_attempt_state()
        self._notice(f"Attempt {attempt_id} started ({self.modes.mode}).")

    def _on_attempt_finished(self, result: AttemptResult) -> None:
        self.score_panel.show_result(result)
        self.dock_score.show()
        self.dock_score.raise_()
        self._show_attempt_state()
        verdict = ""
        if result.grade is not None:
            verdict = ": PASS" if result.grade.passed else ": FAIL"
        what = "saved" if result.status == "complete" else "saved as incomplete"
        self._notice(f"Attempt {result.attempt_id} {what}{verdict}; fresh tissue for the next")
        self._fresh_tissue()  # the next attempt must not inherit this one's injectate
        if self.attempts.scoring_error:
            self.show_error(self.attempts.scoring_error)

    def open_grade(self) -> None:
        """The whole grade of the last attempt in its own window (G)."""
        if self.score_panel.open_grade_dialog() is None:
            self._notice("No graded attempt yet: F9 starts one, F9 again finishes it.")

    def _fresh_tissue(self) -> None:
        """Needle out, no injectate, no track: the tissue as the scene made it."""
        if self.session is None:
            return
        self.injection_control.stop()
        self.session.reset_tissue()
        self.injection_control.refresh()  # the empty injectate: 3D surface and readout
        self._pose_changed()

    def _show_attempt_state(self) -> None:
        a = self.attempts
        self.action_attempt.setText("Finish attempt" if a.running else "Start attempt")
        who = "demonstration" if self.modes.mode == "demo" else a.trainee
        self.trainee_label.setText(f"  Trainee: {who}  ")

    def choose_trainee(self) -> None:
        """Pick or add the trainee of the next attempts."""
        self.modes.choose_trainee()
        self._show_attempt_state()

    def unlock_guidance(self) -> None:
        """Ask for an instructor PIN to unlock guidance in the running exam."""
        if self.modes.locked:
            self.modes.allow_guidance("guidance")
        else:
            self._notice("Guidance is not locked.")

    # ------------------------------------------------------------- modes
    def set_mode(self, mode: str) -> bool:
        """Change mode (``"practice"``, ``"exam"``, ``"demo"``); dialogs as needed."""
        return self.modes.request_mode(mode)

    def _on_mode_changed(self, mode: str) -> None:
        self.score_panel.set_mode(mode)
        self.attempts.auto_start = mode != "exam"
        if mode == "exam":
            if self._guidance_before_exam is None:
                self._guidance_before_exam = {
                    "labels": self.labels_visible,
                    "target": self.target_visible,
                    "3d": not self.dock_3d.isHidden(),
                }
            self._set_guidance(labels=False, target=False, show_3d=False)
            if self.presentation is not None and self.presentation.shows_3d:
                self.presentation.set_show_3d(False)
            self.attempts.start()
        elif self._guidance_before_exam is not None:
            g, self._guidance_before_exam = self._guidance_before_exam, None
            self._set_guidance(labels=g["labels"], target=g["target"], show_3d=g["3d"])
        self._show_attempt_state()
        self._notice(f"{mode.capitalize()} mode.")

    def _set_guidance(self, labels: bool, target: bool, show_3d: bool) -> None:
        """Set every guidance aid directly (mode changes; not a trainee's toggle)."""
        self.labels_visible = labels
        self.action_labels.setChecked(labels)
        for view in self._image_views():
            view.set_labels_visible(labels)
        self.target_visible = target
        self._apply_guidance()
        self.dock_3d.setVisible(show_3d)
        self.request_render()

    def _apply_guidance(self) -> None:
        """Show the target highlight and procedure notes as ``target_visible`` says."""
        self.action_target.setChecked(self.target_visible)
        self.anatomy_view.set_target_highlight(self.target_visible)
        if self.presentation is not None and self.presentation.anatomy_view is not None:
            self.presentation.anatomy_view.set_target_highlight(self.target_visible)
        self.procedure_panel.text.setVisible(self.target_visible)
        self.event_panel.guidance = self.target_visible  # "target reached" gives it away

    def set_target_visible(self, visible: bool) -> bool:
        """Target highlight in 3D and the procedure notes on or off (refused in a
        locked exam); True when done."""
        if visible and not self.modes.allow_guidance("the target highlight"):
            self.action_target.setChecked(self.target_visible)
            return False
        self.target_visible = visible
        self._apply_guidance()
        return True

    def _on_target_action(self, checked: bool) -> None:
        self.set_target_visible(checked)

    def set_3d_visible(self, visible: bool) -> bool:
        """Show or hide the 3D anatomy dock (refused in a locked exam); True when done."""
        if visible and not self.modes.allow_guidance("the 3D view"):
            self.dock_3d.hide()
            return False
        self.dock_3d.setVisible(visible)
        return True

    def createPopupMenu(self) -> QMenu | None:  # noqa: N802 (Qt API)
        """The docks menu (right click on a dock title); none in a locked exam."""
        if self.modes.locked:
            self._notice(LOCKED_MESSAGE)
            return None
        return super().createPopupMenu()

    def _on_scene_chosen(self, path: str) -> None:
        if self.modes.locked and not self.modes.allow_guidance("changing the scene"):
            if self.session is not None:
                self.procedure_panel.select_scene(str(self.session.scene.path))
            return
        self.open_scene(path)

    # ------------------------------------------------------- Records menu
    def _records_refused(self, what: str) -> bool:
        """True (with a notice) while a locked exam runs: records wait until it ends."""
        if self.modes.locked:
            self._notice(f"exam: {what} opens after the exam (or with the instructor PIN)")
            return True
        return False

    def open_results(self) -> ResultsDialog | None:
        """The results table: the trainee's own attempts; everyone's with an instructor PIN."""
        if self._records_refused("the results table"):
            return None
        self._results_dialog = open_results_dialog(self, self.attempts.store, self.attempts.trainee)
        return self._results_dialog

    def open_replay(self) -> ReplayWindow | None:
        """Replay the current trainee's latest attempt (others: from the results table)."""
        if self._records_refused("replay"):
            return None
        store = self.attempts.store
        mine = [a for a in store.attempts(trainee=self.attempts.trainee) if a.mode != "quiz"]
        if not mine:
            self._notice(f"Replay: {self.attempts.trainee} has no recorded attempt yet")
            return None
        last = mine[-1]
        same = self.session is not None and last.scene == self.session.scene.spec.name
        self._replay_window = open_replay_window(
            self, store, last.id, scene=self.session.scene if same else None
        )
        return self._replay_window

    def open_quiz(self) -> QuizDialog | None:
        """The image-recognition quiz, recorded for the current trainee."""
        if self._records_refused("the image quiz"):
            return None
        self._quiz_dialog = open_quiz_dialog(self, self.attempts.store, self.attempts.trainee)
        return self._quiz_dialog

    def open_tracking(self) -> TrackerDialog:
        """The tracker connect dialog (port, protocol, emulator, calibration)."""
        return open_tracker_dialog(self)

    def refresh_pose(self) -> None:
        """Render and redraw after the probe or needle moved (keys, tracker)."""
        self._pose_changed()

    def _notice(self, text: str) -> None:
        self.statusBar().showMessage(text, NOTICE_MS)

    # ================================================================ status
    def show_error(self, message: str) -> None:
        """Show ``message`` in the status bar (empty clears it)."""
        self._message_label.setText(message)
        self._message_label.setToolTip(message)
        if message:
            self._error_ticket = self.worker.last_ticket

    def status_text(self) -> str:
        """Everything the status bar shows, as one string."""
        parts = (
            self.statusBar().currentMessage(),
            self._message_label.text(),
            self._info_label.text(),
        )
        return " | ".join(t for t in parts if t)

    def resizeEvent(self, event: QResizeEvent) -> None:  # noqa: N802 (Qt API)
        """Keep the help overlay over the whole window."""
        super().resizeEvent(event)
        if self.help_overlay.isVisible():
            self.help_overlay.setGeometry(self.rect())

    def closeEvent(self, event: QCloseEvent) -> None:  # noqa: N802 (Qt API)
        """Remember the layout, stop the workers, close the presentation."""
        if self._guidance_before_exam is not None:  # remember the practice layout
            self.dock_3d.setVisible(self._guidance_before_exam["3d"])
        if self._settings_store is not None:
            r = self._remembered
            r.geometry = self.saveGeometry()
            r.window_state = self.saveState()
            if self.session is not None:
                r.last_scene = str(self.session.scene.path)
            r.skin_opacity = self.skin_slider.value() / 100.0
            save_remembered(self._settings_store, r)
        self.close_presentation()
        dialog = self.findChild(TrackerDialog, "tracker_dialog")
        if dialog is not None:
            dialog.shutdown()  # stops its emulator and closes the port
        elif (tracking := tracking_of(self)) is not None:
            tracking.close()
        self.procedure_panel.shutdown()
        self.loader.wait(10_000)
        self.attempts.close()  # a running attempt ends incomplete, nothing lost
        self._retire_session()
        self.anatomy_view.finalize()  # children get no close event: free the GL window now
        super().closeEvent(event)


def _records_path(db_path: str | Path | None, remember: bool) -> Path | None:
    """The records file of a window (None: ``default_db_path()``); see ``MainWindow``."""
    if db_path is not None:
        return Path(db_path)
    if not remember and not os.environ.get(DB_ENV_VAR):
        return Path(tempfile.mkdtemp(prefix="injection-sim-")) / "records.sqlite"
    return None


def _time_limit_s(spec: SceneSpec) -> float:
    """The exam time limit of a scene: its procedure's ``time_limit_s`` if it has one,
    else ``DEFAULT_EXAM_LIMIT_S``."""
    limit = None if spec.procedure is None else spec.procedure.time_limit_s
    return DEFAULT_EXAM_LIMIT_S if limit is None else float(limit)
