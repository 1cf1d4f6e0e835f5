"""The 3D anatomy view: scene meshes, probe, live B-mode plane and needle (VTK in Qt).

``AnatomyView`` embeds a VTK render window (``QVTKRenderWindowInteractor``)
in a QWidget. It shows the structures of a ``scenes.Scene`` coloured by
tissue, the probe body at its pose, the live B-mode frame as a textured
plane in the probe's x-z plane, and the needle. World frame, millimetres,
+z is depth (skin at z = 0 in the built-in scenes).

It is built for 30 frames per second on a software OpenGL (Mesa llvmpipe):
the probe, image plane and needle move through user matrices or tiny
sources, the frame texture reuses one RGBA buffer, translucency is plain
alpha blending (no depth peeling, no FXAA, no shadows) and
``request_render`` coalesces the per-frame updates into one render per
event-loop turn. VTK renders only on the GUI thread.

Mouse: left drag rotates, wheel zooms, middle drag pans
(``vtkInteractorStyleTrackballCamera``); Ctrl + left click picks a point on
a structure surface and emits ``skin_clicked(x, y, z)``.
"""

from __future__ import annotations

import math
import time
import weakref
from collections.abc import Callable

import numpy as np
import PySide6.QtCore  # noqa: F401  (selects PySide6 for vtkmodules.qt)
import shiboken6
import vtkmodules.vtkRenderingOpenGL2  # noqa: F401  (registers the OpenGL back end)
from PySide6.QtCore import QTimer, Signal
from PySide6.QtGui import QCloseEvent
from PySide6.QtWidgets import QVBoxLayout, QWidget
from vtkmodules.qt.QVTKRenderWindowInteractor import QVTKRenderWindowInteractor
from vtkmodules.util.numpy_support import numpy_to_vtk, vtk_to_numpy
from vtkmodules.vtkCommonCore import vtkPoints
from vtkmodules.vtkCommonDataModel import vtkCellArray, vtkImageData, vtkPlane, vtkPolyData
from vtkmodules.vtkCommonExecutionModel import vtkAlgorithmOutput
from vtkmodules.vtkCommonMath import vtkMatrix4x4
from vtkmodules.vtkFiltersCore import (
    vtkFlyingEdges3D,
    vtkMassProperties,
    vtkPolyDataNormals,
    vtkTriangleFilter,
    vtkTubeFilter,
)
from vtkmodules.vtkFiltersModeling import vtkLinearExtrusionFilter
from vtkmodules.vtkFiltersSources import (
    vtkLineSource,
    vtkPlaneSource,
    vtkSphereSource,
    vtkSuperquadricSource,
)
from vtkmodules.vtkInteractionStyle import vtkInteractorStyleTrackballCamera
from vtkmodules.vtkRenderingCore import (
    vtkActor,
    vtkCellPicker,
    vtkMapper,
    vtkPolyDataMapper,
    vtkRenderer,
    vtkTexture,
    vtkWindowToImageFilter,
)

from scenes.cache import Scene
from simulator.engine import BModeFrame
from simulator.probe import ProbeModel

#: Camera presets of ``AnatomyView.set_camera_preset``.
CAMERA_PRESETS: tuple[str, ...] = ("probe", "top", "side")

#: Default opacity of skin structures.
SKIN_OPACITY = 0.25
#: Opacity of fat / muscle / fascia layers that span the scene.
LAYER_OPACITY = 0.15
#: Opacity of smaller fat / muscle / fascia structures.
SOFT_OPACITY = 0.45
#: Opacity of target structures (they often enclose a nerve or fluid).
TARGET_OPACITY = 0.55
#: Tissues drawn as see-through layers.
LAYER_TISSUES: frozenset[str] = frozenset({"fat", "muscle", "soft_tissue", "fascia"})
#: A layer tissue whose x-y footprint covers at least this share of the scene is a layer.
LAYER_FOOTPRINT = 0.5
#: Highlight colour of targets (RGB 0-1).
TARGET_COLOUR = (0.25, 1.0, 0.45)
#: Ambient share of a highlighted target and of any other structure.
TARGET_AMBIENT = 0.45
PLAIN_AMBIENT = 0.2
#: Colour of the target point sphere.
TARGET_POINT_COLOUR = (0.55, 1.0, 0.3)
#: Radius of the target point sphere when the target gives none, mm.
TARGET_POINT_RADIUS_MM = 1.2
#: Default limit of ``request_render`` renders per second.
DEFAULT_MAX_FPS = 30.0
#: Depth offset (polygon offset units) per priority rank of coincident structure faces.
COINCIDENT_UNITS_PER_RANK = 4.0
#: Camera view angle, degrees (narrow: little perspective distortion).
VIEW_ANGLE_DEG = 20.0
#: The top and side presets frame the scene box with this margin factor.
FIT_MARGIN = 1.15
#: The probe preset frames this multiple of the image depth.
PROBE_VIEW_ZOOM_OUT = 2.8
#: Probe opacity in the top preset (it would hide the anatomy under it).
TOP_VIEW_PROBE_OPACITY = 0.3
#: Probe housing colour and notch marker colour.
PROBE_COLOUR = (0.18, 0.20, 0.24)
NOTCH_COLOUR = (1.0, 0.67, 0.0)
#: Probe body: elevation thickness, height above the face, margin beyond the aperture, mm.
PROBE_THICKNESS_MM = 10.0
PROBE_HEIGHT_MM = 70.0
PROBE_MARGIN_MM = 4.0
#: Needle outer diameter per gauge, mm; the drawn diameter is at least NEEDLE_MIN_DIAMETER_MM.
NEEDLE_OD_MM: dict[int, float] = {
    18: 1.27,
    19: 1.07,
    20: 0.91,
    21: 0.82,
    22: 0.72,
    23: 0.64,
    24: 0.57,
    25: 0.51,
    26: 0.46,
    27: 0.41,
    28: 0.36,
    29: 0.34,
    30: 0.31,
}
NEEDLE_MIN_DIAMETER_MM = 1.0
NEEDLE_COLOUR = (0.78, 0.80, 0.85)
NEEDLE_TIP_COLOUR = (1.0, 1.0, 1.0)
#: Injected fluid: a translucent light blue.
INJECTATE_COLOUR = (0.35, 0.75, 1.0)
INJECTATE_OPACITY = 0.6
#: Background gradient: bottom and top colours.
BACKGROUND_BOTTOM = (0.08, 0.10, 0.13)
BACKGROUND_TOP = (0.26, 0.31, 0.38)


