"""Build the stage templates: blend_templates/studio.blend and blend_templates/flat.blend.

    .venv42/bin/python scripts/build_templates.py      # the oldest supported Blender (4.2 LTS)

Run it with the OLDEST supported Blender: a .blend saved by 5.0 cannot be read by 4.2,
while 5.0 reads 4.2's files. Each template holds one scene ``AnimatedAI <name>`` with the
stage rig in unit space (camera + target, area lights, floor; see scene/stage.py), a world
``AnimatedAI <name> World`` and the look's render settings. No cubes.

studio: the Animated AI conv look. A light blue-grey, glossy, partly metallic floor that
    mirrors the cubes in soft blurred reflections; big soft area lights from above (the cubes'
    top faces are the lit ones) and a long soft light far to the right that brightens that
    side of the floor; nothing low behind the clip (it showed as a pillar of light in the floor);
    a dark world, lighter and bluish at the horizon so the floor brightens into the distance
    (no HDRI: nothing to download, nothing to tint the cubes).
    Colour management Standard, chosen after rendering both: the palette's colours are
    meant as the colours one sees (Animated AI's flat, saturated hues), and Standard shows
    them as given, while AgX (even with its Punchy look) turned the teal input and the
    filter hues pastel. What AgX does well, rolling bright highlights off to white, the
    palette already does (a lit cell is its colour mixed towards white), and the lights
    are set so that nothing but the lights' own reflections clips.
flat: the Animated AI shuffle look, and quick. A light grey backdrop (what the camera sees;
    the world that lights the cubes is much dimmer, 0.08: its grey, mirrored and diffused by the top
    faces, is what kept the dark shades from the reference's saturated colours) and a white matte
    floor (no reflections), soft shadows from large lights, Standard colour management so white
    stays white and the palette's colours come out exactly as specified; few samples and
    no ray tracing in Eevee; studio lighting in Workbench.
Both: depth of field is set up (focus on the camera target, f/4) but off.
"""

from __future__ import annotations

import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

import bpy  # noqa: E402

from animatedai_addon.scene import stage, templates  # noqa: E402
from animatedai_addon.scene.stage import FloorLook, RigLight, WorldLook  # noqa: E402

OUT_DIR = REPO / "blend_templates"

STUDIO_LIGHTS = stage.DEFAULT_LIGHTS
FLAT_LIGHTS = (
    RigLight("AnimatedAI Key Light", (-1.4, -2.4, 3.0), 12.0, 2.34, kind="SUN"),
    RigLight("AnimatedAI Fill Light", (2.8, -1.2, 1.6), 3.0, 10.4),
    RigLight("AnimatedAI Top Light", (0.3, -0.6, 3.6), 3.5, 41.6),
)

LOOKS = {
    "studio": dict(
        lights=STUDIO_LIGHTS,
        floor=FloorLook(material="AnimatedAI studio floor"),
        world=WorldLook(name=templates.world_name("studio")),
        view=("Standard", "None"),
        cycles=dict(samples=64, use_adaptive_sampling=True, adaptive_threshold=0.02, use_denoising=True,
                    max_bounces=6, diffuse_bounces=2, glossy_bounces=4, transmission_bounces=0,
                    transparent_max_bounces=4, caustics_reflective=False, caustics_refractive=False,
                    blur_glossy=1.0, sample_clamp_indirect=5.0),
        eevee=dict(taa_render_samples=32, use_shadows=True, use_raytracing=True, ray_tracing_method="SCREEN",
                   use_gtao=True, use_ssr=True, use_soft_shadows=True),
        shading=dict(light="STUDIO", color_type="OBJECT", show_shadows=True, shadow_intensity=0.4,
                     show_cavity=True, show_specular_highlight=True, show_object_outline=False),
    ),
    "flat": dict(
        lights=FLAT_LIGHTS,
        floor=FloorLook(material="AnimatedAI flat floor", color=(0.75, 0.75, 0.75), roughness=1.0, metallic=0.0,
                        specular=0.0),
        world=WorldLook(name=templates.world_name("flat"), color=(0.08, 0.08, 0.08), strength=1.0,
                        horizon=None, camera_color=(0.52, 0.52, 0.52)),
        view=("Standard", "None"),
        cycles=dict(samples=24, use_adaptive_sampling=True, adaptive_threshold=0.05, use_denoising=True,
                    max_bounces=4, diffuse_bounces=2, glossy_bounces=1, transmission_bounces=0,
                    transparent_max_bounces=2, caustics_reflective=False, caustics_refractive=False,
                    blur_glossy=1.0, sample_clamp_indirect=3.0),
        eevee=dict(taa_render_samples=16, use_shadows=True, use_raytracing=False, use_gtao=True, use_ssr=False,
                   use_soft_shadows=True),
        shading=dict(light="STUDIO", color_type="OBJECT", show_shadows=True, shadow_intensity=0.25,
                     show_cavity=False, show_specular_highlight=False, show_object_outline=False),
    ),
}


def _set_existing(group, values: dict) -> None:
    """Set the settings this Blender has (the Eevee settings differ between 4.2 and 5.0)."""
    for name, value in values.items():
        if hasattr(group, name):
            setattr(group, name, value)


def build_template(name: str) -> Path:
    look = LOOKS[name]
    bpy.ops.wm.read_factory_settings(use_empty=True)
    scene = bpy.context.scene
    scene.name = templates.scene_name(name)
    scene.render.resolution_x, scene.render.resolution_y = 960, 540
    world = stage.build_stage(scene, name, lights=look["lights"], floor=look["floor"], world=look["world"])
    scene.world = world
    scene.camera = bpy.data.objects[stage.CAMERA]
    scene.view_settings.view_transform, scene.view_settings.look = look["view"]
    scene.render.film_transparent = False
    _set_existing(scene.cycles, look["cycles"])
    _set_existing(scene.eevee, look["eevee"])
    _set_existing(scene.display.shading, look["shading"])
    for obj in stage.stage_objects(scene):
        obj.location = [float(v) for v in obj[stage.UNIT_LOCATION]]   # shown in unit space when opened
    OUT_DIR.mkdir(exist_ok=True)
    path = OUT_DIR / f"{name}.blend"
    bpy.ops.wm.save_as_mainfile(filepath=str(path), compress=True, check_existing=False)
    return path


def main() -> int:
    for name in templates.TEMPLATES:
        print(build_template(name))
    return 0


if __name__ == "__main__":
    sys.exit(main())
