"""Tests of the Blender layer, run on the real ``bpy`` module (5.0 in .venv, 4.2 LTS in .venv42)."""
