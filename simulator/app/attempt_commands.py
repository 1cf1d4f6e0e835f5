"""``main.py attempt`` and ``main.py replay``: headless attempts and their replay.

``attempt`` runs a trajectory file through the session, stores it as an
attempt and prints the grade and the metrics (or one JSON object).
``replay`` re-scores a stored attempt, compares with the stored metrics and
optionally writes its frames as PNGs. A failed rubric is a result (exit 0);
a replay that does not reproduce the stored metrics exits 1.
"""

from __future__ import annotations

import argparse
import math
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from simulator.app.cli import UserError, dump_json
from simulator.rubric import METRICS

#: Exit status of a replay whose re-scored metrics differ from the stored ones.
EXIT_MISMATCH = 1


def open_store(db: Path | None) -> Any:
    """The records store at ``db`` (default: ``default_db_path()``)."""
    from simulator.records import RecordStore, default_db_path

    path = db if db is not None else default_db_path()
    try:
        return RecordStore(path)
    except Exception as exc:  # sqlite3.DatabaseError, SchemaVersionError, OSError
        raise UserError(f"records database '{path}': cannot open it ({exc})") from None


def _fmt(value: Any, unit: str = "") -> str:
    if value is None:
        return "-"
    v = float(value)
    if math.isnan(v):
        return "n/a"
    if unit == "%":
        return f"{100.0 * v:.1f} %"
    if unit in ("count", "yes/no"):
        return f"{v:g}" if unit == "count" else ("yes" if v else "no")
    return f"{v:.2f} {unit}".rstrip()


