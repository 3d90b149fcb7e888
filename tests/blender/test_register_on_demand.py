"""Scripts on the bpy wheel get the add-on registered by their first generate()."""

import bpy

import animatedai_addon
from animatedai_addon import api


def test_generate_registers_the_addon_on_demand():
    if animatedai_addon.is_registered():
        animatedai_addon.unregister()
    assert not hasattr(bpy.context.scene, "animatedai")
    api.generate("max-pool-2x2")
    assert animatedai_addon.is_registered()
    assert bpy.context.scene.animatedai is not None
    assert "animatedai.generate" in dir(bpy.ops.animatedai) or hasattr(bpy.ops.animatedai, "generate")
