"""Replay of a recorded attempt: frame by frame, with its events, and re-scored.

A :class:`Replay` re-establishes the session state at any sample by redoing
the recorded steps from the start on a fresh session (probe from
``sample.probe2world``, needle through ``set_needle_tip``, aspiration and
plunger), on a clock set to each sample's time. The engine is deterministic,
so a frame is the same image, bit for bit, as the one a live run rendered at
that sample with the same state and seed. Samples stored by the attempt
runner carry the exact commands that produced them (``"cmd"``), and those
recorded in the window the journal of every intent since the previous sample
(``simulator.app.session_journal``), so bone stops, redirects, blocked
injections, boluses and imaging changes replay exactly; for bare samples the
needle comes from the recorded entry and tip and the injection from the
increase of ``injected_ml``. No Qt here.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from scenes import Scene
from simulator.app.attempt_runner import COMMAND_KEY, make_session, scorer_for
from simulator.app.scan_session import ScanSession
from simulator.app.session_driver import (
    JournalStep,
    ManualClock,
    Step,
    apply_step,
    settled_frame_request,
)
from simulator.app.session_journal import CALLS_KEY, START_KEY
from simulator.app.session_sampler import SessionSampler
from simulator.display import to_uint8
from simulator.engine import BModeFrame
from simulator.records import RecordStore
from simulator.rubric import Grade
from simulator.scoring.samples import Sample

#: Imaging setting names a stored attempt's settings may carry at the top level.
_IMAGING_KEYS = ("depth_mm", "freq_mhz", "focus_mm", "gain_db", "tgc_db", "dynamic_range_db")


def _steps(
    samples: Sequence[Sample], commands: Sequence[Mapping[str, Any] | None]
) -> list[Step | JournalStep]:
    """The step that produced each sample."""
    steps: list[Step | JournalStep] = []
    prev_ml, prev_injecting = 0.0, False
    for i, (s, cmd) in enumerate(zip(samples, commands, strict=True)):
        if cmd is not None and CALLS_KEY in cmd:
            calls = cmd[CALLS_KEY]
            start = cmd.get(START_KEY)
            if not isinstance(calls, list) or not (start is None or isinstance(start, Mapping)):
                raise ValueError(f"Replay: sample {i}: malformed journal ({CALLS_KEY!r})")
            steps.append(
                JournalStep(
                    t_s=s.t_s,
                    calls=tuple(calls),
                    start=start if start else None,
                    injecting=s.injecting,
                )
            )
            prev_ml = s.injected_ml
            continue
        if cmd is not None:
            raw = cmd.get("needle")
            needle = None if raw is None else (np.asarray(raw[0], float), np.asarray(raw[1], float))
            step = Step(
                t_s=s.t_s,
                probe=s.probe2world,
                needle=needle,
                inject_ml=float(cmd.get("inject_ml", 0.0)),
                aspirate=bool(cmd.get("aspirate", False)),
                end_bolus=bool(cmd.get("end_bolus", False)),
            )
        else:
            needle = None
            if s.entry_mm is not None and s.tip_mm is not None:
                needle = (np.asarray(s.entry_mm), np.asarray(s.tip_mm))
            # every increase counts, also the last push before a plunger released
            # between two samples
            volume = max(s.injected_ml - prev_ml, 0.0)
            injecting = volume > 0.0
            step = Step(
                t_s=s.t_s,
                probe=s.probe2world,
                needle=needle,
                inject_ml=volume,
                aspirate=any(e.kind == "aspiration" for e in s.events),
                end_bolus=(prev_injecting and not injecting) or i == len(samples) - 1,
            )
            prev_injecting = injecting
        prev_ml = s.injected_ml
        steps.append(step)
    return steps


def _imaging_of(settings: Mapping[str, Any]) -> dict[str, Any]:
    imaging = settings.get("imaging")
    if isinstance(imaging, Mapping):
        return dict(imaging)
    return {k: settings[k] for k in _IMAGING_KEYS if k in settings}


class Replay:
    """A recorded attempt, replayable frame by frame.

    Parameters
    ----------
    scene : Scene
        The scene of the attempt.
    samples : sequence of Sample or of dict
        The recorded samples in time order; dicts as stored
        (``Sample.to_dict()`` plus the runner's ``"cmd"`` commands).
    settings : mapping, optional
        The attempt's stored settings: ``seed``, ``gauge`` and ``imaging``
        (overrides of the scene's imaging settings) are used.
    seed : int, optional
        Scatterer seed of the engine; default ``settings["seed"]``, else the scene's.
    n_threads : int
        Engine threads.

    Attributes
    ----------
    scene : Scene
    samples : tuple of Sample
    settings : dict
    """

    def __init__(
        self,
        scene: Scene,
        samples: Sequence[Sample | Mapping[str, Any]],
        settings: Mapping[str, Any] | None = None,
        seed: int | None = None,
        *,
        n_threads: int = 2,
    ) -> None:
        if not samples:
            raise ValueError("Replay: no samples to replay")
        parsed: list[Sample] = []
        commands: list[Mapping[str, Any] | None] = []
        for i, item in enumerate(samples):
            if isinstance(item, Sample):
                parsed.append(item)
                commands.append(None)
            elif isinstance(item, Mapping):
                try:
                    parsed.append(Sample.from_dict(item))
                except (KeyError, TypeError, ValueError) as exc:
                    raise ValueError(f"Replay: sample {i}: {exc}") from None
                cmd = item.get(COMMAND_KEY)
                commands.append(cmd if isinstance(cmd, Mapping) else None)
            else:
                raise TypeError(f"Replay: sample {i}: expected a Sample or a dict")
        times = np.array([s.t_s for s in parsed], dtype=np.float64)
        if np.any(np.diff(times) < 0):
            raise ValueError("Replay: sample times must not decrease")
        self.scene = scene
        self.samples = tuple(parsed)
        self.settings = dict(settings or {})
        stored_seed = self.settings.get("seed")
        self.seed = seed if seed is not None else stored_seed
        self.gauge = self.settings.get("gauge")
        probe = self.settings.get("probe")
        self.probe = probe if isinstance(probe, str) else None
        self.imaging = _imaging_of(self.settings)
        self._times = times
        self._times.setflags(write=False)
        self._steps = _steps(self.samples, commands)
        self._n_threads = n_threads
        self._clock: ManualClock | None = None
        self._session: ScanSession | None = None
        self._index = -1

    # ------------------------------------------------------------ building

    @classmethod
    def from_record(
        cls, store: RecordStore, attempt_id: int, scene: Scene | None = None, **kwargs: Any
    ) -> Replay:
        """The replay of a stored attempt.

        Parameters
        ----------
        store : RecordStore
        attempt_id : int
        scene : Scene, optional
            Default: the scene named in the attempt, loaded from the library.

        Raises
        ------
        KeyError
            Unknown attempt.
        ValueError
            An attempt without samples.
        scenes.SceneError
            The attempt's scene cannot be loaded.
        """
        record = store.attempt(attempt_id)
        samples = store.samples(attempt_id)
        if not samples:
            raise ValueError(f"attempt {attempt_id}: no recorded samples to replay")
        if scene is None:
            from scenes import load_scene

            scene = load_scene(record.scene)
        return cls(scene, samples, record.settings, **kwargs)

    def _new_session(self) -> tuple[ScanSession, ManualClock]:
        clock = ManualClock(float(self._times[0]))
        session = make_session(
            self.scene,
            clock,
            seed=self.seed,
            gauge=self.gauge,
            probe=self.probe,
            imaging=self.imaging,
            n_threads=self._n_threads,
        )
        return session, clock

    def close(self) -> None:
        """Free the session's engine threads."""
        if self._session is not None:
            self._session.close()
            self._session = None
            self._index = -1

    def __enter__(self) -> Replay:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ------------------------------------------------------------ timeline

    @property
    def n_frames(self) -> int:
        """Number of samples (frames) of the attempt."""
        return len(self.samples)

    @property
    def times_s(self) -> np.ndarray:
        """Sample times, shape (n_frames,), float64, s (read-only)."""
        return self._times

    def index_at(self, t_s: float) -> int:
        """Index of the last sample at or before ``t_s`` (clamped to the attempt)."""
        i = int(np.searchsorted(self._times, float(t_s) + 1e-9, side="right")) - 1
        return min(max(i, 0), self.n_frames - 1)

    def events_timeline(self) -> list[tuple[float, str, str]]:
        """Every recorded event as ``(t_s, kind, detail)``, in time order.

        ``detail`` is the structure and the event's detail text (e.g.
        ``"suprapatellar_recess 2.00 ml spread in suprapatellar_recess"``).
        """
        out = []
        for s in self.samples:
            for e in s.events:
                detail = " ".join(p for p in (e.structure or "", e.detail) if p)
                out.append((float(e.t_s), e.kind, detail))
        return out

    # ------------------------------------------------------------ frames

    def _check(self, i: int) -> int:
        i = int(i)
        if not 0 <= i < self.n_frames:
            raise IndexError(f"replay frame {i}: expected 0 to {self.n_frames - 1}")
        return i

    @property
    def session(self) -> ScanSession:
        """The replay's session, in the state of the last :meth:`seek`."""
        if self._session is None:
            self.seek(0)
        assert self._session is not None
        return self._session

    def seek(self, i: int) -> None:
        """Put the session in its state at sample ``i``.

        Forward from the current sample the steps in between are redone;
        backwards the session restarts from the first sample (deterministic).
        """
        i = self._check(i)
        if self._session is None or i < self._index:
            self.close()
            self._session, self._clock = self._new_session()
            self._index = -1
        assert self._clock is not None
        for k in range(self._index + 1, i + 1):
            apply_step(self._session, self._clock, self._steps[k])
        self._index = i

    def frame(self, i: int) -> BModeFrame:
        """The B-mode frame at sample ``i`` (the injectate at that moment fully shown)."""
        self.seek(i)
        assert self._session is not None
        request = settled_frame_request(self._session, float(self._times[i]))
        return self._session.engine.render(request)

    def image_rgb(self, i: int) -> np.ndarray:
        """The displayed B-mode at sample ``i``, no labels.

        Returns
        -------
        ndarray, shape (rows, cols, 3), uint8
        """
        grey = to_uint8(self.frame(i).image)
        return np.repeat(grey[:, :, None], 3, axis=2)

    # ------------------------------------------------------------ scoring

    def resample(self) -> list[Sample]:
        """The samples re-simulated through a fresh session (the replay's own)."""
        session, clock = self._new_session()
        try:
            sampler = SessionSampler(session)
            out = []
            for step in self._steps:
                apply_step(session, clock, step)
                out.append(sampler.sample(injecting=step.injecting, t_s=step.t_s))
            self._last_distribution = session.injection.distribution_ml()
            return out
        finally:
            session.close()

    def rescore(self) -> tuple[dict[str, float], Grade | None]:
        """Re-simulate the samples and score them afresh.

        Returns
        -------
        values : dict of str to float
            Metric name -> value.
        grade : Grade or None
            None when the scene has no rubric.

        Raises
        ------
        ValueError
            The scene has no procedure (nothing to score against).
        """
        scorer = scorer_for(self.scene)
        samples = self.resample()
        scorer.update_all(samples)
        scorer.finish(self._last_distribution)
        grade = scorer.grade() if scorer.rubric is not None else None
        return scorer.values(), grade


def metrics_match(
    stored: Mapping[str, Any], rescored: Mapping[str, float], tol: float = 1e-9
) -> list[str]:
    """Names of the metrics whose stored and re-scored values differ (NaN equals NaN)."""
    bad = []
    for name in sorted(set(stored) | set(rescored)):
        a, b = stored.get(name), rescored.get(name)
        if a is None or b is None:
            bad.append(name)
            continue
        fa, fb = float(a), float(b)
        if np.isnan(fa) and np.isnan(fb):
            continue
        if not abs(fa - fb) <= tol * max(1.0, abs(fa)):
            bad.append(name)
    return bad


__all__ = ["Replay", "metrics_match"]