def _json_safe(value: Any) -> Any:
    """NaN and infinities as null (strict JSON)."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, Mapping):
        return {k: _json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_json_safe(v) for v in value]
    return value


def grade_lines(grade: Mapping[str, Any]) -> list[str]:
    """The grade as text: overall result, then each criterion with value and threshold."""
    criteria = grade.get("criteria", [])
    n_met = sum(bool(c.get("met")) for c in criteria)
    lines = [
        f"grade: {'PASS' if grade.get('passed') else 'FAIL'} "
        f"({n_met} of {len(criteria)} criteria met, score {100.0 * grade.get('score', 0.0):.0f} %)"
    ]
    for c in criteria:
        unit = METRICS[c["metric"]].unit if c["metric"] in METRICS else ""
        flag = "pass" if c.get("met") else "FAIL"
        crit = " (critical)" if c.get("critical") else ""
        lines.append(
            f"  {flag:4}  {c['metric']:32} {_fmt(c.get('value'), unit):>12}  "
            f"{c['op']} {_fmt(c.get('threshold'), unit)}{crit}"
        )
    return lines


def metric_lines(values: Mapping[str, Any]) -> list[str]:
    """Every metric with its unit, one per line."""
    lines = ["metrics:"]
    for name, value in values.items():
        unit = METRICS[name].unit if name in METRICS else ""
        lines.append(f"  {name:36} {_fmt(value, unit)}")
    return lines


# ------------------------------------------------------------------ attempt


def run_attempt_command(args: argparse.Namespace) -> int:
    """``main.py attempt``: run, store and print one attempt."""
    from scenes import load_scene
    from simulator.app.attempt_runner import run_attempt
    from simulator.app.trajectory import TrajectoryError, load_trajectory

    if args.mode not in ("practice", "exam", "demo"):
        raise UserError(f"--mode {args.mode}: expected practice, exam or demo")
    if not args.trainee.strip():
        raise UserError("--trainee: expected a trainee name")
    try:
        trajectory = load_trajectory(args.trajectory)
    except TrajectoryError as exc:
        raise UserError(str(exc)) from None
    scene_name = args.scene or trajectory.scene
    if scene_name is None:
        raise UserError(
            f"no scene: give --scene NAME (trajectory file '{args.trajectory}' names none)"
        )
    scene = load_scene(scene_name)
    if trajectory.scene is not None and trajectory.scene != scene.spec.name and not args.json:
        print(
            f"note: trajectory file '{args.trajectory}' was made for scene "
            f"{trajectory.scene!r}; running it on {scene.spec.name!r}"
        )
    if scene.spec.procedure is None:
        raise UserError(
            f"scene {scene.spec.name!r} has no [procedure]: there is no rubric to score "
            f"an attempt against; choose a procedure scene (main.py scenes)"
        )
    store = open_store(args.db)
    try:
        if not args.json:
            print(
                f"running {trajectory.duration_s:g} s of trajectory on {scene.spec.name} "
                f"({'real time' if args.realtime else 'as fast as possible'})",
                flush=True,
            )
        result = run_attempt(
            scene,
            trajectory,
            store=store,
            trainee=args.trainee,
            mode=args.mode,
            realtime=bool(args.realtime),
        )
    finally:
        store.close()
    grade = result.grade.to_dict() if result.grade is not None else None
    if args.json:
        out = {
            "attempt_id": result.attempt_id,
            "db": str(store.path),
            "scene": scene.spec.name,
            "trainee": args.trainee,
            "mode": args.mode,
            "passed": result.passed,
            "score": None if grade is None else grade["score"],
            "grade": grade,
            "metrics": result.values,
            "distribution_ml": result.distribution_ml,
            "n_samples": len(result.samples),
            "duration_s": trajectory.duration_s,
        }
        print(dump_json(_json_safe(out)))
        return 0
    print(
        f"attempt {result.attempt_id}: {scene.spec.name}, trainee {args.trainee}, {args.mode}, "
        f"{trajectory.duration_s:g} s, {len(result.samples)} samples at "
        f"{trajectory.sample_rate_hz:g} Hz; stored in '{store.path}'"
    )
    if grade is not None:
        print("\n".join(grade_lines(grade)))
    print("\n".join(metric_lines(result.values)))
    if result.distribution_ml:
        where = ", ".join(f"{n} {ml:.2f} ml" for n, ml in sorted(result.distribution_ml.items()))
        print(f"injectate: {where}")
    return 0


# ------------------------------------------------------------------ replay


def _write_frames(replay: Any, out_dir: Path, every: int) -> int:
    from PIL import Image

    out_dir.mkdir(parents=True, exist_ok=True)
    n = 0
    for i in range(0, replay.n_frames, every):
        t = float(replay.times_s[i])
        Image.fromarray(replay.image_rgb(i), mode="RGB").save(
            out_dir / f"frame_{i:05d}_t{t:07.2f}s.png"
        )
        n += 1
    return n


def run_replay_command(args: argparse.Namespace) -> int:
    """``main.py replay``: re-score a stored attempt and compare; write frames if asked."""
    from simulator.app.replay import Replay, metrics_match

    if args.every < 1:
        raise UserError(f"--every {args.every}: expected a whole number >= 1")
    store = open_store(args.db)
    try:
        try:
            record = store.attempt(args.attempt)
        except KeyError:
            ids = [a.id for a in store.attempts()]
            known = ", ".join(map(str, ids[-20:])) if ids else "none"
            raise UserError(
                f"--attempt {args.attempt}: no such attempt in '{store.path}' (attempts: {known})"
            ) from None
        try:
            replay = Replay.from_record(store, args.attempt)
        except ValueError as exc:
            from scenes import SceneError

            if isinstance(exc, SceneError):
                raise
            raise UserError(str(exc)) from None
    finally:
        store.close()
    with replay:
        values, grade = replay.rescore()
        print(
            f"attempt {record.id}: {record.scene}, trainee {record.trainee}, {record.mode}, "
            f"{record.status}; {replay.n_frames} samples, "
            f"{len(replay.events_timeline())} events"
        )
        stored = record.metrics or {}
        bad = metrics_match(stored, values) if stored else []
        print(f"  {'metric':36} {'stored':>14} {'re-scored':>14}")
        for name, value in values.items():
            unit = METRICS[name].unit if name in METRICS else ""
            mark = "  DIFFERS" if name in bad else ""
            print(f"  {name:36} {_fmt(stored.get(name), unit):>14} {_fmt(value, unit):>14}{mark}")
        if grade is not None:
            print(f"re-scored grade: {'PASS' if grade.passed else 'FAIL'}")
        if args.out_dir is not None:
            n = _write_frames(replay, args.out_dir, args.every)
            print(f"wrote {n} frames to {args.out_dir}")
    if not stored:
        print(f"attempt {record.id} has no stored metrics ({record.status}): nothing to compare")
        return 0
    if bad:
        print(f"MISMATCH: {len(bad)} metrics differ from the stored ones: {', '.join(bad)}")
        return EXIT_MISMATCH
    print("re-scored metrics match the stored ones")
    return 0


__all__ = ["grade_lines", "metric_lines", "open_store", "run_attempt_command", "run_replay_command"]