def needle_diameter_mm(gauge: int) -> float:
    """Drawn needle diameter for a Birmingham ``gauge``, mm (at least 1 mm for visibility)."""
    od = NEEDLE_OD_MM.get(int(gauge))
    if od is None:
        raise ValueError(f"needle gauge {gauge}: expected one of {min(NEEDLE_OD_MM)}..30")
    return max(od, NEEDLE_MIN_DIAMETER_MM)


def _set_matrix(m: vtkMatrix4x4, a2b: np.ndarray) -> None:
    a = np.asarray(a2b, dtype=np.float64)
    if a.shape != (4, 4):
        raise ValueError(f"expected a (4, 4) transform, got shape {a.shape}")
    m.DeepCopy(a.ravel())


def _with_normals(poly: vtkPolyData, feature_deg: float = 50.0) -> vtkPolyData:
    """Copy of ``poly`` with point normals (sharp edges split)."""
    normals = vtkPolyDataNormals()
    normals.SetInputData(poly)
    normals.SetFeatureAngle(feature_deg)
    normals.SplittingOn()
    normals.ConsistencyOn()
    normals.AutoOrientNormalsOff()
    normals.Update()
    out = vtkPolyData()
    out.ShallowCopy(normals.GetOutput())
    return out


def _actor(
    poly_or_port: vtkPolyData | vtkAlgorithmOutput,
    colour: tuple[float, float, float],
    cull: bool = True,
) -> vtkActor:
    """An actor of a closed surface (back faces culled: half the fill on llvmpipe)."""
    mapper = vtkPolyDataMapper()
    if isinstance(poly_or_port, vtkPolyData):
        mapper.SetInputData(poly_or_port)
    else:
        mapper.SetInputConnection(poly_or_port)
    mapper.ScalarVisibilityOff()
    actor = vtkActor()
    actor.SetMapper(mapper)
    prop = actor.GetProperty()
    prop.SetColor(*colour)
    prop.SetAmbient(PLAIN_AMBIENT)
    prop.SetDiffuse(0.7)
    prop.SetSpecular(0.15)
    prop.SetSpecularPower(20.0)
    prop.SetBackfaceCulling(cull)
    return actor


def probe_body_polydata(probe: ProbeModel) -> vtkPolyData:
    """Probe housing in the probe frame (face at z = 0, handle towards -z), mm.

    A linear probe is a rounded box as wide as the aperture (plus a margin),
    ``PROBE_THICKNESS_MM`` thick in elevation and ``PROBE_HEIGHT_MM`` tall; a
    curvilinear probe is an extruded outline with the face on its arc.

    Returns
    -------
    vtkPolyData
        Triangles with point normals.
    """
    width = probe.footprint_mm + 2.0 * PROBE_MARGIN_MM
    if probe.kind == "curvilinear" and probe.radius_mm > 0.0:
        r = probe.radius_mm
        half = 0.5 * probe.fov_rad
        # face arc (centre of curvature at z = -r), then the shoulders and the handle top
        thetas = np.linspace(half, -half, 25)
        outline = [(r * math.sin(t), -r + r * math.cos(t)) for t in thetas]
        x_side = r * math.sin(half) + PROBE_MARGIN_MM
        z_shoulder = -r + r * math.cos(half) - 0.35 * PROBE_HEIGHT_MM
        grip = 0.35 * width
        outline += [
            (-x_side, outline[-1][1]),
            (-x_side, z_shoulder),
            (-grip, z_shoulder - 10.0),
            (-grip, -PROBE_HEIGHT_MM),
            (grip, -PROBE_HEIGHT_MM),
            (grip, z_shoulder - 10.0),
            (x_side, z_shoulder),
            (x_side, outline[0][1]),
        ]
        pts = vtkPoints()
        for x, z in outline:
            pts.InsertNextPoint(x, -0.5 * PROBE_THICKNESS_MM, z)
        poly_cells = vtkCellArray()
        poly_cells.InsertNextCell(len(outline))
        for i in range(len(outline)):
            poly_cells.InsertCellPoint(i)
        profile = vtkPolyData()
        profile.SetPoints(pts)
        profile.SetPolys(poly_cells)
        extrude = vtkLinearExtrusionFilter()
        extrude.SetInputData(profile)
        extrude.SetExtrusionTypeToVectorExtrusion()
        extrude.SetVector(0.0, PROBE_THICKNESS_MM, 0.0)
        extrude.CappingOn()
        tri = vtkTriangleFilter()
        tri.SetInputConnection(extrude.GetOutputPort())
        tri.Update()
        return _with_normals(tri.GetOutput(), 40.0)
    # linear: a rounded box (superquadric) spanning z in [-height, 0]
    sq = vtkSuperquadricSource()
    sq.ToroidalOff()
    sq.SetThetaResolution(24)
    sq.SetPhiResolution(24)
    sq.SetThetaRoundness(0.15)
    sq.SetPhiRoundness(0.15)
    sq.SetSize(1.0)
    sq.SetScale(width, PROBE_THICKNESS_MM, PROBE_HEIGHT_MM)
    sq.SetCenter(0.0, 0.0, 0.0)
    sq.Update()
    # the source's axis is y; rebuild points scaled to the box and shifted to z in [-h, 0]
    poly = vtkPolyData()
    poly.DeepCopy(sq.GetOutput())
    p = vtk_to_numpy(poly.GetPoints().GetData()).astype(np.float64)
    lo, hi = p.min(axis=0), p.max(axis=0)
    unit = (p - 0.5 * (lo + hi)) / np.where(hi - lo > 0, hi - lo, 1.0)
    dims = np.array([width, PROBE_THICKNESS_MM, PROBE_HEIGHT_MM])
    q = unit * dims
    q[:, 2] -= 0.5 * PROBE_HEIGHT_MM
    poly.GetPoints().SetData(numpy_to_vtk(np.ascontiguousarray(q), deep=1))
    poly.GetPointData().SetNormals(None)
    return _with_normals(poly, 60.0)


