"""The replay window: a stored attempt frame by frame, its events, and its re-score.

The B-mode image of the current sample (the same image the live session
showed: the engine is deterministic), a frame slider with the events marked
on it, play/pause in real time from the samples' times (0.5x, 1x, 2x), step
buttons and the time; the event timeline (click an event to jump to it); and
the stored metrics beside the re-scored ones.

Frames are rendered by :class:`ReplayWorker` on its own thread: the newest
request replaces any waiting one, so dragging the slider stays responsive
(a backwards seek restarts the replay from its first sample). The re-score
runs once, on another thread.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable, Mapping
from typing import Any

from PySide6.QtCore import QObject, Qt, QTimer, Signal
from PySide6.QtGui import QBrush, QColor, QPainter, QPaintEvent, QPen
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QMainWindow,
    QPushButton,
    QSlider,
    QSplitter,
    QStyle,
    QStyleOptionSlider,
    QTableWidget,
    QTableWidgetItem,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from simulator.engine import BModeFrame
from simulator.gui.event_panel import ALERT_KINDS, CAUTION_KINDS, GOOD_KINDS
from simulator.gui.image_view import BModeImageView
from simulator.records import RecordStore
from simulator.reports.formatting import format_date, format_value, verdict_text
from simulator.rubric import METRICS

#: Playback speeds offered, x real time.
SPEEDS: tuple[float, ...] = (0.5, 1.0, 2.0)
#: Playback timer period, ms.
PLAY_TICK_MS = 30
#: Colours of the event markers and list rows.
ALERT_COLOUR = QColor(255, 90, 90)
CAUTION_COLOUR = QColor(255, 175, 60)
GOOD_COLOUR = QColor(110, 220, 120)
MARK_COLOUR = QColor(150, 180, 255)


def event_colour(kind: str) -> QColor | None:
    """Colour of an event kind (None: plain)."""
    if kind in ALERT_KINDS:
        return ALERT_COLOUR
    if kind in CAUTION_KINDS:
        return CAUTION_COLOUR
    if kind in GOOD_KINDS or kind == "injection":
        return GOOD_COLOUR
    return None


class ReplayWorker(QObject):
    """Builds a replay and renders its frames on one worker thread, newest request first.

    Parameters
    ----------
    factory : callable () -> Replay
        Builds the replay (loads the scene): run on the worker thread.
    parent : QObject, optional

    Signals
    -------
    loaded(object)
        The :class:`~simulator.app.replay.Replay` is ready.
    load_failed(str)
        Building it failed; the message says why.
    frame_ready(int, object)
        Frame index and its :class:`~simulator.engine.BModeFrame`.
    frame_failed(int, str)
    rescored(object, object)
        Re-scored metric values (dict) and the grade (``Grade``, or False without
        a rubric).
    rescore_failed(str)
    """

    loaded = Signal(object)
    load_failed = Signal(str)
    frame_ready = Signal(int, object)
    frame_failed = Signal(int, str)
    rescored = Signal(object, object)
    rescore_failed = Signal(str)

    def __init__(self, factory: Callable[[], Any], parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._factory = factory
        self.replay: Any = None
        self._cond = threading.Condition()
        self._pending: int | None = None
        self._stop = False
        self.n_rendered = 0
        self.n_dropped = 0
        self._thread = threading.Thread(target=self._loop, name="replay-frames", daemon=True)
        self._rescore_thread: threading.Thread | None = None

    def start(self) -> None:
        """Start building the replay."""
        self._thread.start()

    def request(self, index: int) -> None:
        """Render frame ``index`` next (replacing any request still waiting)."""
        with self._cond:
            if self._pending is not None:
                self.n_dropped += 1
            self._pending = int(index)
            self._cond.notify()

    def start_rescore(self) -> None:
        """Re-score the replay once, on its own thread (after :attr:`loaded`)."""
        if self._rescore_thread is not None or self.replay is None:
            return
        self._rescore_thread = threading.Thread(
            target=self._rescore, name="replay-rescore", daemon=True
        )
        self._rescore_thread.start()

    def stop(self, timeout_s: float = 10.0) -> None:
        """Stop the worker (after the frame being rendered) and free the replay."""
        with self._cond:
            self._stop = True
            self._cond.notify()
        if self._thread.is_alive():
            self._thread.join(timeout_s)

    def idle(self) -> bool:
        """No request waiting (the last one may still be rendering)."""
        with self._cond:
            return self._pending is None

    def _emit(self, signal: Any, *args: Any) -> None:
        try:
            signal.emit(*args)
        except RuntimeError:  # the window was deleted meanwhile
            pass

    def _loop(self) -> None:
        try:
            self.replay = self._factory()
        except Exception as exc:  # shown in the window, never a traceback
            self._emit(self.load_failed, f"{type(exc).__name__}: {exc}")
            return
        self._emit(self.loaded, self.replay)
        try:
            while True:
                with self._cond:
                    while self._pending is None and not self._stop:
                        self._cond.wait()
                    if self._stop:
                        return
                    index, self._pending = self._pending, None
                try:
                    frame = self.replay.frame(index)
                except Exception as exc:
                    self._emit(self.frame_failed, index, f"{type(exc).__name__}: {exc}")
                    continue
                self.n_rendered += 1
                self._emit(self.frame_ready, index, frame)
        finally:
            self.replay.close()

    def _rescore(self) -> None:
        try:
            values, grade = self.replay.rescore()
        except Exception as exc:
            self._emit(self.rescore_failed, f"{type(exc).__name__}: {exc}")
            return
        self._emit(self.rescored, dict(values), grade if grade is not None else False)


class EventSlider(QSlider):
    """A horizontal slider with tick marks at given values (the events)."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(Qt.Orientation.Horizontal, parent)
        self._marks: list[tuple[int, QColor]] = []
        self.setMinimumHeight(28)

    def set_marks(self, marks: list[tuple[int, QColor | None]]) -> None:
        """Mark these slider values (colour None: the default marker colour)."""
        self._marks = [(int(v), c if c is not None else MARK_COLOUR) for v, c in marks]
        self.update()

    @property
    def marks(self) -> tuple[int, ...]:
        """The marked values."""
        return tuple(v for v, _ in self._marks)

    def paintEvent(self, event: QPaintEvent) -> None:  # noqa: N802 (Qt API)
        super().paintEvent(event)
        if not self._marks or self.maximum() <= self.minimum():
            return
        opt = QStyleOptionSlider()
        self.initStyleOption(opt)
        groove = self.style().subControlRect(
            QStyle.ComplexControl.CC_Slider, opt, QStyle.SubControl.SC_SliderGroove, self
        )
        handle = self.style().subControlRect(
            QStyle.ComplexControl.CC_Slider, opt, QStyle.SubControl.SC_SliderHandle, self
        )
        span = groove.width() - handle.width()
        x0 = groove.x() + handle.width() // 2
        painter = QPainter(self)
        for value, colour in self._marks:
            x = x0 + QStyle.sliderPositionFromValue(self.minimum(), self.maximum(), value, span)
            painter.setPen(QPen(colour, 2))
            painter.drawLine(x, 1, x, 6)
            painter.drawLine(x, self.height() - 7, x, self.height() - 2)
        painter.end()


