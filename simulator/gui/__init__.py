"""PySide6 widgets of the simulator: thin views that show models and send intents.

Modules
-------
run
    ``run_app``, the desktop entry point.
main_window
    The practice / demonstration window: ultrasound screen, docks, toolbar.
presentation
    The projector window of demonstration mode.
image_view
    The ultrasound screen: image, depth scale, markers, readout, calipers,
    labels overlay, freeze badge.
anatomy_view
    The VTK 3D view: anatomy, probe, image plane in place, needle.
controls, needle_panel, procedure_panel
    Side panels: imaging (presets, probe, TGC), probe pose, needle, the
    scene picker and teaching text.
keymap, help_overlay
    The shortcut table and the help drawn from it.
render_worker, scene_loader
    Frames and scenes computed off the GUI thread (latest request wins).
settings_store
    What is remembered between runs (QSettings).
theme
    Dark, projector-legible palette and fonts.

Only this package (and the 3D view) may import Qt; the core never does.
"""
