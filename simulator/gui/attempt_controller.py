"""Recording and scoring the attempt of the window's session.

``AttemptController`` samples the live ``ScanSession`` at the scoring rate
(20 Hz), feeds a ``Scorer`` of the scene's procedure, appends every sample
and its events to the ``RecordStore`` (which commits them every 0.5 s) and,
at the end, stores the metrics and the grade. An attempt starts on request
or by itself at the first skin puncture; it ends complete on request (or
when an exam's time runs out) and incomplete when it is abandoned (scene
changed, mode changed, window closed).

The scorer's target distance field takes seconds to build for a fine
volume, so it is built on a background thread as soon as a scene is set;
samples taken before it is ready are scored when it is.

Every stored sample carries the session's journaled intents since the
previous one (``simulator.app.session_journal``), and the first one the
state the attempt started from, so a replay redoes the attempt exactly.
"""

from __future__ import annotations

import hashlib
import math
import threading
import time
from collections.abc import Callable, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from PySide6.QtCore import QObject, QTimer, Signal

from simulator.app.attempt_runner import sample_record
from simulator.app.scan_session import ScanSession
from simulator.app.session_journal import JOURNAL_VERSION, JournalRecorder
from simulator.app.session_sampler import SessionSampler
from simulator.records import RecordStore
from simulator.rubric import METRICS, Grade
from simulator.scoring import Sample, Scorer

#: Scoring sample rate, Hz.
SAMPLE_HZ = 20.0
#: Trainee name of attempts when nobody was chosen.
GUEST_TRAINEE = "guest"
#: Trainee name under which demonstrations are recorded (not a trainee's result).
DEMO_TRAINEE = "demonstration"
#: Default exam time limit, s.
DEFAULT_EXAM_LIMIT_S = 600.0
#: Safety metrics whose non-zero count is an alert in the live readout.
SAFETY_METRICS: tuple[str, ...] = tuple(n for n, m in METRICS.items() if m.family == "safety")


@dataclass(frozen=True)
class LiveReadout:
    """What the score panel shows while an attempt runs.

    Attributes
    ----------
    elapsed_s : float
        Time since the attempt started, s.
    remaining_s : float or None
        Time left before an exam ends, s (None: untimed).
    distance_mm : float
        Tip to target surface now, mm (NaN: no needle in the skin or no target).
    target_reached : bool
    tip_visibility : float
        Share of advancement time with the tip in the image, 0-1 (NaN: not advanced yet).
    passes, punctures : int
        Needle passes and separate skin punctures so far.
    injected_ml : float
    in_target_ml : float
        Injected volume that ended in the target compartment, ml.
    alerts : dict
        Safety metric name -> count, only the non-zero ones.
    """

    elapsed_s: float
    remaining_s: float | None = None
    distance_mm: float = math.nan
    target_reached: bool = False
    tip_visibility: float = math.nan
    passes: int = 0
    punctures: int = 0
    injected_ml: float = 0.0
    in_target_ml: float = 0.0
    alerts: dict[str, int] = field(default_factory=dict)


@dataclass(frozen=True)
class AttemptResult:
    """A finished attempt.

    Attributes
    ----------
    attempt_id : int
    status : str
        ``"complete"`` or ``"incomplete"``.
    mode : str
    values : dict
        Metric name -> value.
    grade : Grade or None
        None without a rubric or in demo mode.
    grade_dict : dict or None
        What was stored (``Grade.to_dict``).
    """

    attempt_id: int
    status: str
    mode: str
    values: dict[str, float]
    grade: Grade | None
    grade_dict: dict[str, Any] | None