class ReplayWindow(QMainWindow):
    """Replay of one stored attempt.

    Parameters
    ----------
    store : RecordStore
    attempt_id : int
    parent : QWidget, optional
    scene : Scene, optional
        The attempt's scene, already loaded (default: loaded by name on the
        worker thread).
    replay_factory : callable () -> Replay, optional
        Builds the replay instead of ``Replay.from_record`` (tests).
    rescore : bool
        Re-score the attempt as soon as it is loaded (else :meth:`rescore`
        does it on demand).

    Attributes
    ----------
    image_view : BModeImageView
    slider : EventSlider
        One step per recorded sample.
    events_list : QTreeWidget
        Time (s), kind, structure/detail of every event.
    metrics_table : QTableWidget
        Metric, stored value, re-scored value, match.
    match_label : QLabel
        ``"Re-score matches the stored metrics"`` or the differences.
    replay : Replay or None
        Once loaded.
    shown_index : int
        Index of the frame on screen (-1 before the first).
    """

    def __init__(
        self,
        store: RecordStore,
        attempt_id: int,
        parent: QWidget | None = None,
        *,
        scene: Any = None,
        replay_factory: Callable[[], Any] | None = None,
        rescore: bool = True,
    ) -> None:
        super().__init__(parent)
        self._auto_rescore = bool(rescore)
        self.setWindowFlag(Qt.WindowType.Window, True)
        self.store = store
        self.attempt_id = int(attempt_id)
        self.record = store.attempt(self.attempt_id)
        self.replay: Any = None
        self.shown_index = -1
        self.rescored_values: dict[str, float] | None = None
        self.rescored_grade: Any = None
        self.differences: list[str] | None = None
        self._play_wall0 = 0.0
        self._play_t0 = 0.0
        self.setWindowTitle(f"Replay — attempt {self.attempt_id} ({self.record.trainee})")
        self.resize(1280, 760)

        central = QWidget()
        outer = QVBoxLayout(central)
        self.header = QLabel(self._header_text())
        self.header.setWordWrap(True)
        outer.addWidget(self.header)
        self.integrity = QLabel("")
        self.integrity.setStyleSheet("color: #ff6e6e; font-weight: bold;")
        self.integrity.hide()
        outer.addWidget(self.integrity)

        split = QSplitter(Qt.Orientation.Horizontal)
        left = QWidget()
        left_layout = QVBoxLayout(left)
        left_layout.setContentsMargins(0, 0, 0, 0)
        self.image_view = BModeImageView()
        self.image_view.clear("Loading the attempt…")
        left_layout.addWidget(self.image_view, 1)

        transport = QHBoxLayout()
        self.first_button = QPushButton("Start")
        self.back_button = QPushButton("◀ Step")
        self.play_button = QPushButton("▶ Play")
        self.play_button.setCheckable(True)
        self.forward_button = QPushButton("Step ▶")
        self.last_button = QPushButton("End")
        self.speed_combo = QComboBox()
        self.speed_combo.addItems([f"{s:g}×" for s in SPEEDS])
        self.speed_combo.setCurrentIndex(SPEEDS.index(1.0))
        self.time_label = QLabel("")
        self.time_label.setMinimumWidth(220)
        style = self.style()
        for button, icon in (
            (self.first_button, QStyle.StandardPixmap.SP_MediaSkipBackward),
            (self.last_button, QStyle.StandardPixmap.SP_MediaSkipForward),
        ):
            button.setIcon(style.standardIcon(icon))
        #: The frame navigation buttons (enabled once the replay is loaded).
        self.transport_buttons = (
            self.first_button,
            self.back_button,
            self.play_button,
            self.forward_button,
            self.last_button,
        )
        for w in (*self.transport_buttons, self.speed_combo):
            transport.addWidget(w)
        transport.addWidget(self.time_label, 1)
        self.slider = EventSlider()
        self.slider.setEnabled(False)
        left_layout.addWidget(self.slider)
        left_layout.addLayout(transport)
        split.addWidget(left)

        right = QWidget()
        right_layout = QVBoxLayout(right)
        right_layout.setContentsMargins(0, 0, 0, 0)
        right_layout.addWidget(QLabel("Events (click to jump)"))
        self.events_list = QTreeWidget()
        self.events_list.setHeaderLabels(["Time", "Event", "Structure / detail"])
        self.events_list.setRootIsDecorated(False)
        self.events_list.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.events_list.itemClicked.connect(lambda item, _c: self._event_clicked(item))
        self.events_list.itemActivated.connect(lambda item, _c: self._event_clicked(item))
        right_layout.addWidget(self.events_list, 1)
        self.match_label = QLabel("Loading…")
        self.match_label.setWordWrap(True)
        right_layout.addWidget(self.match_label)
        self.metrics_table = QTableWidget(0, 4)
        self.metrics_table.setHorizontalHeaderLabels(["Metric", "Stored", "Re-scored", ""])
        self.metrics_table.verticalHeader().hide()
        self.metrics_table.verticalHeader().setDefaultSectionSize(
            self.metrics_table.fontMetrics().height() + 6
        )
        self.metrics_table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        hdr = self.metrics_table.horizontalHeader()
        hdr.setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        for c in (1, 2, 3):
            hdr.setSectionResizeMode(c, QHeaderView.ResizeMode.ResizeToContents)
        right_layout.addWidget(self.metrics_table, 2)
        split.addWidget(right)
        split.setStretchFactor(0, 3)
        split.setStretchFactor(1, 2)
        split.setSizes([760, 500])
        outer.addWidget(split, 1)
        self.setCentralWidget(central)
        self._fill_stored_metrics()

        self._timer = QTimer(self)
        self._timer.setInterval(PLAY_TICK_MS)
        self._timer.timeout.connect(self._play_tick)
        self.slider.valueChanged.connect(self._slider_moved)
        self.first_button.clicked.connect(lambda: self.set_index(0))
        self.last_button.clicked.connect(lambda: self.set_index(self.slider.maximum()))
        self.back_button.clicked.connect(lambda: self.step(-1))
        self.forward_button.clicked.connect(lambda: self.step(1))
        self.play_button.toggled.connect(self._play_toggled)
        self.speed_combo.currentIndexChanged.connect(lambda _i: self._restart_clock())
        for w in self.transport_buttons:
            w.setEnabled(False)

        self._check_integrity()
        if replay_factory is None:
            replay_factory = self._default_factory(scene)
        self.worker = ReplayWorker(replay_factory, self)
        self.worker.loaded.connect(self._loaded)
        self.worker.load_failed.connect(self._load_failed)
        self.worker.frame_ready.connect(self._frame_ready)
        self.worker.frame_failed.connect(
            lambda i, msg: self.statusBar().showMessage(f"Frame {i}: {msg}")
        )
        self.worker.rescored.connect(self._rescored)
        self.worker.rescore_failed.connect(
            lambda msg: self.match_label.setText(f"Re-scoring failed: {msg}")
        )
        self.worker.start()

    # ------------------------------------------------------------ set-up

    def _default_factory(self, scene: Any) -> Callable[[], Any]:
        store, attempt_id = self.store, self.attempt_id

        def build() -> Any:
            from simulator.app.replay import Replay

            return Replay.from_record(store, attempt_id, scene=scene)

        return build

    def _header_text(self) -> str:
        r = self.record
        return (
            f"<b>Attempt {r.id}</b> · {r.trainee} · {r.scene} · {r.mode} · "
            f"{format_date(r.started_at)} · {r.status} · grade: {verdict_text(r.grade)}"
        )

    def _check_integrity(self) -> None:
        problems = [
            str(p)
            for p in self.store.verify_chain()
            if p.attempt_id == self.attempt_id or p.attempt_id is None
        ]
        if problems:
            self.integrity.setText("TAMPERED — " + "; ".join(problems))
            self.integrity.show()

    def _loaded(self, replay: Any) -> None:
        self.replay = replay
        n = int(replay.n_frames)
        self.slider.blockSignals(True)
        self.slider.setRange(0, n - 1)
        self.slider.setValue(0)
        self.slider.blockSignals(False)
        self.slider.setEnabled(True)
        for w in self.transport_buttons:
            w.setEnabled(True)
        self._fill_events()
        self._update_time_label()
        self.worker.request(0)
        if self._auto_rescore:
            self.rescore()
        else:
            self.match_label.setText("Not re-scored yet.")

    def rescore(self) -> None:
        """Re-score the attempt (once, on a worker thread) and compare with the stored metrics."""
        if self.replay is None:
            self._auto_rescore = True  # as soon as it is loaded
            return
        if self.record.metrics is None:
            self.match_label.setText("No stored metrics (the attempt did not finish).")
            return
        self.match_label.setText("Re-scoring…")
        self.worker.start_rescore()

    def _load_failed(self, message: str) -> None:
        self.image_view.clear(f"Cannot replay this attempt: {message}")
        self.match_label.setText("Not re-scored: the attempt cannot be replayed.")
        self.statusBar().showMessage(message)

    def _fill_events(self) -> None:
        self.events_list.clear()
        marks: list[tuple[int, QColor | None]] = []
        t0 = float(self.replay.times_s[0])
        for t_s, kind, detail in self.replay.events_timeline():
            item = QTreeWidgetItem([f"{t_s - t0:.2f} s", kind.replace("_", " "), detail])
            item.setData(0, Qt.ItemDataRole.UserRole, float(t_s))
            colour = event_colour(kind)
            if colour is not None:
                for c in range(3):
                    item.setForeground(c, QBrush(colour))
            self.events_list.addTopLevelItem(item)
            marks.append((self.replay.index_at(t_s), colour))
        for c in range(3):
            self.events_list.resizeColumnToContents(c)
        self.slider.set_marks(marks)

    # ------------------------------------------------------------ metrics

    def _fill_stored_metrics(self) -> None:
        stored = self.record.metrics or {}
        self._set_metric_rows(stored, None)

    def _metric_names(self, *dicts: Mapping[str, Any] | None) -> list[str]:
        names = set()
        for d in dicts:
            names.update(d or {})
        ordered = [n for n in METRICS if n in names]
        return ordered + sorted(names - set(ordered))

    def _set_metric_rows(
        self, stored: Mapping[str, Any], rescored: Mapping[str, float] | None
    ) -> None:
        from simulator.app.replay import metrics_match

        names = self._metric_names(stored, rescored)
        bad = set(metrics_match(stored, rescored)) if rescored is not None else set()
        self.metrics_table.setRowCount(len(names))
        for i, name in enumerate(names):
            cells = [
                name,
                format_value(name, stored.get(name)) if name in stored else "—",
                "…" if rescored is None else format_value(name, rescored.get(name)),
                "" if rescored is None else ("≠" if name in bad else "="),
            ]
            for c, text in enumerate(cells):
                item = QTableWidgetItem(text)
                if name in METRICS:
                    item.setToolTip(METRICS[name].description)
                if rescored is not None and name in bad:
                    item.setForeground(QBrush(ALERT_COLOUR))
                self.metrics_table.setItem(i, c, item)

    def _rescored(self, values: dict[str, float], grade: Any) -> None:
        from simulator.app.replay import metrics_match

        self.rescored_values = dict(values)
        self.rescored_grade = grade if grade is not False else None
        stored = self.record.metrics or {}
        self._set_metric_rows(stored, values)
        self.differences = metrics_match(stored, values)
        grade_text = ""
        if self.rescored_grade is not None:
            grade_text = (
                f" Grade: stored {verdict_text(self.record.grade)}, re-scored "
                f"{'PASS' if self.rescored_grade.passed else 'FAIL'}."
            )
        if not self.differences:
            self.match_label.setText(
                f"✔ Re-score matches the stored metrics ({len(values)} metrics).{grade_text}"
            )
            self.match_label.setStyleSheet(f"color: {GOOD_COLOUR.name()};")
        else:
            self.match_label.setText(
                f"✘ Re-score differs in {len(self.differences)} metric"
                f"{'s' if len(self.differences) != 1 else ''}: "
                f"{', '.join(self.differences)}.{grade_text}"
            )
            self.match_label.setStyleSheet(f"color: {ALERT_COLOUR.name()};")

    # ------------------------------------------------------------ frames

    @property
    def current_index(self) -> int:
        """The frame asked for (the slider position)."""
        return int(self.slider.value())

    def set_index(self, index: int) -> None:
        """Go to frame ``index`` (clamped)."""
        self.slider.setValue(min(max(int(index), 0), self.slider.maximum()))

    def step(self, delta: int) -> None:
        """Move ``delta`` frames (pauses playback)."""
        self.play_button.setChecked(False)
        self.set_index(self.current_index + int(delta))

    def time_at(self, index: int) -> float:
        """Session time of frame ``index`` since the first sample, s."""
        times = self.replay.times_s
        return float(times[index] - times[0])

    def _slider_moved(self, value: int) -> None:
        if self.replay is None:
            return
        self._update_time_label()
        self.worker.request(value)
        if not self._timer.isActive():
            self._restart_clock()

    def _update_time_label(self) -> None:
        if self.replay is None:
            return
        i, n = self.current_index, int(self.replay.n_frames)
        total = self.time_at(n - 1)
        self.time_label.setText(f"{self.time_at(i):6.2f} s / {total:.2f} s   frame {i + 1}/{n}")

    def _frame_ready(self, index: int, frame: BModeFrame) -> None:
        self.shown_index = int(index)
        self.image_view.set_frame(frame)
        self.image_view.set_readout(
            [f"t {self.time_at(index):.2f} s", f"frame {index + 1}/{self.replay.n_frames}"]
        )

    # ------------------------------------------------------------ playback

    @property
    def speed(self) -> float:
        """Playback speed, x real time."""
        return SPEEDS[max(self.speed_combo.currentIndex(), 0)]

    def set_speed(self, speed: float) -> None:
        """Choose a playback speed from :data:`SPEEDS`."""
        self.speed_combo.setCurrentIndex(SPEEDS.index(speed))

    @property
    def playing(self) -> bool:
        return self._timer.isActive()

    def play(self) -> None:
        """Play from the current frame (from the start when at the end)."""
        self.play_button.setChecked(True)

    def pause(self) -> None:
        self.play_button.setChecked(False)

    def _restart_clock(self) -> None:
        self._play_wall0 = time.monotonic()
        if self.replay is not None:
            self._play_t0 = float(self.replay.times_s[self.current_index])

    def _play_toggled(self, on: bool) -> None:
        if self.replay is None:
            self.play_button.setChecked(False)
            return
        if on:
            if self.current_index >= self.slider.maximum():
                self.set_index(0)
            self._restart_clock()
            self._timer.start()
            self.play_button.setText("⏸ Pause")
        else:
            self._timer.stop()
            self.play_button.setText("▶ Play")

    def _play_tick(self) -> None:
        t_s = self._play_t0 + self.speed * (time.monotonic() - self._play_wall0)
        index = self.replay.index_at(t_s)
        if index != self.current_index:
            self.slider.setValue(index)
        if index >= self.slider.maximum() and t_s >= float(self.replay.times_s[-1]):
            self.pause()

    # ------------------------------------------------------------ events

    def _event_clicked(self, item: QTreeWidgetItem) -> None:
        t_s = item.data(0, Qt.ItemDataRole.UserRole)
        if t_s is None or self.replay is None or math.isnan(float(t_s)):
            return
        self.pause()
        self.set_index(self.replay.index_at(float(t_s)))

    def jump_to_event(self, row: int) -> int:
        """Jump to the event in row ``row`` of the list; returns the frame index."""
        self._event_clicked(self.events_list.topLevelItem(row))
        return self.current_index

    def closeEvent(self, event: Any) -> None:  # noqa: N802 (Qt API)
        self._timer.stop()
        self.worker.stop(timeout_s=0.0)
        super().closeEvent(event)


def open_replay_window(
    parent: QWidget | None, store: RecordStore, attempt_id: int, *, scene: Any = None
) -> ReplayWindow:
    """Open (show) the replay window of a stored attempt.

    Parameters
    ----------
    parent : QWidget or None
    store : RecordStore
    attempt_id : int
    scene : Scene, optional
        The attempt's scene if already loaded.

    Returns
    -------
    ReplayWindow

    Raises
    ------
    KeyError
        Unknown attempt.
    """
    window = ReplayWindow(store, attempt_id, parent, scene=scene)
    window.show()
    window.raise_()
    return window


__all__ = [
    "SPEEDS",
    "EventSlider",
    "ReplayWindow",
    "ReplayWorker",
    "event_colour",
    "open_replay_window",
]