def _is_layer(poly: vtkPolyData, scene: Scene) -> bool:
    """Whether a mesh's x-y footprint covers ``LAYER_FOOTPRINT`` of the scene's."""
    b = poly.GetBounds()
    lo = np.asarray(scene.spec.bounds_min_mm)
    hi = np.asarray(scene.spec.bounds_max_mm)
    area_scene = max((hi[0] - lo[0]) * (hi[1] - lo[1]), 1e-9)
    wx = max(0.0, min(b[1], hi[0]) - max(b[0], lo[0]))
    wy = max(0.0, min(b[3], hi[1]) - max(b[2], lo[1]))
    return wx * wy / area_scene >= LAYER_FOOTPRINT


class _PickingStyle(vtkInteractorStyleTrackballCamera):
    """Trackball camera; Ctrl + left click calls ``on_pick(x, y)`` instead of rotating."""

    def __init__(self, on_pick: Callable[[float, float], object]) -> None:
        super().__init__()
        # a weak reference: the style must not keep the view (and its X window) alive
        self._on_pick: weakref.WeakMethod | None = weakref.WeakMethod(on_pick)  # type: ignore[arg-type]
        self.AddObserver("LeftButtonPressEvent", self._left_down)

    def _left_down(self, _obj: object, _event: str) -> None:
        rwi = self.GetInteractor()
        on_pick = self._on_pick() if self._on_pick is not None else None
        if on_pick is not None and rwi is not None and rwi.GetControlKey():
            x, y = rwi.GetEventPosition()
            on_pick(float(x), float(y))
            return
        self.OnLeftButtonDown()

    def release(self) -> None:
        """Drop the pick callback and the observer (breaks reference cycles)."""
        self._on_pick = None
        self.RemoveAllObservers()


