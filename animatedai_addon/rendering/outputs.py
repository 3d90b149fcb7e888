"""Where a job's files go, and how they are written: exclusive temporary names, atomic replaces, the frames
folder's signature (frames of two jobs never mix) and the one-job-per-folder lock.

Layout under ``job.out``: ``frames/<clip>_0001.png``…, ``<clip>.mp4``, ``<clip>.gif``, ``<clip>.blend``.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import secrets
import socket
import time
from pathlib import Path

from ..engine.errors import SpecError
from .job import RenderJob, job_key

PARTIAL_MARK = ".partial-"               # temporary names: .<name>.partial-<pid>-<random>.png
LOCK_NAME = ".animatedai.lock"           # in the output folder while a job renders into it (pid, host, job)
LOCK_POLL_SECONDS = 1.0
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
PNG_END = b"IEND\xaeB`\x82"


def out_dir(job: RenderJob) -> Path:
    return Path(job.out)


def frames_dir(job: RenderJob) -> Path:
    return out_dir(job) / "frames"


def frame_path(job: RenderJob, frame: int) -> Path:
    return frames_dir(job) / f"{job.clip}_{frame:04d}.png"


def video_path(job: RenderJob, fmt: str) -> Path:
    return out_dir(job) / f"{job.clip}.{fmt}"


def blend_path(job: RenderJob) -> Path:
    return out_dir(job) / f"{job.clip}.blend"


def signature_path(job: RenderJob) -> Path:
    return frames_dir(job) / f".{job.clip}.job.json"


def temporary_path(path: Path) -> Path:
    """A new, empty file in the same folder (so os.replace is atomic) under a name no finished output has and
    nobody can guess: ``.<stem>.partial-<pid>-<random><suffix>``, created exclusively (O_EXCL) without following
    a link, so a planted file or symlink can never redirect the write."""
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0)
    while True:
        tmp = path.with_name(f".{path.stem}{PARTIAL_MARK}{os.getpid()}-{secrets.token_hex(8)}{path.suffix}")
        try:
            os.close(os.open(tmp, flags, 0o644))
        except FileExistsError:
            continue
        return tmp


def is_complete_png(path: Path) -> bool:
    """A PNG with its signature and its end chunk: what os.replace leaves, never a cut-off write."""
    try:
        with open(path, "rb") as handle:
            head = handle.read(8)
            handle.seek(-8, os.SEEK_END)
            tail = handle.read(8)
    except OSError:
        return False
    return head == PNG_SIGNATURE and tail == PNG_END


def remove_dead_partials(folder: Path) -> None:
    """Temporary files of renders that were killed (their process is gone)."""
    pattern = re.compile(re.escape(PARTIAL_MARK) + r"(\d+)(?:-[0-9a-f]+)?\.")
    for path in folder.glob(f".*{PARTIAL_MARK}*"):
        match = pattern.search(path.name)
        if match and not _process_alive(int(match.group(1))) and not path.is_dir():
            path.unlink(missing_ok=True)


def _process_alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def claim_output_folder(job: RenderJob) -> None:
    """Frames of an earlier, different job of the same clip are stale: remove them before rendering."""
    folder = frames_dir(job)
    folder.mkdir(parents=True, exist_ok=True)
    key = job_key(job)
    signature = signature_path(job)
    if signature.is_file() and signature.read_text() == key:
        return
    for old in folder.glob(f"{glob_escape(job.clip)}_*.png"):
        if re.fullmatch(re.escape(job.clip) + r"_\d+\.png", old.name):
            old.unlink()
    write_atomically(signature, key.encode())


def check_frames_signature(job: RenderJob) -> None:
    """SpecError unless the frames folder still belongs to ``job`` (its signature): frames of two jobs never mix."""
    try:
        held = signature_path(job).read_text()
    except (OSError, UnicodeDecodeError):
        held = None
    if held != job_key(job):
        raise SpecError("out", job.out, "a folder only this job renders into",
                        f"{signature_path(job)} now names another job; nothing more was written")


def check_out_folder(out) -> Path:
    """SpecError("out") unless ``out`` is (or can be made as) a folder this process can write: checked before
    any scene is built. The nearest existing folder must be writable and on a writable file system."""
    path = Path(out)
    if path.exists() and not path.is_dir():
        raise SpecError("out", str(out), "a folder to render into: this is a file")
    existing = path
    while not existing.exists():
        if existing.is_symlink() or existing.parent == existing:
            break
        existing = existing.parent
    if not existing.is_dir():
        raise SpecError("out", str(out), "a folder to render into", f"{existing} is not a folder")
    for folder in (existing, path / "frames"):
        if not folder.exists():
            continue
        if not folder.is_dir():
            raise SpecError("out", str(out), "a folder to render into", f"{folder} is not a folder")
        read_only = bool(os.statvfs(folder).f_flag & getattr(os, "ST_RDONLY", 1)) if hasattr(os, "statvfs") else False
        if read_only or not os.access(folder, os.W_OK | os.X_OK):
            raise SpecError("out", str(out), "a folder this user can write",
                            f"{folder} is {'on a read-only file system' if read_only else 'not writable'}")
        _probe_write(out, folder)
    return path


def _probe_write(out, folder: Path) -> None:
    """Create and remove a file of a random name in ``folder`` (what permissions and mount flags cannot tell:
    a pseudo file system, a full disk's inode table, root on a read-only mount); SpecError("out") when it fails."""
    probe = folder / f".animatedai-probe-{os.getpid()}-{secrets.token_hex(8)}"
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0)
    try:
        os.close(os.open(probe, flags, 0o600))
    except OSError as exc:
        raise SpecError("out", str(out), "a folder this user can write",
                        f"cannot create a file in {folder}: {exc.strerror or exc}") from None
    probe.unlink(missing_ok=True)