class AttemptController(QObject):
    """Records, scores and times the attempts of one window.

    Parameters
    ----------
    store : RecordStore, optional
        The records; by default one at ``simulator.records.default_db_path()``
        (``$INJECTION_SIM_DB``), opened on first use.
    injecting : callable, optional
        Whether the plunger is being pushed now (the window's injection control).
    sample_hz : float
        Sampling rate, Hz.
    clock : callable
        Wall clock for elapsed time, s.
    parent : QObject, optional

    Signals
    -------
    started(int)
        An attempt started (its id).
    finished(object)
        An attempt ended (:class:`AttemptResult`).
    readout(object)
        A new :class:`LiveReadout` (every sample while running).
    """

    started = Signal(int)
    finished = Signal(object)
    readout = Signal(object)

    def __init__(
        self,
        store: RecordStore | None = None,
        injecting: Callable[[], bool] = lambda: False,
        sample_hz: float = SAMPLE_HZ,
        clock: Callable[[], float] = time.monotonic,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self._store = store
        self._injecting = injecting
        self._clock = clock
        self.mode = "practice"
        self.trainee = GUEST_TRAINEE
        self.time_limit_s: float | None = None
        self.auto_start = True
        self.session: ScanSession | None = None
        self.scorer: Scorer | None = None
        self.attempt_id: int | None = None
        self.last_result: AttemptResult | None = None
        self.last_readout: LiveReadout | None = None
        self.n_samples = 0
        self._sampler: SessionSampler | None = None
        self._journal = JournalRecorder()
        self._events_seen = 0
        self._start_s = 0.0
        self._injected_seen = -1.0
        self._in_target_ml = 0.0
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="scorer-build")
        self._template: Future[Scorer | None] | None = None
        self._unscored: list[Sample] = []
        #: Why the attempts of this scene are recorded but not scored ("" when they are).
        self.scoring_error = ""
        self.timer = QTimer(self)
        self.timer.setInterval(round(1000.0 / sample_hz))
        self.timer.timeout.connect(self.tick)

    # ------------------------------------------------------------- state
    @property
    def store(self) -> RecordStore:
        """The records store (opened on first use)."""
        if self._store is None:
            self._store = RecordStore()
        return self._store

    @property
    def db_path(self) -> Path:
        """The records file."""
        return self.store.path

    @property
    def running(self) -> bool:
        """Whether an attempt is being recorded."""
        return self.attempt_id is not None

    def elapsed_s(self) -> float:
        """Time since the running attempt started, s (0 when none runs)."""
        return self._clock() - self._start_s if self.running else 0.0

    def remaining_s(self) -> float | None:
        """Time left of a timed attempt, s (None: untimed)."""
        if self.time_limit_s is None:
            return None
        return max(0.0, self.time_limit_s - self.elapsed_s())

    @property
    def scorer_ready(self) -> bool:
        """Whether the scene's scoring (target distance field) is built."""
        return self._template is not None and self._template.done()

    def set_session(self, session: ScanSession | None) -> None:
        """Follow a new session (a new scene); a running attempt is abandoned.

        The scene's scoring context starts building in the background.
        """
        if self.running:
            self.finish("incomplete")
        if session is not None and (
            self.session is None or session.scene is not self.session.scene
        ):
            self._template = self._pool.submit(_scene_scorer, session.scene)
            self.scoring_error = ""  # a new scene: its own scoring, its own error
        self.session = session
        self._journal.attach(session)
        self._sampler = SessionSampler(session) if session is not None else None
        self._events_seen = len(session.events) if session is not None else 0
        if session is not None:
            self.timer.start()
        else:
            self.timer.stop()

    def set_mode(self, mode: str, trainee: str | None = None) -> None:
        """Change the mode (and trainee) of the next attempts; a running one is abandoned."""
        if self.running:
            self.finish("incomplete")
        self.mode = mode
        if trainee is not None:
            self.trainee = trainee

    # ---------------------------------------------------------- lifecycle
    def start(self) -> int | None:
        """Start recording an attempt now (None without a session or if one runs)."""
        if self.session is None or self.running:
            return None
        return self._begin(None)

    def _begin(self, first: Sample | None) -> int:
        s = self.session
        assert s is not None and self._sampler is not None
        spec = s.scene.spec
        self.scorer = None
        self._unscored = []
        if self._template is None:
            self._template = self._pool.submit(_scene_scorer, s.scene)
        trainee = DEMO_TRAINEE if self.mode == "demo" else self.trainee
        if first is None:  # started by hand: from the state now
            self._journal.idle()
        settings = {
            "source": "window",
            "scene_path": str(s.scene.path),
            "probe": s.probe.name,
            "preset": s.preset,
            "gauge": s.needle_gauge,
            "time_limit_s": self.time_limit_s,
            "sample_hz": 1000.0 / self.timer.interval(),
            "imaging": _plain(s.settings),
            "journal_version": JOURNAL_VERSION,
        }
        self.attempt_id = self.store.start_attempt(trainee, spec.name, self.mode, settings)
        self._start_s = self._clock()
        self.n_samples = 0
        self._injected_seen = -1.0
        self._in_target_ml = 0.0
        self.last_result = None
        if first is None:
            first = self._sampler.sample(injecting=self._injecting())
        self._record(first, start=True)
        self.started.emit(self.attempt_id)
        return self.attempt_id

    def tick(self) -> None:
        """Take one sample: record it, or start an attempt at a skin puncture."""
        s = self.session
        if s is None or self._sampler is None:
            return
        if not self.running:
            n = len(s.events)
            if n == self._events_seen:
                self._journal.idle()
                return
            self._events_seen = n
            sample = self._sampler.sample(injecting=self._injecting())
            if self.auto_start and any(e.kind == "skin_puncture" for e in sample.events):
                self._begin(sample)  # from the state of the last idle tick, with the puncture
            else:
                self._journal.idle()
            return
        self._record(self._sampler.sample(injecting=self._injecting()))
        remaining = self.remaining_s()
        if remaining is not None and remaining <= 0.0:
            self.finish("complete")

    def _record(self, sample: Sample, start: bool = False) -> None:
        assert self.attempt_id is not None
        # each sample carries the intents since the previous one: a replay redoes them
        record = sample_record(sample, self._journal.take(start=start))
        self.store.add_samples(self.attempt_id, [record])
        if sample.events:
            self.store.add_events(self.attempt_id, [e.to_dict() for e in sample.events])
        self._unscored.append(sample)
        self._score(wait=False)
        self.n_samples += 1
        self.last_readout = self._readout(sample)
        self.readout.emit(self.last_readout)

    def _score(self, wait: bool) -> None:
        """Feed the samples not scored yet, once the scorer is built (``wait``: block)."""
        if self.scorer is None:
            t = self._template
            if t is None or not (wait or t.done()):
                return
            try:
                template = t.result()
            except Exception as exc:  # recorded anyway, with scoring off and said so
                self.scoring_error = f"scoring off: {type(exc).__name__}: {exc}"
                template = None
            if template is None:
                self._unscored = []
                return
            self.scorer = Scorer(template.ctx, template.rubric)
        self.scorer.update_all(self._unscored)
        self._unscored = []

    def _readout(self, sample: Sample) -> LiveReadout:
        sc = self.scorer
        if sc is None:
            return LiveReadout(self.elapsed_s(), self.remaining_s(), injected_ml=sample.injected_ml)
        v = sc.values()
        distance = math.nan
        if sample.inserted and sample.tip_mm is not None:
            distance = sc.ctx.surface_mm(sample.tip_mm)
        if sample.injected_ml != self._injected_seen and self.session is not None:
            self._injected_seen = sample.injected_ml
            dist = self.session.injection.distribution_ml()
            compartments = sc.ctx.compartments or frozenset({sc.ctx.target_structure})
            self._in_target_ml = sum(ml for k, ml in dist.items() if k in compartments)
        alerts = {n: int(v[n]) for n in SAFETY_METRICS if v.get(n, 0.0) > 0}
        return LiveReadout(
            elapsed_s=self.elapsed_s(),
            remaining_s=self.remaining_s(),
            distance_mm=distance,
            target_reached=v["target_reached"] > 0.5,
            tip_visibility=v["tip_visibility_fraction"],
            passes=_count(v["needle_passes"]),
            punctures=_count(v["skin_punctures"]),
            injected_ml=sample.injected_ml,
            in_target_ml=self._in_target_ml,
            alerts=alerts,
        )

    def finish(self, status: str = "complete") -> AttemptResult | None:
        """End the running attempt: score it, store metrics, grade and status.

        Parameters
        ----------
        status : str
            ``"complete"`` (finished by the trainee or the exam clock) or
            ``"incomplete"`` (abandoned).

        Returns
        -------
        AttemptResult or None
            None when no attempt was running.
        """
        if not self.running or self.session is None:
            return None
        attempt_id = self.attempt_id
        assert attempt_id is not None and self._sampler is not None
        try:
            self._record(self._sampler.sample(injecting=self._injecting()))
        finally:
            self.attempt_id = None  # whatever happens, no sample goes to it any more
            # the next attempt starts from the state now, whatever is done before its
            # first idle tick (fresh tissue, a tracked needle back in at once)
            self._journal.idle()
        values: dict[str, float] = {}
        grade = None
        grade_dict = None
        self._score(wait=True)
        if self.scorer is not None:
            self.scorer.finish(self.session.injection.distribution_ml())
            values = self.scorer.values()
            rubric = self.scorer.rubric
            # an abandoned attempt keeps its metrics so far but gets no grade
            if rubric is not None and self.mode != "demo" and status == "complete":
                grade = rubric.grade(values)
                grade_dict = grade.to_dict()
        self.store.finish_attempt(attempt_id, values, grade_dict, status=status)
        self._events_seen = len(self.session.events)
        self.last_result = AttemptResult(attempt_id, status, self.mode, values, grade, grade_dict)
        self.finished.emit(self.last_result)
        return self.last_result

    def close(self) -> None:
        """Abandon a running attempt (incomplete) and close the store."""
        self.timer.stop()
        if self.running:
            self.finish("incomplete")
        self._journal.attach(None)
        self._pool.shutdown(wait=False, cancel_futures=True)
        if self._store is not None:
            self._store.close()
            self._store = None


