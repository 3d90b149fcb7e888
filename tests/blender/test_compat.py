"""scene.compat: the one place that knows Blender versions apart (4.2 LTS to 5.0)."""

from __future__ import annotations

import numpy as np
import pytest

bpy = pytest.importorskip("bpy")

from animatedai_addon.scene import compat  # noqa: E402


def test_flags_follow_the_running_blender():
    version = tuple(bpy.app.version)
    assert compat.SLOTTED_ACTIONS == (version >= (4, 4))
    properties = bpy.types.Action.bl_rna.properties
    assert compat.SLOTTED_ACTIONS == ("slots" in properties)
    assert compat.LEGACY_FCURVES_REMOVED == ("fcurves" not in properties)


def test_eevee_engine_id_is_accepted(scene):
    scene.render.engine = compat.eevee_engine_id()
    assert scene.render.engine == compat.eevee_engine_id()


def test_video_and_image_output(scene):
    compat.set_ffmpeg_output(scene)
    assert scene.render.image_settings.file_format == "FFMPEG"
    assert (scene.render.ffmpeg.format, scene.render.ffmpeg.codec) == ("MPEG4", "H264")
    compat.set_image_output(scene, "PNG")
    assert scene.render.image_settings.file_format == "PNG"


def test_ensure_node_tree_gives_a_material_nodes():
    material = bpy.data.materials.new("m")
    tree = compat.ensure_node_tree(material)
    assert tree is not None and tree == material.node_tree
    assert compat.ensure_node_tree(material) == tree


def _objects(count):
    objects = [bpy.data.objects.new(f"o{i:04d}", None) for i in range(count)]
    for obj in objects:
        bpy.context.scene.collection.objects.link(obj)
    return objects


def test_action_pool_groups_objects_and_their_curves_evaluate(scene):
    objects = _objects(7)
    pool = compat.ActionPool("AnimatedAI test", objects_per_action=3, tags={"animatedai_clip": "t"})
    for i, obj in enumerate(objects):
        (fc,) = pool.new_fcurves(obj, [("location", 2)])
        fc.keyframe_points.add(2)
        fc.keyframe_points.foreach_set("co", np.float32([0, 0, 10, i]))
        fc.keyframe_points.foreach_set("interpolation", np.int32([1, 1]))
    assert len(pool.actions) == (3 if compat.SLOTTED_ACTIONS else 7)
    assert all(a["animatedai_clip"] == "t" for a in pool.actions)
    scene.frame_set(5)
    assert [round(o.matrix_world.translation.z, 4) for o in objects] == [i / 2 for i in range(7)]
    for obj in objects:
        curves = compat.object_fcurves(obj)
        assert [(f.data_path, f.array_index) for f in curves] == [("location", 2)]


def test_shared_animation_plays_on_both_objects(scene):
    source, follower = _objects(2)
    pool = compat.ActionPool("AnimatedAI test")
    (fc,) = pool.new_fcurves(source, [("location", 0)])
    fc.keyframe_points.add(2)
    fc.keyframe_points.foreach_set("co", np.float32([1, 0, 3, 4]))
    fc.keyframe_points.foreach_set("interpolation", np.int32([1, 1]))
    pool.share(follower, source)
    scene.frame_set(2)
    assert source.matrix_world.translation.x == pytest.approx(2.0)
    assert follower.matrix_world.translation.x == pytest.approx(2.0)
    assert compat.object_fcurves(follower)[0] == compat.object_fcurves(source)[0]


def test_object_without_animation_has_no_curves():
    (obj,) = _objects(1)
    assert compat.object_fcurves(obj) == []
