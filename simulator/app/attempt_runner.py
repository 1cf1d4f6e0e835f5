"""Run a trajectory through a scanning session headless, score it and record it.

:func:`run_attempt` builds a session on a clock that reads the trajectory
time (not wall time), does each sample's :class:`~simulator.app.session_driver.Step`
(probe, needle through ``set_needle_tip``, aspiration, plunger), samples it
with :class:`~simulator.app.session_sampler.SessionSampler`, feeds the
scorer and writes every sample (with the commands that produced it, so a
replay redoes them exactly) and event to the records store as it goes.
"""

from __future__ import annotations

import time
import weakref
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from scenes import Scene
from scenes.skin import skin_surface
from simulator.app.scan_session import ScanSession
from simulator.app.session_driver import ManualClock, apply_step
from simulator.app.session_sampler import SessionSampler
from simulator.app.trajectory import Trajectory
from simulator.records import RecordStore
from simulator.rubric import Grade
from simulator.scoring.samples import Sample
from simulator.scoring.scorer import Scorer

#: Version of the settings a runner stores with an attempt.
RUNNER_SETTINGS_VERSION = 1
#: Key of the commands stored with each sample dict.
COMMAND_KEY = "cmd"


@dataclass(frozen=True)
class AttemptResult:
    """The outcome of a headless attempt.

    Attributes
    ----------
    attempt_id : int or None
        Id in the records store (None when not stored).
    samples : tuple of Sample
        Every sample, in time order.
    values : dict of str to float
        Metric name -> value (``simulator.rubric.METRICS`` order).
    grade : Grade or None
        Against the scene's rubric (None without one).
    distribution_ml : dict of str to float
        Where the injectate went: structure -> ml.
    settings : dict
        What was stored as the attempt's settings.
    """

    attempt_id: int | None
    samples: tuple[Sample, ...]
    values: dict[str, float]
    grade: Grade | None
    distribution_ml: dict[str, float]
    settings: dict[str, Any]

    @property
    def passed(self) -> bool | None:
        """Whether the rubric was passed (None without a grade)."""
        return None if self.grade is None else self.grade.passed


#: id(scene) -> (weak reference to the scene, its scoring context, its rubric).
_CONTEXTS: dict[int, tuple[weakref.ref, Any, Any]] = {}


def scorer_for(scene: Scene) -> Scorer:
    """A fresh :class:`Scorer` of a procedure scene.

    The scoring context (the target's distance field: seconds to build) is
    built once per loaded scene object and shared; every scorer keeps its own
    metric state.

    Raises
    ------
    ValueError
        The scene has no procedure.
    """
    key = id(scene)
    entry = _CONTEXTS.get(key)
    if entry is not None and entry[0]() is scene:
        return Scorer(entry[1], entry[2])
    scorer = Scorer.from_scene(scene)
    ref = weakref.ref(scene, lambda _r, k=key: _CONTEXTS.pop(k, None))
    _CONTEXTS[key] = (ref, scorer.ctx, scorer.rubric)
    return scorer


def sample_record(sample: Sample, command: Mapping[str, Any]) -> dict[str, Any]:
    """The dict stored for one sample: ``Sample.to_dict()`` plus its commands."""
    d = sample.to_dict()
    d[COMMAND_KEY] = dict(command)
    return d


def attempt_settings(scene: Scene, trajectory: Trajectory, session: ScanSession) -> dict:
    """Settings stored with the attempt (what a replay needs to rebuild the session)."""
    gauge, length_mm = session.needle_kind()
    return {
        "source": "trajectory",
        "runner_version": RUNNER_SETTINGS_VERSION,
        "scene": scene.spec.name,
        "seed": trajectory.seed,
        "gauge": gauge,
        "needle_length_mm": length_mm,
        "imaging": dict(trajectory.imaging),
        "probe": session.probe.name,
        "sample_rate_hz": trajectory.sample_rate_hz,
        "trajectory": trajectory.header(),
    }


