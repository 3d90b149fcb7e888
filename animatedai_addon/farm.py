"""Render farm: split clips into frame chunks and render them on Dask workers, one Blender per worker process.

The work unit is (job, frame chunk). A worker process builds a job's scene once (``rendering.prepare_scene``)
and keeps it while it renders that job's chunks (``rendering.render_frames``) into the shared output folder.
``render_frames`` skips frames that are already complete and writes each frame under a temporary name first,
so a chunk lost with its worker is simply run again and never leaves a half-written frame. Once every chunk of
a job is done, one task assembles its MP4/GIF (``rendering.assemble_videos``).

Local: ``run_farm(jobs, workers=2)`` starts a LocalCluster of single-threaded worker processes. Cluster:
``run_farm(jobs, scheduler="tcp://host:8786")`` uses workers started with ``dask worker ADDRESS --nthreads 1``
on machines that share the output folder (docs/FARM.md). The scripts' farm options (``--workers``,
``--scheduler``, ...) are parsed in ``scripts/render_cli.py``.
"""

from __future__ import annotations

import atexit
import glob
import importlib.machinery
import logging
import math
import os
import socket
import sys
import time
import traceback
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from .engine.errors import SpecError

MAX_CHUNK_FRAMES = 24          # a lost worker costs at most this many frames of work
MAX_WORKERS = 256              # local worker processes, one Blender each
MAX_CHUNK_SIZE = 100_000       # frames per work unit (a clip has at most engine.timeline.MAX_FRAME)
SCHEDULER_TIMEOUT = 10.0       # seconds to connect to a --scheduler before giving up (--scheduler-timeout)
MAX_SCHEDULER_TIMEOUT = 3600.0
SCHEDULER_SCHEMES = ("tcp", "tls", "ws", "wss", "inproc", "ucx")
CHUNKS_PER_WORKER = 4          # default chunking: about this many chunks per worker and clip
DASHBOARD = "127.0.0.1:8787"   # Dask's usual port, on loopback; Dask picks another port when it is taken


# --------------------------------------------------------------------------------------------- scheduler address

def check_scheduler_address(address) -> tuple[str, str, int]:
    """(scheme, host, port) of a Dask scheduler address ``[scheme://]host:port``; SpecError("scheduler") when it
    is malformed."""
    allowed = "a Dask scheduler address [tcp://]HOST:PORT, e.g. tcp://10.0.0.5:8786"
    if not isinstance(address, str) or not address or len(address) > 1000 or any(c.isspace() for c in address):
        raise SpecError("scheduler", address, allowed)
    scheme, sep, rest = address.partition("://")
    if not sep:
        scheme, rest = "tcp", address
    if scheme not in SCHEDULER_SCHEMES:
        raise SpecError("scheduler", address, allowed, "scheme one of " + ", ".join(SCHEDULER_SCHEMES))
    if scheme == "inproc":
        return scheme, rest, 0
    host, colon, port = rest.rpartition(":")
    host = host[1:-1] if host.startswith("[") and host.endswith("]") else host
    if not colon or not host or not port.isdigit() or not 0 < int(port) < 65536 or "/" in host:
        raise SpecError("scheduler", address, allowed)
    return scheme, host, int(port)


# --------------------------------------------------------------------------------------------- results, errors

class ChunkError(RuntimeError):
    """A chunk failed on a worker: which clip, which frames, where, and the worker's traceback.
    Farm tasks return it (rather than raise it) to the client, which decides whether to try again."""

    def __init__(self, clip: str, first: int | None, last: int | None, worker: str, detail: str):
        super().__init__(clip, first, last, worker, detail)   # what pickling rebuilds it from
        self.clip, self.first, self.last, self.worker, self.detail = clip, first, last, worker, detail

    @property
    def summary(self) -> str:
        """The error's last line: ``IsADirectoryError: [Errno 21] ...``."""
        lines = self.detail.strip().splitlines()
        return lines[-1] if lines else "unknown error"

    def __str__(self) -> str:
        return f"clip {self.clip} {frames_text(self.first, self.last)} failed on worker {self.worker}:\n{self.detail}"

    def __repr__(self) -> str:
        return f"ChunkError({self.clip} {frames_text(self.first, self.last)} on {self.worker}: {self.summary})"


