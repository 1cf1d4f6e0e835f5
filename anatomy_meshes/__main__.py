"""``python -m anatomy_meshes``: regenerate the mesh files (see ``library``)."""

from anatomy_meshes.library import main

main()
