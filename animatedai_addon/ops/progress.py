"""Long operators in steps: Generate and Clear show real progress and stop on Esc.

``api.generate`` and ``api.clear`` call a ``progress(done, total, what)`` callback between
their steps (one tensor, one clip). :class:`Stepper` runs such a call one step at a time:
each :meth:`Stepper.step` lets it run to its next callback and returns, so a modal
operator can hand control back to Blender's event loop (which redraws the progress and
reads the Esc key) between steps.

The call runs on a helper thread, but never at the same time as Blender: ``step()``
blocks the caller (Blender's main thread, inside the operator's timer event) until the
call pauses at its next callback or ends. Blender's data is so touched by one thread at
a time, exactly as if the call ran on the main thread, and nothing runs while Blender
handles events.

:class:`ProgressJob` is what the operators drive: it pushes an undo step before the work
starts, shows ``done/total`` on the window manager's progress and in the status bar (and
the 3D View's header), and on Esc stops the work at its next step and undoes what it did.
"""

from __future__ import annotations

import threading

from ..api import Cancelled


class Stepper:
    """Runs ``work(progress)`` one step at a time (see the module notes)."""

    def __init__(self, work):
        self._work = work
        self._resume = threading.Semaphore(0)
        self._paused = threading.Semaphore(0)
        self._thread = None
        self._cancel = False
        self.done, self.total, self.what = 0, 0, ""
        self.finished = False
        self.result = None
        self.error: BaseException | None = None

    def _progress(self, done: int, total: int, what: str) -> None:
        self.done, self.total, self.what = done, total, what
        self._paused.release()          # hand control back to step()
        self._resume.acquire()          # and wait for the next one
        if self._cancel:
            raise Cancelled(what)

    def _run(self) -> None:
        self._resume.acquire()
        try:
            self.result = self._work(self._progress)
        except BaseException as exc:   # handed to the main thread, which raises or reports it
            self.error = exc
        finally:
            self.finished = True
            self._paused.release()

    def step(self) -> bool:
        """Let the work run to its next step; True once it has ended (``result`` or ``error`` is set)."""
        if self.finished:
            return True
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="animatedai step", daemon=True)
            self._thread.start()
        self._resume.release()
        self._paused.acquire()
        if self.finished:
            self._thread.join()
        return self.finished

    def cancel(self) -> None:
        """Stop the work at its next step (the callback raises ``Cancelled`` there) and let it unwind."""
        if self._thread is None:          # never started: nothing to unwind
            self.finished, self.error = True, Cancelled("before the first step")
            return
        self._cancel = True
        while not self.step():
            pass


class ProgressJob:
    """One Generate or Clear run in steps, with its progress display and Esc (see the module notes).

    ``work(progress)`` is the API call; ``title`` names it in the status bar and the undo history.
    Call :meth:`start` once, then :meth:`handle` for every event the modal operator gets; it returns
    the operator's return value.
    """

    def __init__(self, work, title: str):
        self.stepper = Stepper(work)
        self.title = title
        self.message = ""
        self.cancelled = False

    def start(self, context) -> None:
        import bpy
        # the state Esc returns to (an operator's own undo step is pushed only when it finishes)
        bpy.ops.ed.undo_push(message=f"Before {self.title}")
        context.window_manager.progress_begin(0, 1000)
        self._show(context, "starting")

    def handle(self, context, event_type: str) -> set:
        """``{'RUNNING_MODAL'}`` while working; ``{'FINISHED'}`` / ``{'CANCELLED'}`` at the end."""
        if event_type == 'ESC':
            self.stepper.cancel()
            self.cancelled = True
            self._undo()
            self.end(context)
            return {'CANCELLED'}
        if event_type != 'TIMER':
            return {'RUNNING_MODAL'}      # the scene must not change under the work: other input waits
        if not self.stepper.step():
            s = self.stepper
            self._show(context, f"{s.done}/{s.total} {s.what}", s.done / max(s.total, 1))
            return {'RUNNING_MODAL'}
        self.end(context)
        if self.stepper.error is not None:
            self._undo()                  # a failure half-way leaves nothing half-built either
            raise self.stepper.error
        return {'FINISHED'}

    def _undo(self) -> None:
        """Back to the step :meth:`start` pushed: one undo (to the step before it), one redo (to it)."""
        import bpy
        bpy.ops.ed.undo()
        bpy.ops.ed.redo()

    def _show(self, context, text: str, fraction: float = 0.0) -> None:
        self.message = f"{self.title}: {text} (Esc to cancel)"
        context.window_manager.progress_update(int(1000 * fraction))
        if context.workspace is not None:
            context.workspace.status_text_set(self.message)
        if context.area is not None:
            context.area.header_text_set(self.message)

    def end(self, context) -> None:
        context.window_manager.progress_end()
        if context.workspace is not None:
            context.workspace.status_text_set(None)
        if context.area is not None:
            context.area.header_text_set(None)