@dataclass
class ChunkFailure:
    """A chunk (or a clip's video assembly) that failed every try."""

    clip: str
    first: int | None
    last: int | None
    errors: list[str]          # one line per try: the worker and the error it raised
    detail: str                # the last try's full error text (the worker's traceback)

    @property
    def tries(self) -> int:
        return len(self.errors)

    def __str__(self) -> str:
        return (f"render farm: clip {self.clip} {frames_text(self.first, self.last)} failed {self.tries} "
                f"time{'s' if self.tries != 1 else ''}:\n  " + "\n  ".join(self.errors)
                + f"\nlast error:\n{self.detail}")


class FarmError(RuntimeError):
    """Chunks failed every try. The other clips were finished; every finished frame is left in place."""

    def __init__(self, failures: list[ChunkFailure]):
        super().__init__("\n".join(str(f) for f in failures))
        self.failures = failures


@dataclass
class ChunkReport:
    """What a worker sends back for one chunk (times in seconds)."""

    clip: str
    first: int
    last: int
    rendered: int              # frames rendered (the others existed already)
    worker: str
    startup_s: float           # importing Blender (first task of a worker process only)
    prepare_s: float           # building the clip's scene (0 when the worker already held it)
    render_s: float

    @property
    def frames(self) -> int:
        return self.last - self.first + 1


@dataclass
class FarmSummary:
    jobs: int
    chunks: int
    frames: int
    workers: int
    seconds: float             # from the first task submitted to the last result
    cluster_start_s: float     # starting the LocalCluster, or connecting to the scheduler
    dashboard: str | None
    videos: dict[str, list[Path]] = field(default_factory=dict)
    reports: list[ChunkReport] = field(default_factory=list)

    @property
    def frames_per_second(self) -> float:
        return self.frames / self.seconds if self.seconds > 0 else 0.0

    @property
    def render_seconds(self) -> float:
        return sum(r.render_s for r in self.reports)

    @property
    def overhead_seconds(self) -> float:
        """Worker start-up plus scene building, summed over chunks."""
        return sum(r.startup_s + r.prepare_s for r in self.reports)


# --------------------------------------------------------------------------------------------- worker side

# Per worker process: its one Blender thread, and the job whose scene the Blender session holds.
_worker_state = {"blender": None, "key": None, "started": False, "in_dask": False}


def _worker_name() -> str:
    """``tcp://10.0.0.7:40123 (render-3, pid 4242)``; called on a Dask thread, where Dask knows its worker."""
    try:
        from distributed import get_worker
        address = get_worker().address
        _worker_state["in_dask"] = True
    except (ImportError, ValueError):
        address = "no worker"
    return f"{address} ({socket.gethostname()}, pid {os.getpid()})"


def _in_blender_thread(function):
    """Run ``function()`` on the worker process's one Blender thread.

    Blender binds itself to the thread that imports ``bpy``: rendering works from other threads, but loading a
    file (``prepare_scene`` starts each clip from an empty file) from another thread crashes the process
    (measured on 5.0.1). Dask may run tasks on any of its threads, so all Blender work goes to this one.
    """
    if _worker_state["blender"] is None:
        _worker_state["blender"] = ThreadPoolExecutor(max_workers=1, thread_name_prefix="blender")
    return _worker_state["blender"].submit(function).result()


def _start_blender() -> float:
    """Import Blender on the Blender thread; its seconds the first time in this process, else 0."""
    if _worker_state["started"]:
        return 0.0
    if "bpy" in sys.modules:
        raise RuntimeError("bpy was imported in this worker outside its Blender thread (by a worker preload?), "
                           "and Blender crashes when a second thread loads files: import bpy only in farm tasks")
    started = time.perf_counter()
    import bpy  # noqa: F401  (the import is what is timed)
    _worker_state["started"] = True
    if _worker_state["in_dask"]:
        # Blender's messages ("Saved: ...") go to stderr: a script's stdout lists its outputs, and local workers
        # share the script's terminal.
        sys.stdout.flush()
        os.dup2(2, 1)
        atexit.register(_exit_before_blender_teardown)   # a worker process ends when Dask is done with it
    return time.perf_counter() - started


def _exit_before_blender_teardown() -> None:
    """End the worker process before Blender's own teardown, which crashes (SIGSEGV, after every Python
    frame) when ``bpy`` was imported on a thread other than the main one, as here. Registered last, this
    runs first among the exit handlers: the worker has already closed; logs and output are flushed here."""
    logging.shutdown()
    for stream in (sys.stdout, sys.stderr):
        stream.flush()
    os._exit(0)


