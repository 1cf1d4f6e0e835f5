"""Calibration and registration: needle tip pivot, probe sensor-to-face, tracker-to-scene.

All lengths in millimetres, transforms 4x4 float64 named ``a2b`` (ARCHITECTURE.md).

- :func:`pivot_calibration`: pivot the needle about its tip resting in a divot; the tip in
  the needle sensor's frame and the divot in the tracker frame solve one least-squares
  system (the standard algebraic method). The RMS residual is reported.
- :func:`paired_point_registration`: touch landmarks on the phantom with the calibrated
  needle (or a pointer); Arun/Horn SVD fit with a reflection guard gives ``tracker2world``
  and the fiducial registration error (FRE).
- :func:`probe_face_offset`: the probe's ``sensor2face`` either from a stored value (a
  profile, or the rig's CAD) or from a simple procedure: touch both ends of the face's
  centre line (notch end first) and at least one more point on the face with a calibrated
  pointer, the points expressed in the probe sensor's frame (:func:`points_in_tool`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

#: Points closer to a line than this RMS spread, mm, cannot fix a rotation.
MIN_SPREAD_MM = 1.0


class CalibrationError(ValueError):
    """Input that cannot give a calibration; the message says what was expected."""


@dataclass(frozen=True)
class PivotResult:
    """Pivot calibration result.

    Attributes
    ----------
    tip_in_tool_mm : ndarray, shape (3,)
        Needle tip in the tool (sensor) frame, mm.
    pivot_in_tracker_mm : ndarray, shape (3,)
        The fixed pivot point in the tracker frame, mm.
    rms_residual_mm : float
        RMS distance between each pose's predicted tip and the pivot, mm.
    n_poses : int
        Poses used.
    """

    tip_in_tool_mm: np.ndarray
    pivot_in_tracker_mm: np.ndarray
    rms_residual_mm: float
    n_poses: int


@dataclass(frozen=True)
class Registration:
    """Paired-point registration result.

    Attributes
    ----------
    tracker2world : ndarray, shape (4, 4)
        Rigid transform tracker frame -> scene (world) frame.
    fre_mm : float
        Fiducial registration error: RMS of per-point errors, mm.
    per_point_error_mm : ndarray, shape (N,)
        Distance between each mapped tracker point and its scene point, mm.
    """

    tracker2world: np.ndarray
    fre_mm: float
    per_point_error_mm: np.ndarray


def _as_poses(poses: np.ndarray) -> np.ndarray:
    arr = np.asarray(poses, dtype=np.float64)
    if arr.ndim != 3 or arr.shape[1:] != (4, 4):
        raise CalibrationError(f"expected tool2tracker poses of shape (N, 4, 4), got {arr.shape}")
    if not np.all(np.isfinite(arr)):
        raise CalibrationError("tool2tracker poses contain NaN or infinite values")
    return arr


def pivot_calibration(
    tool2tracker_poses: np.ndarray, min_rotation_deg: float = 10.0
) -> PivotResult:
    """Needle tip offset by pivoting about a fixed point (algebraic least squares).

    For each pose ``R_i p_tip + t_i = p_pivot``, i.e. ``[R_i  -I] [p_tip; p_pivot] = -t_i``;
    stacking the N poses gives a (3N, 6) system solved by least squares.

    Parameters
    ----------
    tool2tracker_poses : ndarray, shape (N, 4, 4)
        Poses of the needle's sensor while its tip rests in a divot, N >= 4.
    min_rotation_deg : float
        The poses must span at least this rotation about the tip, degrees, else the
        system is ill-conditioned and an error is raised.

    Returns
    -------
    PivotResult

    Raises
    ------
    CalibrationError
        Too few poses, bad shape, or not enough rotation.
    """
    poses = _as_poses(tool2tracker_poses)
    n = len(poses)
    if n < 4:
        raise CalibrationError(f"pivot calibration needs at least 4 poses, got {n}")
    rotations = poses[:, :3, :3]
    spread_deg = _max_rotation_deg(rotations)
    if spread_deg < min_rotation_deg:
        raise CalibrationError(
            f"pivot calibration: the poses span {spread_deg:.1f} deg of rotation, expected at "
            f"least {min_rotation_deg:.0f} deg (tilt the needle about its tip in every direction)"
        )
    a = np.zeros((3 * n, 6))
    a[:, :3] = rotations.reshape(3 * n, 3)
    a[:, 3:] = -np.tile(np.eye(3), (n, 1))
    b = -poses[:, :3, 3].reshape(3 * n)
    x, *_ = np.linalg.lstsq(a, b, rcond=None)
    tip, pivot = x[:3], x[3:]
    predicted = np.einsum("nij,j->ni", rotations, tip) + poses[:, :3, 3]
    residual = np.linalg.norm(predicted - pivot, axis=1)
    return PivotResult(tip, pivot, float(np.sqrt(np.mean(residual**2))), n)


def _max_rotation_deg(rotations: np.ndarray) -> float:
    """Largest rotation angle between the first pose and any other, degrees."""
    rel = np.einsum("ji,njk->nik", rotations[0], rotations)  # R0^T R_n
    cos = np.clip((np.trace(rel, axis1=1, axis2=2) - 1.0) / 2.0, -1.0, 1.0)
    return float(np.degrees(np.max(np.arccos(cos))))


def _as_points(points: np.ndarray, name: str) -> np.ndarray:
    arr = np.asarray(points, dtype=np.float64)
    if arr.ndim != 2 or arr.shape[1] != 3:
        raise CalibrationError(f"{name}: expected points of shape (N, 3), got {arr.shape}")
    if not np.all(np.isfinite(arr)):
        raise CalibrationError(f"{name}: points contain NaN or infinite values")
    return arr


def _check_spread(points: np.ndarray, name: str, min_spread_mm: float) -> None:
    centred = points - points.mean(axis=0)
    s = np.linalg.svd(centred, compute_uv=False)
    spread_mm = s[1] / np.sqrt(len(points))
    if spread_mm < min_spread_mm:
        raise CalibrationError(
            f"{name}: the {len(points)} points are (nearly) collinear (spread off their best "
            f"line {spread_mm:.3g} mm, expected at least {min_spread_mm:g} mm): touch at least "
            "3 landmarks that are not in a line"
        )


def rigid_fit(source: np.ndarray, target: np.ndarray) -> np.ndarray:
    """Least-squares rigid transform (4, 4) mapping ``source`` (N, 3) onto ``target`` (N, 3).

    Arun et al. 1987 SVD solution with the reflection guard (det = +1).
    """
    cs, ct = source.mean(axis=0), target.mean(axis=0)
    h = (source - cs).T @ (target - ct)
    u, _, vt = np.linalg.svd(h)
    d = np.sign(np.linalg.det(vt.T @ u.T)) or 1.0
    rotation = vt.T @ np.diag([1.0, 1.0, d]) @ u.T
    out = np.eye(4)
    out[:3, :3] = rotation
    out[:3, 3] = ct - rotation @ cs
    return out


def paired_point_registration(
    tracker_points_mm: np.ndarray,
    scene_points_mm: np.ndarray,
    min_spread_mm: float = MIN_SPREAD_MM,
) -> Registration:
    """Register the tracker frame to the scene from paired landmarks.

    Parameters
    ----------
    tracker_points_mm : ndarray, shape (N, 3)
        Landmarks touched, in the tracker frame, mm.
    scene_points_mm : ndarray, shape (N, 3)
        The same landmarks in the scene (world) frame, mm.
    min_spread_mm : float
        Minimum RMS spread of the points off their best-fit line, mm.

    Returns
    -------
    Registration

    Raises
    ------
    CalibrationError
        Shapes differ, N < 3, or the points are collinear.
    """
    src = _as_points(tracker_points_mm, "tracker points")
    dst = _as_points(scene_points_mm, "scene points")
    if len(src) != len(dst):
        raise CalibrationError(
            f"registration: {len(src)} tracker points but {len(dst)} scene points; "
            "expected one scene point per touched landmark"
        )
    if len(src) < 3:
        raise CalibrationError(f"registration needs at least 3 landmarks, got {len(src)}")
    _check_spread(src, "tracker points", min_spread_mm)
    _check_spread(dst, "scene points", min_spread_mm)
    tracker2world = rigid_fit(src, dst)
    mapped = src @ tracker2world[:3, :3].T + tracker2world[:3, 3]
    errors = np.linalg.norm(mapped - dst, axis=1)
    return Registration(tracker2world, float(np.sqrt(np.mean(errors**2))), errors)


def points_in_tool(pointer_tips_in_tracker_mm: np.ndarray, tool2tracker: np.ndarray) -> np.ndarray:
    """Express tracker-frame points (N, 3) in a tool's frame; ``tool2tracker`` (4, 4) or (N, 4, 4).

    Use it to bring pointer touches on the probe face into the probe sensor's frame (one
    probe pose per touch, or one pose if the probe did not move).
    """
    pts = _as_points(pointer_tips_in_tracker_mm, "pointer tips")
    poses = np.asarray(tool2tracker, dtype=np.float64)
    if poses.shape == (4, 4):
        poses = np.broadcast_to(poses, (len(pts), 4, 4))
    if poses.shape != (len(pts), 4, 4):
        raise CalibrationError(
            f"points_in_tool: expected one (4, 4) pose or {len(pts)} poses, got {poses.shape}"
        )
    inv = np.linalg.inv(poses)
    return np.einsum("nij,nj->ni", inv[:, :3, :3], pts) + inv[:, :3, 3]


def probe_face_from_points(
    notch_end_mm: np.ndarray, far_end_mm: np.ndarray, face_points_mm: np.ndarray | None = None
) -> np.ndarray:
    """``sensor2face`` (4, 4) from points touched on the probe face, in the sensor frame.

    The face frame (the probe frame of ARCHITECTURE.md): origin midway between the two ends
    of the array's centre line, +x toward the notch end, +z normal to the face pointing
    away from the sensor (into the body), +y = z x x.

    Parameters
    ----------
    notch_end_mm, far_end_mm : ndarray, shape (3,)
        Ends of the face's centre line along the array (notch side first), sensor frame, mm.
    face_points_mm : ndarray, shape (M, 3), optional
        More points on the face (M >= 1), to fix the plane. Without them the plane is taken
        through the centre line perpendicular to the line from the sensor origin.

    Raises
    ------
    CalibrationError
        Ends coincide, or the face points do not define a plane.
    """
    notch = np.asarray(notch_end_mm, dtype=np.float64).reshape(3)
    far = np.asarray(far_end_mm, dtype=np.float64).reshape(3)
    length = np.linalg.norm(notch - far)
    if length < 1.0:
        raise CalibrationError(
            f"probe face: the two ends of the array are {length:.2f} mm apart, expected the "
            "full face width (touch each end of the face's centre line)"
        )
    origin = (notch + far) / 2
    x = (notch - far) / length
    if face_points_mm is None:
        normal = origin - x * np.dot(origin, x)  # away from the sensor, orthogonal to x
    else:
        pts = np.vstack([notch, far, _as_points(face_points_mm, "probe face points")])
        _check_spread(pts, "probe face points", 0.5)
        centred = pts - pts.mean(axis=0)
        normal = np.linalg.svd(centred)[2][2]
        if np.dot(normal, origin) < 0:
            normal = -normal
    normal = normal - x * np.dot(normal, x)
    n = np.linalg.norm(normal)
    if n < 1e-9:
        raise CalibrationError("probe face: cannot find the face normal from these points")
    z = normal / n
    y = np.cross(z, x)
    face2sensor = np.eye(4)
    face2sensor[:3, :3] = np.column_stack([x, y, z])
    face2sensor[:3, 3] = origin
    return np.linalg.inv(face2sensor)


def probe_face_offset(
    stored_sensor2face: np.ndarray | None = None,
    *,
    notch_end_mm: np.ndarray | None = None,
    far_end_mm: np.ndarray | None = None,
    face_points_mm: np.ndarray | None = None,
) -> np.ndarray:
    """The probe's ``sensor2face`` (4, 4): a stored value, or measured by touching the face.

    Give either ``stored_sensor2face`` (from a profile or the rig's drawing) or the touched
    points (see :func:`probe_face_from_points`). The probe pose is then
    ``probe2tracker = sensor2tracker @ inv(sensor2face)``.

    Raises
    ------
    CalibrationError
        Neither or both given, or a stored matrix that is not a rigid transform.
    """
    measured = notch_end_mm is not None or far_end_mm is not None
    if stored_sensor2face is not None and measured:
        raise CalibrationError("probe face: give a stored sensor2face or touched points, not both")
    if stored_sensor2face is not None:
        return check_rigid(stored_sensor2face, "sensor2face")
    if notch_end_mm is None or far_end_mm is None:
        raise CalibrationError(
            "probe face: expected a stored sensor2face, or both notch_end_mm and far_end_mm"
        )
    return probe_face_from_points(notch_end_mm, far_end_mm, face_points_mm)


def check_rigid(matrix: np.ndarray, name: str, tol: float = 1e-4) -> np.ndarray:
    """Return ``matrix`` as a (4, 4) float64 array if it is a rigid transform, else raise.

    Raises
    ------
    CalibrationError
        Not 4x4, last row not (0, 0, 0, 1), or rotation block not orthonormal with det +1.
    """
    m = np.asarray(matrix, dtype=np.float64)
    if m.shape != (4, 4) or not np.all(np.isfinite(m)):
        raise CalibrationError(f"{name}: expected a finite 4x4 matrix, got shape {m.shape}")
    if not np.allclose(m[3], [0, 0, 0, 1], atol=tol):
        raise CalibrationError(f"{name}: expected the last row (0, 0, 0, 1), got {m[3].tolist()}")
    r = m[:3, :3]
    if not np.allclose(r @ r.T, np.eye(3), atol=tol) or np.linalg.det(r) < 0:
        raise CalibrationError(f"{name}: the rotation block is not a proper rotation")
    return m


def needle_tip2tool(
    tip_in_tool_mm: np.ndarray, axis_in_tool: np.ndarray | None = None
) -> np.ndarray:
    """``tip2tool`` (4, 4): the needle frame (origin at the tip, +z toward the hub) in the tool.

    Parameters
    ----------
    tip_in_tool_mm : ndarray, shape (3,)
        Pivot-calibrated tip in the needle sensor's frame, mm.
    axis_in_tool : ndarray, shape (3,), optional
        Direction from the tip toward the hub in the sensor frame. Default: from the tip
        toward the sensor origin (a sensor mounted on the shaft axis at the hub).
        Then ``needle2tracker = sensor2tracker @ tip2tool``.
    """
    tip = np.asarray(tip_in_tool_mm, dtype=np.float64).reshape(3)
    axis = -tip if axis_in_tool is None else np.asarray(axis_in_tool, dtype=np.float64).reshape(3)
    n = np.linalg.norm(axis)
    if n < 1e-9:
        raise CalibrationError(
            "needle: the tip is at the sensor origin; give axis_in_tool (tip toward hub)"
        )
    z = axis / n
    helper = np.array([1.0, 0.0, 0.0]) if abs(z[0]) < 0.9 else np.array([0.0, 1.0, 0.0])
    x = np.cross(helper, z)
    x /= np.linalg.norm(x)
    y = np.cross(z, x)
    out = np.eye(4)
    out[:3, :3] = np.column_stack([x, y, z])
    out[:3, 3] = tip
    return out