class AnatomyView(QWidget):
    """3D view of the scene anatomy, the probe, the live image plane and the needle.

    Signals
    -------
    skin_clicked(float, float, float)
        World x, y, z (mm) of a Ctrl + left click picked on a structure surface.

    Parameters
    ----------
    parent : QWidget, optional
    """

    skin_clicked = Signal(float, float, float)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        self.vtk_widget = QVTKRenderWindowInteractor(self)
        layout.addWidget(self.vtk_widget)
        self.render_window = self.vtk_widget.GetRenderWindow()
        self.render_window.SetMultiSamples(0)
        # needed for the per-structure polygon offsets (a process-wide VTK setting)
        vtkMapper.SetResolveCoincidentTopologyToPolygonOffset()
        self.renderer = vtkRenderer()
        self.renderer.GradientBackgroundOn()
        self.renderer.SetBackground(*BACKGROUND_BOTTOM)
        self.renderer.SetBackground2(*BACKGROUND_TOP)
        self.renderer.SetUseDepthPeeling(False)
        self.renderer.SetUseFXAA(False)
        self.renderer.SetUseShadows(False)
        self.renderer.SetUseOIT(False)  # plain alpha blending: OIT costs ~10 ms on llvmpipe
        # one headlight: every further light costs per fragment (a four-light kit doubled
        # the top view's render time on llvmpipe); materials are toned down instead
        self.render_window.AddRenderer(self.renderer)
        self.interactor = self.render_window.GetInteractor()
        self._style = _PickingStyle(self.pick_display)
        self.interactor.SetInteractorStyle(self._style)
        self.picker = vtkCellPicker()
        self.picker.SetTolerance(0.0005)
        self.picker.PickFromListOn()
        self.vtk_widget.Initialize()

        self.scene: Scene | None = None
        self.structure_actors: dict[str, vtkActor] = {}
        self.skin_actors: list[vtkActor] = []
        self.target_actor: vtkActor | None = None
        self.target_names: frozenset[str] = frozenset()
        self._skin_opacity = SKIN_OPACITY
        self._last_render_ms = 0.0
        self._render_pending = False
        self._finalized = False
        self._max_fps = DEFAULT_MAX_FPS
        self._last_render_start_s = -1e9

        # probe: body + notch share one user matrix
        self._probe2world = np.eye(4)
        self._probe_matrix = vtkMatrix4x4()
        self._probe_model: ProbeModel | None = None
        self.probe_actor: vtkActor | None = None
        self.notch_actor: vtkActor | None = None
        # section cut: structures on the probe's +y side of the image plane are clipped away
        self._cut_plane = vtkPlane()
        self._section_cut = False

        # image plane
        self._plane_source = vtkPlaneSource()
        self._plane_matrix = vtkMatrix4x4()
        self._image = vtkImageData()
        self._rgba: np.ndarray | None = None
        self._grey: np.ndarray | None = None
        self._pending_frame: BModeFrame | None = None
        self._geometry_key: tuple | None = None
        self._frame_depth_mm = 40.0
        self._texture = vtkTexture()
        self._texture.SetInputData(self._image)
        self._texture.InterpolateOn()
        self._texture.SetColorModeToDirectScalars()
        self.image_actor = _actor(self._plane_source.GetOutputPort(), (1.0, 1.0, 1.0), cull=False)
        self.image_actor.SetTexture(self._texture)
        self.image_actor.SetUserMatrix(self._plane_matrix)
        self.image_actor.ForceOpaqueOn()  # alpha-0 texels are discarded: only the sector draws
        ip = self.image_actor.GetProperty()
        ip.SetAmbient(1.0)
        ip.SetDiffuse(0.0)
        ip.SetSpecular(0.0)
        ip.LightingOff()
        self.image_actor.SetVisibility(False)
        self.image_actor.PickableOff()
        self._image_visible = True
        self.renderer.AddActor(self.image_actor)

        # needle: tube hub..tip and a brighter tip sphere
        self._needle_line = vtkLineSource()
        self._needle_tube = vtkTubeFilter()
        self._needle_tube.SetInputConnection(self._needle_line.GetOutputPort())
        self._needle_tube.SetNumberOfSides(12)
        self._needle_tube.CappingOn()
        self.needle_actor = _actor(self._needle_tube.GetOutputPort(), NEEDLE_COLOUR)
        npr = self.needle_actor.GetProperty()
        npr.SetSpecular(0.7)
        npr.SetSpecularPower(40.0)
        npr.SetAmbient(0.25)
        self._needle_tip = vtkSphereSource()
        self._needle_tip.SetThetaResolution(12)
        self._needle_tip.SetPhiResolution(8)
        self.needle_tip_actor = _actor(self._needle_tip.GetOutputPort(), NEEDLE_TIP_COLOUR)
        self.needle_tip_actor.GetProperty().SetAmbient(0.6)
        for a in (self.needle_actor, self.needle_tip_actor):
            a.SetVisibility(False)
            a.PickableOff()
            self.renderer.AddActor(a)

        # injectate: an iso-surface of the fluid collection's voxel mask
        self._fluid_image = vtkImageData()
        self._fluid_surface = vtkFlyingEdges3D()
        self._fluid_surface.SetInputData(self._fluid_image)
        self._fluid_surface.SetValue(0, 0.5)
        self._fluid_surface.ComputeNormalsOn()
        self.injectate_actor = _actor(self._fluid_surface.GetOutputPort(), INJECTATE_COLOUR)
        ipr = self.injectate_actor.GetProperty()
        ipr.SetOpacity(INJECTATE_OPACITY)
        ipr.SetAmbient(0.35)
        ipr.SetSpecular(0.3)
        self.injectate_actor.SetVisibility(False)
        self.injectate_actor.PickableOff()
        self.renderer.AddActor(self.injectate_actor)

        self.resize(800, 600)

    # ------------------------------------------------------------------ scene
    def set_scene(self, scene: Scene) -> None:
        """Show ``scene``: one actor per structure, targets highlighted; camera reset.

        Parameters
        ----------
        scene : scenes.Scene
            Its ``meshes`` (name -> vtkPolyData, world mm) are drawn with the
            colours of ``scene.spec.structures``.
        """
        for actor in self.structure_actors.values():
            self.renderer.RemoveActor(actor)
        if self.target_actor is not None:
            self.renderer.RemoveActor(self.target_actor)
            self.target_actor = None
        self.picker.InitializePickList()
        self.structure_actors = {}
        self.skin_actors = []
        self.scene = scene
        spec = scene.spec
        procedure = spec.procedure
        target_names = {s.name for s in spec.structures if s.role == "target"}
        if procedure is not None and procedure.target.structure:
            target_names.add(procedure.target.structure)
        self.target_names = frozenset(target_names)
        meshes = scene.meshes
        # coincident faces (shared layer boundaries, end caps) resolve to the structure of
        # higher priority, as in the acoustic volume
        rank = {p: i for i, p in enumerate(sorted({s.priority for s in spec.structures}))}
        for s in spec.structures:
            poly = _with_normals(meshes[s.name])
            actor = _actor(poly, s.colour)
            actor.GetMapper().SetRelativeCoincidentTopologyPolygonOffsetParameters(
                0.0, -COINCIDENT_UNITS_PER_RANK * rank[s.priority]
            )
            prop = actor.GetProperty()
            if s.name in target_names:
                prop.SetOpacity(TARGET_OPACITY)  # coloured by set_target_highlight
            elif s.tissue == "skin":
                prop.SetOpacity(self._skin_opacity)
                prop.SetSpecular(0.05)
                self.skin_actors.append(actor)
            elif s.tissue in LAYER_TISSUES:
                prop.SetOpacity(LAYER_OPACITY if _is_layer(poly, scene) else SOFT_OPACITY)
                prop.SetSpecular(0.05)
            elif s.tissue == "bone":
                prop.SetDiffuse(0.62)
                prop.SetSpecular(0.2)
                prop.SetSpecularPower(30.0)
            self._apply_cut(actor)
            self.renderer.AddActor(actor)
            self.picker.AddPickList(actor)
            self.structure_actors[s.name] = actor
        if procedure is not None:
            t = procedure.target
            sphere = vtkSphereSource()
            sphere.SetCenter(*t.point_mm)
            sphere.SetRadius(t.radius_mm if t.radius_mm else TARGET_POINT_RADIUS_MM)
            sphere.SetThetaResolution(20)
            sphere.SetPhiResolution(14)
            self.target_actor = _actor(sphere.GetOutputPort(), TARGET_POINT_COLOUR)
            self.target_actor.GetProperty().SetAmbient(0.6)
            self.target_actor.PickableOff()
            self._apply_cut(self.target_actor)
            self.renderer.AddActor(self.target_actor)
        self.set_target_highlight(True)
        self.set_camera_preset("top")

    def set_target_highlight(self, on: bool) -> None:
        """Highlight the target (green, aim point shown) or draw it as any structure.

        Exam mode turns the highlight off: the target keeps its own colour and
        the aim point is hidden.
        """
        if self.scene is None:
            return
        colours = {s.name: s.colour for s in self.scene.spec.structures}
        for name in self.target_names:
            actor = self.structure_actors.get(name)
            if actor is None:
                continue
            colour = TARGET_COLOUR if on else colours[name]
            prop = actor.GetProperty()
            prop.SetColor(*colour)
            prop.SetAmbientColor(*colour)
            prop.SetAmbient(TARGET_AMBIENT if on else PLAIN_AMBIENT)
        if self.target_actor is not None:
            self.target_actor.SetVisibility(on)
        self.request_render()

    @property
    def target_highlighted(self) -> bool:
        """Whether the target is highlighted (its aim point shown)."""
        return self.target_actor is not None and bool(self.target_actor.GetVisibility())

    @property
    def scene_bounds(self) -> tuple[float, float, float, float, float, float]:
        """``(xmin, xmax, ymin, ymax, zmin, zmax)`` of the scene box, mm (a default without one)."""
        if self.scene is None:
            return (-40.0, 40.0, -40.0, 40.0, 0.0, 60.0)
        lo, hi = self.scene.spec.bounds_min_mm, self.scene.spec.bounds_max_mm
        return (lo[0], hi[0], lo[1], hi[1], lo[2], hi[2])

    # ------------------------------------------------------------------ skin
    @property
    def skin_opacity(self) -> float:
        """Opacity of the skin structures, 0-1."""
        return self._skin_opacity

    def n_structure_actors(self) -> int:
        """Number of structure actors in the view (one per scene structure)."""
        return len(self.structure_actors)

    def probe_matrix(self) -> np.ndarray:
        """``probe2world`` the probe body is drawn at, shape (4, 4)."""
        m = self._probe_matrix
        return np.array([[m.GetElement(i, j) for j in range(4)] for i in range(4)])

    def set_skin_opacity(self, opacity: float) -> None:
        """Set the opacity of the skin actors (``opacity`` in [0, 1])."""
        if not 0.0 <= opacity <= 1.0:
            raise ValueError(f"skin opacity {opacity}: expected a value in [0, 1]")
        self._skin_opacity = float(opacity)
        for actor in self.skin_actors:
            actor.GetProperty().SetOpacity(self._skin_opacity)
            actor.SetVisibility(self._skin_opacity > 0.0)

    # ------------------------------------------------------------------ probe
    def set_probe(self, probe2world: np.ndarray, probe: ProbeModel) -> None:
        """Place the probe body at ``probe2world`` (shape (4, 4), mm).

        The body geometry is built once per probe model; poses only change
        the actors' user matrix.
        """
        if self._probe_model != probe:
            for a in (self.probe_actor, self.notch_actor):
                if a is not None:
                    self.renderer.RemoveActor(a)
            self._probe_model = probe
            self.probe_actor = _actor(probe_body_polydata(probe), PROBE_COLOUR)
            pp = self.probe_actor.GetProperty()
            pp.SetSpecular(0.5)
            pp.SetSpecularPower(30.0)
            pp.SetAmbient(0.2)
            notch = vtkSphereSource()
            if probe.kind == "curvilinear":
                x_side = probe.radius_mm * math.sin(0.5 * probe.fov_rad) + PROBE_MARGIN_MM
            else:
                x_side = 0.5 * probe.footprint_mm + PROBE_MARGIN_MM
            notch.SetCenter(x_side, 0.0, -0.2 * PROBE_HEIGHT_MM)
            notch.SetRadius(2.2)
            notch.SetThetaResolution(12)
            notch.SetPhiResolution(8)
            self.notch_actor = _actor(notch.GetOutputPort(), NOTCH_COLOUR)
            self.notch_actor.GetProperty().SetAmbient(0.5)
            for a in (self.probe_actor, self.notch_actor):
                a.SetUserMatrix(self._probe_matrix)
                a.PickableOff()
                self.renderer.AddActor(a)
        self._probe2world = np.array(probe2world, dtype=np.float64)
        self._update_cut_plane()
        _set_matrix(self._probe_matrix, self._probe2world)
        self._probe_matrix.Modified()
        for a in (self.probe_actor, self.notch_actor):
            a.Modified()

    def _update_cut_plane(self) -> None:
        p2w = self._probe2world
        self._cut_plane.SetOrigin(*p2w[:3, 3])
        self._cut_plane.SetNormal(*(-p2w[:3, 1]))  # keep the probe-frame y <= 0 half

    @property
    def section_cut(self) -> bool:
        """Whether the anatomy on the probe's +y side of the image plane is cut away."""
        return self._section_cut

    def set_section_cut(self, enabled: bool) -> None:
        """Cut away (or restore) the structures on the probe's +y side of the image plane.

        The cut follows the probe; it opens the anatomy so that the image
        plane is seen with the structures it slices (the ``"probe"`` preset
        turns it on, the others off).
        """
        enabled = bool(enabled)
        if enabled == self._section_cut:
            return
        self._section_cut = enabled
        actors = list(self.structure_actors.values())
        if self.target_actor is not None:
            actors.append(self.target_actor)
        for actor in actors:
            self._apply_cut(actor)

    def _apply_cut(self, actor: vtkActor) -> None:
        """Clip ``actor`` at the image plane or not, as ``section_cut`` says."""
        mapper = actor.GetMapper()
        mapper.RemoveAllClippingPlanes()
        prop = actor.GetProperty()
        if self._section_cut:
            mapper.AddClippingPlane(self._cut_plane)
        # a cut opaque surface shows its inside (back faces) through the opening
        prop.SetBackfaceCulling(not (self._section_cut and prop.GetOpacity() >= 1.0))

    # ------------------------------------------------------------------ image
    def set_frame(self, frame: BModeFrame) -> None:
        """Show ``frame.image`` as a textured plane in the probe's x-z plane.

        Pixels inside ``frame.inside`` are opaque grey, the others fully
        transparent. The RGBA buffer and plane are reused while the image
        geometry is unchanged; the pose goes into the actor's user matrix.
        The texture is filled when the view next renders (or ``frame_rgba``
        is read), so frames that arrive between two renders cost nothing.
        """
        self._pending_frame = frame
        self.image_actor.SetVisibility(self._image_visible)

    def _upload_frame(self) -> None:
        """Fill the texture from the frame given last to ``set_frame`` (if not yet done)."""
        frame, self._pending_frame = self._pending_frame, None
        if frame is None:
            return
        g = frame.geometry
        key = (g.rows, g.cols, g.pixel_mm, g.x0_mm, g.z0_mm)
        if key != self._geometry_key:
            self._geometry_key = key
            half = 0.5 * g.pixel_mm
            x_lo, z_lo = g.x0_mm - half, g.z0_mm - half
            x_hi, z_hi = x_lo + g.cols * g.pixel_mm, z_lo + g.rows * g.pixel_mm
            self._plane_source.SetOrigin(x_lo, 0.0, z_lo)
            self._plane_source.SetPoint1(x_hi, 0.0, z_lo)  # texture s: image columns (x)
            self._plane_source.SetPoint2(x_lo, 0.0, z_hi)  # texture t: image rows (depth)
            self._plane_source.Modified()
            self._frame_depth_mm = z_hi
            self._rgba = np.zeros((g.rows, g.cols, 4), dtype=np.uint8)
            self._grey = np.empty((g.rows, g.cols), dtype=np.float32)
            self._image.SetDimensions(g.cols, g.rows, 1)
            arr = numpy_to_vtk(self._rgba.reshape(-1, 4), deep=0)
            arr.SetName("rgba")
            self._image.GetPointData().SetScalars(arr)
        rgba, grey = self._rgba, self._grey
        assert rgba is not None and grey is not None
        # float32 scratch buffer: no temporaries, half the memory traffic of float64
        np.clip(frame.image, 0.0, 1.0, out=grey, casting="same_kind")
        grey *= 255.0
        np.copyto(rgba[..., 0], grey, casting="unsafe")
        rgba[..., 1] = rgba[..., 0]
        rgba[..., 2] = rgba[..., 0]
        np.multiply(frame.inside, 255, out=rgba[..., 3], casting="unsafe")
        self._image.GetPointData().GetScalars().Modified()
        self._image.Modified()
        _set_matrix(self._plane_matrix, frame.probe2world)
        self._plane_matrix.Modified()
        self.image_actor.Modified()

    @property
    def frame_rgba(self) -> np.ndarray | None:
        """The texture buffer, shape (rows, cols, 4) uint8, or None before the first frame."""
        self._upload_frame()
        return self._rgba

    def set_image_plane_visible(self, visible: bool) -> None:
        """Show or hide the B-mode image plane."""
        self._image_visible = bool(visible)
        has_frame = self._rgba is not None or self._pending_frame is not None
        self.image_actor.SetVisibility(self._image_visible and has_frame)

    # ------------------------------------------------------------------ needle
    def set_needle(
        self, hub_mm: np.ndarray | None, tip_mm: np.ndarray | None, gauge: int = 22
    ) -> None:
        """Draw the needle from ``hub_mm`` to ``tip_mm`` (shape (3,), world mm); None hides it.

        The shaft diameter is the gauge's outer diameter, at least
        ``NEEDLE_MIN_DIAMETER_MM`` so it stays visible.
        """
        if hub_mm is None or tip_mm is None:
            self.needle_actor.SetVisibility(False)
            self.needle_tip_actor.SetVisibility(False)
            return
        hub = np.asarray(hub_mm, dtype=np.float64).reshape(3)
        tip = np.asarray(tip_mm, dtype=np.float64).reshape(3)
        radius = 0.5 * needle_diameter_mm(gauge)
        self._needle_line.SetPoint1(*hub)
        self._needle_line.SetPoint2(*tip)
        self._needle_tube.SetRadius(radius)
        self._needle_tip.SetCenter(*tip)
        self._needle_tip.SetRadius(radius * 1.25)
        self.needle_actor.SetVisibility(True)
        self.needle_tip_actor.SetVisibility(True)

    def set_injectate(self, box: tuple[np.ndarray, np.ndarray, float] | None) -> None:
        """Draw the injected fluid as a translucent surface; None hides it.

        Parameters
        ----------
        box : tuple (mask, origin_mm, spacing_mm) or None
            ``mask``: ndarray, shape (a, b, c), uint8, 1 inside the fluid, indexed
            ``[ix, iy, iz]``; ``origin_mm``: shape (3,), world centre of voxel
            ``[0, 0, 0]``; ``spacing_mm``: voxel size (as
            ``simulator.injection.Injection.fluid_box``).
        """
        if box is None or not np.any(box[0]):
            self.injectate_actor.SetVisibility(False)
            return
        mask, origin, spacing = box
        # one empty voxel around it so the surface is closed
        padded = np.pad(np.asarray(mask, dtype=np.uint8), 1)
        img = self._fluid_image
        img.SetDimensions(*padded.shape)
        img.SetSpacing(spacing, spacing, spacing)
        img.SetOrigin(*(np.asarray(origin, dtype=np.float64) - spacing))
        # VTK images are x-fastest: a C-ordered [ix, iy, iz] array ravels in Fortran order
        scalars = numpy_to_vtk(padded.ravel(order="F"), deep=True)
        img.GetPointData().SetScalars(scalars)
        img.Modified()
        self.injectate_actor.SetVisibility(True)

    def injectate_surface_area_mm2(self) -> float:
        """Area of the injectate surface drawn, mm^2 (0 when hidden)."""
        if not self.injectate_actor.GetVisibility():
            return 0.0
        self._fluid_surface.Update()
        mass = vtkMassProperties()
        tri = vtkTriangleFilter()
        tri.SetInputConnection(self._fluid_surface.GetOutputPort())
        mass.SetInputConnection(tri.GetOutputPort())
        mass.Update()
        return float(mass.GetSurfaceArea())

    def needle_tip_mm(self) -> np.ndarray | None:
        """Tip of the needle drawn, world mm, shape (3,); None when hidden."""
        if not self.needle_actor.GetVisibility():
            return None
        return np.asarray(self._needle_line.GetPoint2(), dtype=np.float64)

    # ------------------------------------------------------------------ camera
    def set_camera_preset(self, name: str) -> None:
        """Move the camera to a preset of ``CAMERA_PRESETS``.

        ``"probe"``: perpendicular to the image plane from the probe's +y
        side, slightly above, looking at the image centre, depth downward and
        the notch (+x) to the right as in the B-mode view; the anatomy
        between the camera and the image plane is cut away
        (``set_section_cut``).
        ``"top"``: looking down +z from above the skin, x to the right.
        ``"side"``: looking along -y, x to the right, depth (+z) downward.
        """
        if name not in CAMERA_PRESETS:
            raise ValueError(
                f"unknown camera preset {name!r}; expected one of {', '.join(CAMERA_PRESETS)}"
            )
        self._upload_frame()  # the probe preset frames the image depth
        self.set_section_cut(name == "probe")
        if self.probe_actor is not None:
            # seen from above the probe would hide the anatomy under it: make it see-through
            self.probe_actor.GetProperty().SetOpacity(
                TOP_VIEW_PROBE_OPACITY if name == "top" else 1.0
            )
        cam = self.renderer.GetActiveCamera()
        cam.SetViewAngle(VIEW_ANGLE_DEG)
        tan_half = math.tan(math.radians(0.5 * VIEW_ANGLE_DEG))
        w, h = self.render_window.GetSize()
        aspect = w / h if w > 0 and h > 0 else 4.0 / 3.0
        b = self.scene_bounds
        lo, hi = np.array(b[0::2]), np.array(b[1::2])
        centre, span = 0.5 * (lo + hi), hi - lo
        if name in ("top", "side"):
            # fit the scene box (its right-left and up-down spans) with a margin
            if name == "top":
                across, up_span, along = span[0], span[1], np.array([0.0, 0.0, 1.0])
                view_up = (0.0, -1.0, 0.0)  # looking down +z: x to the right
            else:
                across, up_span, along = span[0], span[2], np.array([0.0, -1.0, 0.0])
                view_up = (0.0, 0.0, -1.0)  # looking along -y: x right, depth down
            half = 0.5 * FIT_MARGIN * max(across / aspect, up_span)
            dist = half / tan_half + 0.5 * float(np.abs(along) @ span)
            if name == "top":  # stay above the probe handle
                dist = max(dist, centre[2] + PROBE_HEIGHT_MM + 40.0)
            cam.SetFocalPoint(*centre)
            cam.SetPosition(*(centre - dist * along))
            cam.SetViewUp(*view_up)
        else:
            p2w = self._probe2world
            rot = p2w[:3, :3]
            depth = self._frame_depth_mm
            focal = p2w[:3, 3] + rot @ np.array([0.0, 0.0, 0.5 * depth])
            extent = max(depth, 30.0) * PROBE_VIEW_ZOOM_OUT
            dist = 0.5 * extent / tan_half
            # from the probe's +y side, a little above the skin, looking at the image centre:
            # +x (the notch) is then to the right, as in the 2D B-mode view
            direction = rot @ np.array([0.0, -1.0, 0.25])
            direction /= np.linalg.norm(direction)
            cam.SetFocalPoint(*focal)
            cam.SetPosition(*(focal - dist * direction))
            cam.SetViewUp(*(rot @ np.array([0.0, 0.0, -1.0])))
            cam.OrthogonalizeViewUp()
        self.renderer.ResetCameraClippingRange()

    # ------------------------------------------------------------------ picking
    def pick_display(self, x: float, y: float) -> np.ndarray | None:
        """Pick a structure surface at display pixel ``(x, y)`` (VTK: origin bottom left).

        Emits ``skin_clicked`` with the world point when something is hit.

        Returns
        -------
        ndarray, shape (3,), float64, or None
            World point, mm; None when no structure is under the pixel.
        """
        if not self.picker.Pick(x, y, 0.0, self.renderer):
            return None
        if self.picker.GetCellId() < 0:
            return None
        point = np.array(self.picker.GetPickPosition(), dtype=np.float64)
        self.skin_clicked.emit(float(point[0]), float(point[1]), float(point[2]))
        return point

    def world_to_display(self, point_mm: np.ndarray) -> tuple[float, float]:
        """Display coordinates (VTK, origin bottom left) of a world point, pixels."""
        self.renderer.SetWorldPoint(*np.asarray(point_mm, dtype=np.float64), 1.0)
        self.renderer.WorldToDisplay()
        x, y, _ = self.renderer.GetDisplayPoint()
        return float(x), float(y)

    # ------------------------------------------------------------------ rendering
    def render(self) -> None:  # type: ignore[override]
        """Render now (GUI thread only); the time goes to ``last_render_ms``."""
        self._render_pending = False
        if self._finalized:
            return
        t0 = time.perf_counter()
        self._last_render_start_s = t0
        self._upload_frame()
        self.renderer.ResetCameraClippingRange()
        self.render_window.Render()
        self._last_render_ms = (time.perf_counter() - t0) * 1e3

    def request_render(self) -> None:
        """Render once at the next event-loop turn, however often this is called before.

        Renders are also spaced by at least ``1 / max_fps`` seconds, so that a
        slow software renderer cannot starve the rest of the window.
        """
        if not self._render_pending:
            self._render_pending = True
            wait_s = self._last_render_start_s + 1.0 / self._max_fps - time.perf_counter()
            QTimer.singleShot(max(0, math.ceil(wait_s * 1e3)), self._render_if_pending)

    @property
    def max_fps(self) -> float:
        """Highest rate of ``request_render`` renders, frames per second."""
        return self._max_fps

    def set_max_fps(self, fps: float) -> None:
        """Limit ``request_render`` to ``fps`` renders per second (> 0)."""
        if not fps > 0.0:
            raise ValueError(f"max_fps {fps}: expected a positive rate")
        self._max_fps = float(fps)

    def _render_if_pending(self) -> None:
        if self._render_pending:
            self.render()

    @property
    def last_render_ms(self) -> float:
        """Duration of the last ``render()``, ms."""
        return self._last_render_ms

    def grab_rgb(self) -> np.ndarray:
        """The rendered picture, shape (height, width, 3) uint8, top row first."""
        if self._finalized:
            raise RuntimeError("AnatomyView.grab_rgb: the view has been closed")
        self.render()
        grab = vtkWindowToImageFilter()
        grab.SetInput(self.render_window)
        grab.SetInputBufferTypeToRGB()
        grab.ReadFrontBufferOff()
        grab.ShouldRerenderOff()
        grab.Update()
        img = grab.GetOutput()
        w, h, _ = img.GetDimensions()
        rgb = vtk_to_numpy(img.GetPointData().GetScalars()).reshape(h, w, -1)[..., :3]
        return np.ascontiguousarray(rgb[::-1])

    # ------------------------------------------------------------------ teardown
    def finalize(self) -> None:
        """Release the render window and destroy the VTK child widget (idempotent).

        Call it before the X server goes (a parent window's ``closeEvent``
        should call it: children get no close event). The view stays a
        blank widget afterwards; nothing renders any more.
        """
        if not self._finalized:
            self._finalized = True
            self._render_pending = False
            self._style.release()
            self.interactor.EnableRenderOff()
            self.vtk_widget.Finalize()
            # QVTKRenderWindowInteractor's observers are bound methods of the widget: a
            # reference cycle through C++ that Python cannot collect.
            self.interactor.RemoveAllObservers()
            # Destroy the native child window now, while the X server is surely there: a
            # native window left to the interpreter's exit breaks the X connection (and
            # crashes) when the server has gone first, as under pytest-xvfb.
            self.layout().removeWidget(self.vtk_widget)
            shiboken6.delete(self.vtk_widget)

    def closeEvent(self, event: QCloseEvent) -> None:  # noqa: N802 (Qt name)
        """Finalize the render window, then close."""
        self.finalize()
        super().closeEvent(event)