def _hold_scene(job) -> float:
    """Make the worker's Blender session hold ``job``'s scene; returns the seconds spent building it."""
    from . import api, rendering
    key = repr(job)                      # chunks of a job share the job object: equal fields, equal scene
    if _worker_state["key"] == key:
        return 0.0
    started = time.perf_counter()
    _worker_state["key"] = None          # a build that fails half-way must not be reused
    rendering.prepare_scene(job, api)
    _worker_state["key"] = key
    return time.perf_counter() - started


def _on_worker(job, first, last, work):
    """Run ``work(worker_name)`` on the Blender thread. A failure comes back as a ChunkError *value* naming
    the clip, the frames and the worker, with the worker's traceback: the client decides about retries, and
    Dask's worker log does not repeat each failure."""
    worker = _worker_name()              # here: Dask knows its worker only on its own threads

    def guarded():
        try:
            return work(worker)
        except Exception as error:
            detail = "".join(traceback.format_exception(error)).rstrip()
            return ChunkError(job.clip, first, last, worker, detail)
    return _in_blender_thread(guarded)


def render_chunk(job, first: int, last: int) -> ChunkReport | ChunkError:
    """Worker task: render frames ``first..last`` (inclusive) of ``job`` into its output folder."""
    from . import rendering

    def work(worker):
        startup = _start_blender()
        prepare_s = _hold_scene(job)
        skipped = []

        def note_skipped(done, total, frame, seconds):
            if seconds is None:          # render_frames reports a frame that already existed this way
                skipped.append(frame)
        started = time.perf_counter()
        rendering.render_frames(job, first, last, progress=note_skipped)
        return ChunkReport(clip=job.clip, first=first, last=last, rendered=last - first + 1 - len(skipped),
                           worker=worker, startup_s=startup, prepare_s=prepare_s,
                           render_s=time.perf_counter() - started)
    return _on_worker(job, first, last, work)


def assemble_job(job) -> list[Path] | ChunkError:
    """Worker task: the job's MP4/GIF from its finished PNG frames (which go when PNG is not a format asked
    for, as in ``rendering.render``)."""
    from . import rendering

    def work(worker):
        _start_blender()
        videos = rendering.assemble_videos(job)          # raises unless every frame is complete
        remove_stale_partials(job)
        if "png" not in job.formats:
            for frame in range(job.frames[0], job.frames[1] + 1):
                rendering.frame_path(job, frame).unlink(missing_ok=True)
        return [Path(p) for p in videos]
    return _on_worker(job, None, None, work)


def remove_stale_partials(job) -> list[Path]:
    """Remove temporary files of the job's frames and .blend once the finished files exist.

    A worker killed while writing leaves its temporary file; ``render_frames`` removes those of dead processes
    when it starts, but a killed process can still look alive then (not yet reaped), and is unknown on another
    machine. Once every frame is complete, no temporary file of the job is needed any more.
    """
    from . import rendering
    finished = [rendering.frame_path(job, f) for f in range(job.frames[0], job.frames[1] + 1)]
    finished.append(rendering.blend_path(job))
    removed = []
    for path in finished:
        if not path.is_file():
            continue
        for partial in path.parent.glob(f".{glob.escape(path.stem)}{rendering.PARTIAL_MARK}*{path.suffix}"):
            partial.unlink(missing_ok=True)
            removed.append(partial)
    return removed


# --------------------------------------------------------------------------------------------- client side

def split_frames(first: int, last: int, chunk_size: int) -> list[tuple[int, int]]:
    """Inclusive frame ranges of at most ``chunk_size`` frames covering ``first..last``."""
    return [(a, min(a + chunk_size - 1, last)) for a in range(first, last + 1, chunk_size)]


def default_chunk_size(frame_count: int, workers: int) -> int:
    """About CHUNKS_PER_WORKER chunks per worker, at most MAX_CHUNK_FRAMES frames each."""
    return max(1, min(MAX_CHUNK_FRAMES, math.ceil(frame_count / (CHUNKS_PER_WORKER * max(1, workers)))))


def frames_text(first, last) -> str:
    return "(videos)" if first is None else f"frames {first}-{last}"


