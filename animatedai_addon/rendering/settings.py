"""A job's render settings on its scene: resolution and PNG output, engine, samples, Cycles' speed settings, GPU."""

from __future__ import annotations

from ..engine.errors import SpecError
from .job import RenderJob

GPU_BACKENDS = ("OPTIX", "CUDA", "HIP", "METAL", "ONEAPI")


def set_output_settings(scene, job: RenderJob) -> None:
    """Resolution and 8-bit RGB PNG frames. (The clip sets the frame range and fps: ``scene.playback``.)"""
    render = scene.render
    render.resolution_x, render.resolution_y = job.resolution
    render.resolution_percentage = 100
    render.pixel_aspect_x = render.pixel_aspect_y = 1.0
    render.use_file_extension = True
    from ..scene import compat
    compat.set_image_output(scene, "PNG")
    image = render.image_settings
    image.color_mode = "RGB"
    image.color_depth = "8"
    image.compression = 15


#: Cycles settings chosen for speed on a small CPU (the README's main command: 2 cores, 480x270, 6 samples),
#: measured with ``benchmarks/render.py --main-command`` against the studio template's own settings:
#: * the light tree off: with the stage's five area lights and a plain world, picking a light by power is as
#:   good, and the tree's per-sample cost was about a third of the render time;
#: * adaptive sampling stops pixels whose noise is under the threshold (flat floor and backdrop first);
#:   it pays at higher sample counts, at 6 samples every pixel takes them all;
#: * OpenImageDenoise with the albedo and normal passes, prefiltered together with the colour ("FAST") at
#:   "BALANCED" quality: denoising the two guide passes separately first ("ACCURATE", "HIGH") cost more than
#:   the path tracing of 8 samples, and against a 256-sample frame both leave the same error (RMS 2.9 of 255
#:   at 8 samples, 3.2 at 6; the old 16 samples: 1.8; 8 samples undenoised: 9.3); edges between cubes come
#:   out a little softer, with no grain. The sample count is the job's (the main command asks for 6).
CYCLES_SPEED_SETTINGS = {"use_light_tree": False, "use_adaptive_sampling": True, "adaptive_threshold": 0.05,
                         "adaptive_min_samples": 0, "use_denoising": True, "denoising_input_passes": "RGB_ALBEDO_NORMAL",
                         "denoising_prefilter": "FAST", "denoising_quality": "BALANCED"}


def cycles_has_openimagedenoise() -> bool:
    """Whether this Blender's Cycles was built with OpenImageDenoise (the CPU denoiser)."""
    try:
        import _cycles
    except ImportError:
        return False
    return bool(getattr(_cycles, "with_openimagedenoise", False))


def set_render_settings(scene, job: RenderJob) -> None:
    """Engine, samples and device. Noise is seeded the same on every frame and every run."""
    set_engine(scene, job.engine)
    scene.render.use_persistent_data = job.persistent_data
    if job.engine == "cycles":
        cycles = scene.cycles
        cycles.samples = job.samples
        cycles.seed = 0
        cycles.use_animated_seed = False
        denoise = cycles_has_openimagedenoise()
        for name, value in CYCLES_SPEED_SETTINGS.items():
            if name.startswith("denoising_") and not denoise:
                continue
            if hasattr(cycles, name):           # settings this Cycles lacks (older versions) are skipped
                setattr(cycles, name, value if name != "use_denoising" else denoise)
        if denoise:
            cycles.denoiser = "OPENIMAGEDENOISE"
        if job.device == "gpu":
            enable_gpu(scene)
        else:
            cycles.device = "CPU"
    elif job.engine == "eevee":
        scene.eevee.taa_render_samples = job.samples
    else:
        scene.display.render_aa = workbench_aa(job.samples)
        scene.display.shading.color_type = "OBJECT"      # the cell colours live in the objects' colour


def set_engine(scene, engine: str) -> None:
    from ..scene import compat
    scene.render.engine = {"cycles": "CYCLES", "workbench": "BLENDER_WORKBENCH",
                           "eevee": compat.eevee_engine_id()}[engine]


def workbench_aa(samples: int) -> str:
    """Workbench's anti-aliasing setting nearest to a sample count."""
    steps = (("OFF", 1), ("FXAA", 2), ("5", 5), ("8", 8), ("11", 11), ("16", 16), ("32", 32))
    return min(steps, key=lambda s: abs(s[1] - samples))[0]


def gpu_backend() -> str:
    """Turn on every GPU of the first Cycles backend that has one; SpecError when there is none."""
    import bpy
    addon = bpy.context.preferences.addons.get("cycles")
    if addon is None:
        raise SpecError("device", "gpu", "Cycles with a GPU backend; the Cycles add-on is not enabled")
    prefs = addon.preferences
    for backend in GPU_BACKENDS:
        try:
            prefs.compute_device_type = backend
        except TypeError:           # this build of Cycles lacks the backend
            continue
        prefs.refresh_devices()
        if any(d.type == backend for d in prefs.devices):
            for device in prefs.devices:
                device.use = device.type == backend
            return backend
    prefs.compute_device_type = "NONE"
    raise SpecError("device", "gpu", "a machine with a " + ", ".join(GPU_BACKENDS) + " device",
                    hint="none was found; use --device cpu")


def enable_gpu(scene) -> str:
    backend = gpu_backend()
    scene.cycles.device = "GPU"
    return backend