_made_folders: dict = {}      # lock path -> the folders acquire_output_lock created for it (nearest first)


def lock_path(job: RenderJob) -> Path:
    return out_dir(job) / LOCK_NAME


def _lock_holder(path: Path) -> dict | None:
    """The lock's content (pid, host, job), or None when it is gone or unreadable (a lock being written)."""
    try:
        data = json.loads(path.read_text())
        return data if isinstance(data, dict) and isinstance(data.get("pid"), int) else None
    except (OSError, ValueError, UnicodeDecodeError):
        return None


def acquire_output_lock(job: RenderJob, poll: float = LOCK_POLL_SECONDS) -> Path:
    """Make ``job`` the one job rendering into its output folder: create ``out/.animatedai.lock`` exclusively
    (O_CREAT|O_EXCL, never through a link) holding this pid, host and job signature. When another live job
    holds it: wait (``job.wait``) or SpecError("out") naming the holder. A lock of a dead process on this host
    is stale and taken over. Returns the lock's path; :func:`release_output_lock` removes it."""
    path = lock_path(job)
    missing = [p for p in (path.parent, *path.parent.parents) if not p.exists()]
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        _made_folders[path] = missing
    except OSError as exc:
        raise SpecError("out", job.out, "a folder this user can write", exc.strerror or str(exc)) from None
    mine = {"pid": os.getpid(), "host": socket.gethostname(), "job": hashlib.sha1(job_key(job).encode()).hexdigest()}
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0)
    while True:
        try:
            fd = os.open(path, flags, 0o644)
        except FileExistsError:
            holder = _lock_holder(path)
            if holder is not None and holder.get("host") == mine["host"] and not _process_alive(holder["pid"]):
                _take_over_stale(path, holder)                  # its process is gone: the lock is stale
                continue
            if holder is not None and holder.get("pid") == mine["pid"] and holder.get("host") == mine["host"]:
                if holder.get("job") == mine["job"]:
                    return path                                 # this process already holds it for this job
            if not job.wait:
                who = (f"process {holder['pid']} on {holder.get('host', '?')} (job {str(holder.get('job'))[:12]})"
                       if holder else "another job")
                raise SpecError("out", job.out, "a folder no other job is rendering into",
                                f"{who} holds {path}; wait for it (--wait) or choose another --out")
            time.sleep(poll)
            continue
        with os.fdopen(fd, "w") as handle:
            json.dump(mine, handle)
        return path


def _take_over_stale(path: Path, holder: dict) -> None:
    """Remove a stale lock, only if it still holds what was read (another job may have taken it over first)."""
    stale = path.with_name(f"{path.name}.stale-{os.getpid()}-{secrets.token_hex(4)}")
    try:
        os.rename(path, stale)
    except FileNotFoundError:
        return
    if _lock_holder(stale) != holder:       # someone else's fresh lock: put it back
        try:
            os.link(stale, path)
        except FileExistsError:
            pass
    stale.unlink(missing_ok=True)


def release_output_lock(job: RenderJob) -> None:
    """Remove the output folder's lock when this process holds it."""
    path = lock_path(job)
    holder = _lock_holder(path)
    if holder is not None and holder.get("pid") == os.getpid() and holder.get("host") == socket.gethostname():
        path.unlink(missing_ok=True)
    for folder in _made_folders.pop(path, []):      # folders the lock made, when a failed job left them empty
        try:
            folder.rmdir()
        except OSError:
            break


def glob_escape(text: str) -> str:
    return re.sub(r"([*?\[])", r"[\1]", text)


def write_atomically(path: Path, data: bytes) -> None:
    tmp = temporary_path(path)
    fd = os.open(tmp, os.O_WRONLY | os.O_TRUNC | getattr(os, "O_NOFOLLOW", 0))
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)
    os.replace(tmp, path)


def save_blend(path: Path) -> None:
    """Save a copy of the open file (compressed: a keyframed scene is ~20x smaller), atomically."""
    import bpy
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = temporary_path(path)
    # Blender moves an existing file at the path to a ".blend1" backup, and writes through "<path>@" and a
    # rename (which replaces a link, never follows it): free the reserved random name for it
    tmp.unlink()
    try:
        bpy.ops.wm.save_as_mainfile(filepath=str(tmp), compress=True, copy=True, check_existing=False)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
        tmp.with_name(tmp.name + "1").unlink(missing_ok=True)