def run_farm(jobs, workers: int | None = None, scheduler: str | None = None, chunk_size: int | None = None,
             retries: int = 3, log=sys.stderr, scheduler_timeout: float = SCHEDULER_TIMEOUT) -> FarmSummary:
    """Render ``jobs`` (``rendering.RenderJob``) on Dask, chunk by chunk; then each job's MP4/GIF.

    ``workers``: start a LocalCluster of that many single-threaded worker processes (1 when neither option is
    given). ``scheduler``: the address of a running Dask scheduler instead. ``retries``: how many times a chunk
    is tried before it counts as failed; a chunk lost with a dead worker is re-run by Dask without counting.
    Raises FarmError (clip, frames, each try's worker and error) once the other clips are done; a clip stops
    at its first failed chunk. Every finished frame stays, so running again renders only what is missing.
    """
    jobs = _checked_jobs(jobs, workers, scheduler, chunk_size, retries)
    if isinstance(scheduler_timeout, bool) or not isinstance(scheduler_timeout, (int, float)) \
            or not 0 < scheduler_timeout <= MAX_SCHEDULER_TIMEOUT:
        raise SpecError("scheduler_timeout", scheduler_timeout, f"seconds above 0, at most {MAX_SCHEDULER_TIMEOUT:g}")
    if scheduler:
        probe_scheduler(scheduler, scheduler_timeout)      # before any folder is touched
    from . import rendering
    held = []
    try:
        for job in jobs:           # one job per output folder: the farm's client holds the locks, not its workers
            rendering.acquire_output_lock(job)
            held.append(job)
        with _spawnable_client():
            return _run_on_dask(jobs, workers, scheduler, chunk_size, retries, log, scheduler_timeout)
    finally:
        for job in held:
            rendering.release_output_lock(job)


def _checked_jobs(jobs, workers, scheduler, chunk_size, retries) -> list:
    """The jobs with their frame ranges filled in; SpecError for a bad option before anything starts."""
    from . import rendering
    jobs = list(jobs)
    if not jobs or not all(isinstance(job, rendering.RenderJob) for job in jobs):
        raise SpecError("jobs", jobs, "a non-empty list of rendering.RenderJob")
    if workers is not None and (isinstance(workers, bool) or not isinstance(workers, int)
                                or not 1 <= workers <= MAX_WORKERS):
        raise SpecError("workers", workers, f"a whole number of worker processes from 1 to {MAX_WORKERS}")
    if scheduler is not None:
        check_scheduler_address(scheduler)
    if workers is not None and scheduler:
        raise SpecError("workers", workers, "either workers (a local cluster) or a scheduler, not both")
    if chunk_size is not None and (isinstance(chunk_size, bool) or not isinstance(chunk_size, int)
                                   or not 1 <= chunk_size <= MAX_CHUNK_SIZE):
        raise SpecError("chunk_size", chunk_size, f"a whole number of frames from 1 to {MAX_CHUNK_SIZE}")
    if isinstance(retries, bool) or not isinstance(retries, int) or retries < 1:
        raise SpecError("retries", retries, "a positive whole number of tries per chunk")
    for job in jobs:     # the farm renders pictures; the clip's own files come from one render (rendering.render)
        exports = [f for f in job.formats if f in rendering.EXPORT_FORMATS]
        if exports:
            raise SpecError("formats", ",".join(job.formats), "png, mp4 or gif on the farm (render "
                            f"{', '.join(exports)} without --workers / --scheduler)")
    return [_for_workers(job) for job in jobs]


def _for_workers(job):
    """The job as workers need it: its frame range filled in, and its paths absolute (a worker's current
    folder is not the client's; on a cluster the same absolute path must reach the shared folder)."""
    from . import api, rendering
    rendering.check_job(job, api)         # the cube budget before planning, the output folder, the preset
    if job.frames:
        rendering.check_frames_in_clip(job, api)
    changes = {"out": str(Path(job.out).resolve())}
    if job.spec_file:
        changes["spec_file"] = str(Path(job.spec_file).resolve())
    if not job.frames:
        changes["frames"] = rendering.clip_range(job, api)
    return job.replace(**changes)