def make_session(
    scene: Scene,
    clock: ManualClock,
    *,
    seed: int | None = None,
    gauge: int | None = None,
    imaging: Mapping[str, Any] | None = None,
    n_threads: int = 2,
    probe: str | None = None,
) -> ScanSession:
    """A headless session on ``clock`` with the given probe, gauge and imaging overrides.

    Raises
    ------
    simulator.probe.SettingsError
        Imaging overrides the scene's probe cannot do.
    """
    session = ScanSession(scene, skin_surface(scene), n_threads=n_threads, clock=clock, seed=seed)
    try:
        if probe is not None and probe != session.probe.name:
            session.choose_probe(probe)  # before the imaging settings, which are the probe's
        if gauge is not None:
            session.needle_gauge = int(gauge)
        if imaging:
            session.set_settings(
                **{k: tuple(v) if k == "tgc_db" else v for k, v in imaging.items()}
            )
    except BaseException:
        session.close()
        raise
    return session


def run_attempt(
    scene: Scene,
    trajectory: Trajectory,
    *,
    store: RecordStore | None = None,
    trainee: str = "",
    mode: str = "practice",
    on_sample: Callable[[ScanSession, Sample], None] | None = None,
    realtime: bool = False,
    n_threads: int = 2,
) -> AttemptResult:
    """Drive ``trajectory`` through a session of ``scene``, score it, and record it.

    Parameters
    ----------
    scene : Scene
        A loaded scene (with a procedure for a grade).
    trajectory : Trajectory
    store : RecordStore, optional
        Where to record the attempt (samples and events as they come).
    trainee : str
        Trainee name (added to the store if new); required with ``store``.
    mode : str
        ``"practice"``, ``"exam"`` or ``"demo"``.
    on_sample : callable ``(session, sample) -> None``, optional
        Called after each sample (e.g. to render the frame of that moment).
    realtime : bool
        Pace the samples at wall-clock speed (a live-like run).
    n_threads : int
        Engine threads.

    Returns
    -------
    AttemptResult

    Raises
    ------
    ValueError
        No trainee given with a store; an invalid mode.
    simulator.probe.SettingsError
        Imaging overrides the probe cannot do.

    Notes
    -----
    If anything fails mid-way, the stored attempt is finished as
    ``incomplete`` with the metrics so far, and the error is raised.
    """
    if store is not None and not trainee.strip():
        raise ValueError("run_attempt: a trainee name is needed to store the attempt")
    steps = trajectory.steps()
    clock = ManualClock(steps[0].t_s)
    session = make_session(
        scene,
        clock,
        seed=trajectory.seed,
        gauge=trajectory.gauge,
        imaging=trajectory.imaging,
        n_threads=n_threads,
    )
    attempt_id: int | None = None
    scorer: Scorer | None = None
    try:
        settings = attempt_settings(scene, trajectory, session)
        sampler = SessionSampler(session)
        scorer = scorer_for(scene) if scene.spec.procedure is not None else None
        if store is not None:
            attempt_id = store.start_attempt(trainee, scene.spec.name, mode, settings)
        samples: list[Sample] = []
        wall0 = time.monotonic()
        for step in steps:
            if realtime:
                delay = wall0 + (step.t_s - steps[0].t_s) - time.monotonic()
                if delay > 0:
                    time.sleep(delay)
            apply_step(session, clock, step)
            sample = sampler.sample(injecting=step.injecting, t_s=step.t_s)
            samples.append(sample)
            if scorer is not None:
                scorer.update(sample)
            if store is not None and attempt_id is not None:
                store.add_samples(attempt_id, [sample_record(sample, step.command_dict())])
                if sample.events:
                    store.add_events(attempt_id, sample.events)
            if on_sample is not None:
                on_sample(session, sample)
        distribution = session.injection.distribution_ml()
        values: dict[str, float] = {}
        grade = None
        if scorer is not None:
            scorer.finish(distribution)
            values = scorer.values()
            grade = scorer.grade() if scorer.rubric is not None else None
        if store is not None and attempt_id is not None:
            store.finish_attempt(
                attempt_id,
                values,
                None if grade is None else grade.to_dict(),
                status="complete",
            )
        return AttemptResult(attempt_id, tuple(samples), values, grade, distribution, settings)
    except BaseException:
        if store is not None and attempt_id is not None:
            try:
                partial = scorer.values() if scorer is not None else {}
                store.finish_attempt(attempt_id, partial, None, status="incomplete")
            except Exception:  # the original error matters more
                pass
        raise
    finally:
        session.close()


__all__ = [
    "COMMAND_KEY",
    "AttemptResult",
    "attempt_settings",
    "make_session",
    "run_attempt",
    "sample_record",
    "scorer_for",
]
