"""One module per procedure scene: its anatomy as named, dimensioned parameters.

Each module defines

- ``SCENE``: the scene name (its meshes go to ``anatomy_meshes/<SCENE>/``);
- ``MESHES``: file name -> function building that closed mesh;

and documents every dimension with its source. ``anatomy_meshes.library``
finds the modules here and writes their meshes.
"""