@contextmanager
def _spawnable_client():
    """Make this process fit to spawn Blender worker processes, for the whole run (the nanny restarts a dead
    worker at any time). A spawned process starts with this process's ``sys.path`` and re-runs its main script:

    * importing ``bpy`` puts Blender's script folders first on ``sys.path``, where a worker would find Blender's
      pure-Python ``bpy`` package (scripts/modules/bpy) before the wheel's binary module and fail with "No module
      named '_bpy'": keep them after site-packages (only the name ``bpy`` exists in both places);
    * a main script that imports ``bpy`` at module level would import it on the worker's main thread, and
      Blender crashes when it then loads a file on the worker's Blender thread: mark the main module as not
      to be re-run (the farm sends workers nothing defined in it).
    """
    saved_path = list(sys.path)
    main = sys.modules.get("__main__")
    hide_main = main is not None and getattr(main, "__spec__", None) is None and hasattr(main, "__file__")
    bpy = sys.modules.get("bpy")
    if bpy is not None and getattr(bpy, "__file__", None):
        scripts = Path(bpy.__file__).resolve().parents[2]       # .../bpy/<version>/scripts
        blender = [p for p in sys.path if p and Path(p).resolve().is_relative_to(scripts)]
        sys.path[:] = [p for p in sys.path if p not in blender] + blender
    if hide_main:
        main.__spec__ = importlib.machinery.ModuleSpec("__main__", None)   # multiprocessing skips re-running it
    try:
        yield
    finally:
        sys.path[:] = saved_path
        if hide_main:
            main.__spec__ = None


def probe_scheduler(scheduler: str, timeout: float = SCHEDULER_TIMEOUT) -> None:
    """A plain TCP connect to the scheduler within ``timeout`` seconds; SpecError("scheduler") naming the address
    when it fails (a closed port fails at once, with one line, not after Dask's retries)."""
    scheme, host, port = check_scheduler_address(scheduler)
    if scheme in ("tcp", "tls", "ws", "wss"):
        try:
            socket.create_connection((host, port), timeout=timeout).close()
        except OSError as exc:
            raise SpecError("scheduler", scheduler, "the address of a running Dask scheduler",
                            f"cannot connect within {timeout:g} s: {exc.strerror or exc}; "
                            "start it or check --scheduler / --scheduler-timeout") from None


def _connect(scheduler: str, timeout: float):
    """A Client of ``scheduler``; SpecError("scheduler") naming the address when nothing answers in ``timeout``
    seconds (a plain TCP connect first, so a closed port fails at once with one line, not Dask's retries)."""
    from distributed import Client
    probe_scheduler(scheduler, timeout)
    try:
        return Client(scheduler, timeout=f"{timeout}s")
    except Exception as exc:     # noqa: BLE001 - whatever answers there is not a Dask scheduler: say so in one line
        raise SpecError("scheduler", scheduler, "the address of a running Dask scheduler",
                        f"no Dask scheduler answered within {timeout:g} s ({type(exc).__name__})") from None


def _run_on_dask(jobs, workers, scheduler, chunk_size, retries, log, scheduler_timeout=SCHEDULER_TIMEOUT):
    from distributed import Client, LocalCluster

    started = time.perf_counter()
    cluster = None
    if scheduler:
        client = _connect(scheduler, scheduler_timeout)
    else:
        cluster = LocalCluster(n_workers=workers or 1, threads_per_worker=1, processes=True,
                               host="127.0.0.1", dashboard_address=DASHBOARD)
        client = Client(cluster)
    try:
        dashboard = client.dashboard_link if cluster is not None else None
        if dashboard:
            _say(log, f"render farm: Dask dashboard at {dashboard}")
        slots = _worker_slots(client) if scheduler else (workers or 1)
        _say(log, f"render farm: {len(jobs)} clip(s) on {slots} worker(s)"
                  + (f" of {scheduler}" if scheduler else " (local cluster)"))
        farm = _Farm(client, jobs, slots, chunk_size, retries, log)
        return farm.run(cluster_start_s=time.perf_counter() - started, dashboard=dashboard)
    finally:
        client.close()
        if cluster is not None:
            cluster.close()


def _worker_slots(client) -> int:
    workers = client.scheduler_info(n_workers=-1).get("workers", {})
    return max(1, sum(w.get("nthreads", 1) for w in workers.values()))


def _say(log, line: str) -> None:
    if log is not None:
        log.write(line + "\n")
        log.flush()