#: Scene scorers built in this process (their target distance fields), newest last.
_TEMPLATES: dict[tuple, Scorer] = {}
_TEMPLATES_LOCK = threading.Lock()
#: How many scenes' scorers are kept.
MAX_CACHED_SCORERS = 3


def _scene_scorer(scene: Any) -> Scorer | None:
    """A scorer of ``scene`` (its context and rubric are reused per attempt), or None
    for a scene without a procedure. Cached per scene content: reopening a scene
    does not rebuild its target distance field.

    Raises
    ------
    ValueError
        When the procedure's target cannot be scored (named in the message).
    """
    if scene.spec.procedure is None:
        return None
    vol = scene.volume
    labels = np.ascontiguousarray(vol.labels)
    key = (
        str(scene.path),
        repr(scene.spec.procedure),
        labels.shape,
        float(vol.spacing_mm),
        hashlib.blake2b(labels.view(np.uint8), digest_size=16).hexdigest(),
    )
    with _TEMPLATES_LOCK:
        template = _TEMPLATES.get(key)
    if template is None:
        template = Scorer.from_scene(scene)
        with _TEMPLATES_LOCK:
            _TEMPLATES[key] = template
            while len(_TEMPLATES) > MAX_CACHED_SCORERS:
                _TEMPLATES.pop(next(iter(_TEMPLATES)))
    return template


def _count(value: float) -> int:
    return 0 if math.isnan(value) else round(value)


def _plain(obj: object) -> Any:
    """A settings object as JSON-able plain types (dataclass fields or its repr)."""
    fields = getattr(obj, "__dataclass_fields__", None)
    if fields is None:
        return repr(obj)
    out: dict[str, Any] = {}
    for name in fields:
        value = getattr(obj, name)
        if isinstance(value, int | float | str | bool) or value is None:
            out[name] = value
        elif isinstance(value, Mapping):
            out[name] = {str(k): v for k, v in value.items()}
        else:
            try:
                out[name] = [float(x) for x in value]  # type: ignore[union-attr]
            except (TypeError, ValueError):
                out[name] = repr(value)
    return out
