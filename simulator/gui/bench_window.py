"""Responsiveness benchmark of the real main window (run under Xvfb).

Drives the window as a hand moving the probe: a pose change every
``--pose-interval-ms`` (a slow sweep along the array with a little rotation),
with the 3D view visible and the frames computed on the worker thread. For
every frame painted on the ultrasound screen it records the time from the
pose change (the frame request) to the end of the paint, and prints:

- frames per second painted on the ultrasound screen;
- pose-to-screen latency (median, 95th percentile, maximum), ms;
- milliseconds per stage: engine frame, 3D view render;
- where the GUI thread's time goes per frame painted (new image and readout,
  paint, 3D texture, 3D render, pose handling) and how busy it is;
- pose changes superseded before they were rendered (latest pose wins).

Run with ``./scripts/bench-gui`` (which starts Xvfb when there is no display)
or ``python -m simulator.gui.bench_window --help``.
"""

from __future__ import annotations

import argparse
import math
import os
import statistics
import sys
import time

from PySide6.QtCore import QElapsedTimer, QEventLoop, QTimer
from PySide6.QtWidgets import QApplication

from simulator.gui.main_window import MainWindow
from simulator.gui.theme import apply_dark_theme


def _parse(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="bench_window", description=__doc__.split("\n\n")[0])
    p.add_argument("--scene", default="demo_msk", help="scene name or .toml file")
    p.add_argument("--seconds", type=float, default=8.0, help="measurement time, s")
    p.add_argument("--pose-interval-ms", type=float, default=16.0, help="time between poses")
    p.add_argument("--no-3d", action="store_true", help="hide the 3D view")
    p.add_argument("--labels", action="store_true", help="structure labels overlay on")
    p.add_argument(
        "--inject",
        type=float,
        metavar="ML_PER_S",
        help="a needle in plane, injecting at this rate while the probe sweeps",
    )
    p.add_argument("--max-3d-fps", type=float, default=None, help="3D view render rate cap")
    p.add_argument("--width", type=int, default=1600)
    p.add_argument("--height", type=int, default=1000)
    return p.parse_args(argv)


def _pct(values: list[float], q: float) -> float:
    if not values:
        return math.nan
    s = sorted(values)
    return s[min(len(s) - 1, max(0, math.ceil(q / 100.0 * len(s)) - 1))]


#: GUI-thread stages timed by ``_StageClock``: (label, object attribute path, method).
GUI_STAGES: tuple[tuple[str, str, str], ...] = (
    ("image", "", "_show_frame"),
    ("paint", "image_view", "repaint"),
    ("3D texture", "anatomy_view", "set_frame"),
    ("3D render", "anatomy_view", "render"),
    ("pose", "", "do_action"),
    ("inject", "injection_control", "inject_ml"),
    ("3D injectate", "anatomy_view", "set_injectate"),
)


class _StageClock:
    """Wall time spent in some methods of the window (GUI thread), by stage.

    Each method is wrapped on its instance (the window calls them through the
    instance, so the wrapper sees every call); only calls while ``measuring``
    count.
    """

    def __init__(self, win: MainWindow) -> None:
        self.measuring = False
        self.ms = {label: 0.0 for label, _, _ in GUI_STAGES}
        self.calls = {label: 0 for label, _, _ in GUI_STAGES}
        for label, path, name in GUI_STAGES:
            obj = getattr(win, path) if path else win
            self._wrap(obj, name, label)

    def _wrap(self, obj: object, name: str, label: str) -> None:
        inner = getattr(obj, name)

        def timed(*args: object, **kwargs: object) -> object:
            if not self.measuring:
                return inner(*args, **kwargs)
            t0 = time.perf_counter()
            try:
                return inner(*args, **kwargs)
            finally:
                self.ms[label] += 1e3 * (time.perf_counter() - t0)
                self.calls[label] += 1

        setattr(obj, name, timed)


def _run_loop_for(seconds: float) -> None:
    """Run the Qt event loop for ``seconds`` (idle waits sleep, as in the real app)."""
    loop = QEventLoop()
    QTimer.singleShot(round(1000 * seconds), loop.quit)
    loop.exec()


