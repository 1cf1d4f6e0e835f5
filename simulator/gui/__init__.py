"""PySide6 widgets of the simulator: thin views that show models and send intents.

Modules
-------
viewer
    The B-mode viewer window and ``run_app``, the desktop entry point.
image_view
    The widget that draws a B-mode frame with its depth scale and notch marker.
controls
    Side-panel widgets: imaging settings, TGC sliders, probe pose.
render_worker
    Single-worker, latest-request-wins rendering off the GUI thread.
theme
    Dark, projector-legible palette and fonts.

Only this package (and the 3D view) may import Qt; the core never does.
"""
