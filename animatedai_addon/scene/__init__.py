"""The Blender layer: writes an engine Timeline as Blender data, and nothing else decides.

* :mod:`.compat` — every Blender-version difference (the only module that looks at the version).
* :mod:`.keys` — numpy only: the keys and point attributes of a Timeline, which the writers write.
* :mod:`.writer` — ``write_clip``: collections, objects (objects mode) or point objects (instanced mode).
* :mod:`.clip`, :mod:`.source` — a clip's record and what it was made from (its spec, as JSON);
  :mod:`.editable` — "make editable" from the rebuilt timeline.
* :mod:`.mesh`, :mod:`.materials` — the shared cube mesh, wire boxes and role materials.
* :mod:`.instanced`, :mod:`.nodes` — instanced mode (Geometry Nodes).
* :mod:`.stage`, :mod:`.templates` — camera, lights, floor, world.

Importing this package imports no ``bpy``; its modules do.
"""