def run(argv: list[str] | None = None) -> int:
    """Run the benchmark and print its figures; returns 0."""
    args = _parse(argv)
    os.environ.setdefault("INJECTION_SIM_SETTINGS", os.devnull)
    app = QApplication.instance() or QApplication(sys.argv[:1])
    apply_dark_theme(app)  # type: ignore[arg-type]
    win = MainWindow(scene=args.scene, synchronous=False, remember=False)
    win.resize(args.width, args.height)
    win.show()
    win.dock_3d.setVisible(not args.no_3d)
    if args.max_3d_fps:
        win.anatomy_view.set_max_fps(args.max_3d_fps)
    clock = QElapsedTimer()
    clock.start()
    while win.frame is None and clock.elapsed() < 60_000:
        _run_loop_for(0.05)
    if win.frame is None:
        print("error: no frame within 60 s", file=sys.stderr)
        return 1
    if args.labels:
        win.set_labels_visible(True)
    if args.inject:
        win.do_action("place_needle")
        for _ in range(20):
            win.do_action("advance", 1.0)
        win.needle_panel.rate.setValue(args.inject)
        win.do_action("inject")
    latencies_ms: list[float] = []
    paint_times: list[float] = []
    engine_ms: list[float] = []
    render3d_ms: list[float] = []
    state = {"measuring": False, "n_pose": 0, "phase": 0.0}

    def on_painted(request_t_s: float) -> None:
        if not state["measuring"]:
            return
        now = time.monotonic()
        latencies_ms.append(1000.0 * (now - request_t_s))
        paint_times.append(now)
        frame = win.frame
        if frame is not None:
            engine_ms.append(float(frame.timings_ms.get("total", math.nan)))
        if not args.no_3d and win.anatomy_view.last_render_ms != state.get("last_3d"):
            render3d_ms.append(win.anatomy_view.last_render_ms)
            state["last_3d"] = win.anatomy_view.last_render_ms

    win.image_view.frame_painted.connect(on_painted)
    stages = _StageClock(win)

    def move() -> None:
        # a hand sweeping 10 mm back and forth along the array, 2 s per sweep,
        # with a slow rotation: a new pose every tick
        state["phase"] += args.pose_interval_ms / 1000.0
        state["n_pose"] += 1
        steps = 0.5 * math.cos(math.pi * state["phase"])
        win.do_action("slide_along", steps, "normal")
        if state["n_pose"] % 10 == 0:
            win.do_action("rotate", 0.25 if state["phase"] % 4 < 2 else -0.25, "normal")

    timer = QTimer()
    timer.setInterval(round(args.pose_interval_ms))
    timer.timeout.connect(move)
    dropped0 = win.worker.n_dropped
    timer.start()
    _run_loop_for(1.0)  # warm-up
    state["measuring"] = stages.measuring = True
    dropped0 = win.worker.n_dropped
    poses0 = state["n_pose"]
    wall0, cpu0 = time.perf_counter(), time.thread_time()
    _run_loop_for(args.seconds)
    wall_s, cpu_s = time.perf_counter() - wall0, time.thread_time() - cpu0
    state["measuring"] = stages.measuring = False
    timer.stop()
    n_pose = state["n_pose"] - poses0
    dropped = win.worker.n_dropped - dropped0
    frame = win.frame
    g = frame.geometry if frame is not None else None
    span = paint_times[-1] - paint_times[0] if len(paint_times) > 1 else math.nan
    fps = (len(paint_times) - 1) / span if span and span > 0 else math.nan
    print(
        f"scene {args.scene}, window {args.width}x{args.height}, 3D view "
        f"{'hidden' if args.no_3d else 'visible'}, labels {'on' if args.labels else 'off'}"
        + (f", injecting {args.inject:g} ml/s" if args.inject else "")
    )
    if g is not None:
        print(
            f"image {g.cols} x {g.rows} px, {frame.settings.n_lines or 'default'} lines, "
            f"depth {frame.settings.depth_mm:.0f} mm"
        )
    print(
        f"pose changes: {n_pose} in {args.seconds:.1f} s "
        f"({n_pose / args.seconds:.0f} per s); superseded before rendering: {dropped}"
    )
    print(f"ultrasound screen: {len(paint_times)} frames painted, {fps:.1f} fps")
    print(
        f"pose-to-screen latency: median {_pct(latencies_ms, 50):.1f} ms, "
        f"p95 {_pct(latencies_ms, 95):.1f} ms, max {max(latencies_ms, default=math.nan):.1f} ms"
    )
    if engine_ms:
        print(f"engine frame: median {statistics.median(engine_ms):.1f} ms")
    if render3d_ms:
        print(
            f"3D view render: median {statistics.median(render3d_ms):.1f} ms, "
            f"about {len(render3d_ms) / args.seconds:.0f} renders per s"
        )
    n = max(len(paint_times), 1)
    per_frame = ", ".join(
        f"{label} {ms / n:.1f}" + (f" ({stages.calls[label]})" if label == "3D render" else "")
        for label, ms in stages.ms.items()
    )
    busy = sum(stages.ms.values()) / (1e3 * wall_s)
    print(f"GUI thread per frame painted, ms: {per_frame}")
    print(
        f"GUI thread busy {100 * busy:.0f} % of the time in these stages, "
        f"its CPU {100 * cpu_s / wall_s:.0f} % of one core"
    )
    if args.inject and win.session is not None:
        inj = win.session.injection
        where = ", ".join(f"{k} {v:.2f}" for k, v in inj.distribution_ml().items())
        print(f"injected {inj.injected_ml:.2f} ml at {args.inject:g} ml/s ({where})")
    win.close()
    return 0


if __name__ == "__main__":
    sys.exit(run())