class _Farm:
    """One run: submits the chunk and assembly tasks, retries failures, reports progress."""

    def __init__(self, client, jobs, slots, chunk_size, retries, log):
        self.client, self.jobs, self.slots = client, jobs, slots
        self.chunk_size, self.retries, self.log = chunk_size, retries, log
        self.tasks = {}                   # future -> (job index, first, last); first None: the videos
        self.errors = {}                  # (job index, first, last) -> one line per failed try
        self.pending = {}                 # job index -> chunks not finished yet
        self.failures: list[ChunkFailure] = []
        self.reports: list[ChunkReport] = []
        self.videos: dict[str, list[Path]] = {}
        self.chunks_total = self.chunks_done = self.frames_total = self.frames_done = 0

    def run(self, cluster_start_s: float, dashboard: str | None) -> FarmSummary:
        from distributed import as_completed

        self.started = time.perf_counter()
        self.queue = as_completed()
        # Jobs go in order, so workers go through one clip's chunks together and each builds few scenes.
        for index, job in enumerate(self.jobs):
            size = self.chunk_size or default_chunk_size(job.frames[1] - job.frames[0] + 1, self.slots)
            chunks = split_frames(job.frames[0], job.frames[1], size)
            self.pending[index] = len(chunks)
            self.chunks_total += len(chunks)
            self.frames_total += job.frames[1] - job.frames[0] + 1
            for first, last in chunks:
                self._submit((index, first, last))
        for future in self.queue:
            self._collect(future)
        summary = FarmSummary(jobs=len(self.jobs), chunks=self.chunks_done, frames=self.frames_done,
                              workers=self.slots, seconds=time.perf_counter() - self.started,
                              cluster_start_s=cluster_start_s, dashboard=dashboard,
                              videos=self.videos, reports=self.reports)
        if self.failures:
            raise FarmError(self.failures)
        _say(self.log, f"render farm: done, {summary.frames} frames in {summary.chunks} chunks, "
                       f"{summary.seconds:.1f} s ({summary.frames_per_second:.2f} frames/s)")
        return summary

    def _submit(self, task) -> None:
        index, first, last = task
        job = self.jobs[index]
        if first is None:
            future = self.client.submit(assemble_job, job, pure=False)
        else:
            future = self.client.submit(render_chunk, job, first, last, pure=False)
        self.tasks[future] = task
        self.queue.add(future)

    def _collect(self, future) -> None:
        task = self.tasks.pop(future, None)
        if task is None or future.status == "cancelled":
            return
        index, first, last = task
        if future.status == "error":       # Dask's own failures, e.g. KilledWorker: its workers kept dying
            self._failed(task, future.exception(), future.traceback())
        elif isinstance(result := future.result(), ChunkError):
            self._failed(task, result, None)
        elif first is None:
            self.videos[self.jobs[index].clip] = result
            if result:
                _say(self.log, f"render farm: {self.jobs[index].clip}: " + ", ".join(str(p) for p in result))
        else:
            self._chunk_done(index, result)
        future.release()

    def _chunk_done(self, index: int, report: ChunkReport) -> None:
        self.reports.append(report)
        self.chunks_done += 1
        self.frames_done += report.frames
        elapsed = time.perf_counter() - self.started
        rate = self.frames_done / elapsed if elapsed > 0 else 0.0
        eta = _clock((self.frames_total - self.frames_done) / rate) if rate > 0 else "?"
        _say(self.log, f"render farm: chunks {self.chunks_done}/{self.chunks_total}, "
                       f"frames {self.frames_done}/{self.frames_total}, {rate:.2f} frames/s, ETA {eta}")
        self.pending[index] -= 1
        if self.pending[index] == 0:
            self._submit((index, None, None))

    def _failed(self, task, error, tb) -> None:
        index, first, last = task
        clip = self.jobs[index].clip
        line, detail = _describe(error, tb)
        errors = self.errors.setdefault(task, [])
        errors.append(line)
        if len(errors) < self.retries:
            _say(self.log, f"render farm: {clip} {frames_text(first, last)} failed "
                           f"(try {len(errors)} of {self.retries}), trying again: {line}")
            self._submit(task)
            return
        self.failures.append(ChunkFailure(clip, first, last, errors, detail))
        _say(self.log, f"render farm: {clip} {frames_text(first, last)} failed {len(errors)} times; "
                       "stopping this clip (its finished frames stay)")
        for future, (other, *_) in list(self.tasks.items()):
            if other == index:           # the clip's other chunks are not needed for a video that won't be made
                self.tasks.pop(future)
                future.cancel()


def _describe(error, tb) -> tuple[str, str]:
    """(one line naming the worker and the error, the full text) of a failed task."""
    if isinstance(error, ChunkError):
        return f"on {error.worker}: {error.summary}", error.detail
    detail = "".join(traceback.format_exception(type(error), error, tb)).rstrip()
    return f"{type(error).__name__}: {error}", detail     # e.g. KilledWorker: the task's workers kept dying


def _clock(seconds: float) -> str:
    seconds = int(round(seconds))
    return f"{seconds // 3600}:{seconds // 60 % 60:02d}:{seconds % 60:02d}"
