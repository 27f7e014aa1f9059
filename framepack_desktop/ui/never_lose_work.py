"""The window's "never lose work" commands: continue, redo a section, takes, extend, branch.

A controller object with its dependencies named in its constructor: the timeline model (what is
shown), the generation controller (the queue, running a job), the playback (the playhead), the
window's background tasks, where outputs and pasted inputs go, and the question whether models are chosen. It never touches the
window's widgets: what it has to say goes out as signals the window connects (an error, a status
line, a job to run now or to put in the form, the unfinished jobs found). Its dialogs are parented
to `parent`; tests replace the `ask_*`/`confirm_*` methods with answers. The Jobs themselves are
built by `job_actions`, which the engine backs.
"""
from __future__ import annotations

import logging
import time
from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import QObject, QPoint, Signal, Slot
from PySide6.QtWidgets import QFileDialog, QInputDialog, QMenu, QMessageBox, QWidget

from ..engine.errors import UserError
from ..engine.inputs import PinnedImageProblem, file_sha256, pin_inputs
from ..engine.job import Job
from . import job_actions
from .background import Tasks
from .extend_dialog import ExtendDialog
from .generation import GenerationController
from .image_drop import IMAGE_SUFFIXES
from .playback import Playback
from .timeline_model import CANCELLED, FINISHED, TimelineModel

log = logging.getLogger(__name__)


class NeverLoseWork(QObject):
    """Continue unfinished or stopped jobs, redo sections, switch takes, extend, continue from a frame."""

    errorRaised = Signal(str)
    statusChanged = Signal(str)
    runStarting = Signal()                  # a job is about to run now (the window follows it)
    formRequested = Signal(object)          # a Job to put in the form (continue from a frame)
    unfinishedFound = Signal(list)          # UnfinishedJob records to offer

    def __init__(self, parent: QWidget, model: TimelineModel, generation: GenerationController, playback: Playback,
                 tasks: Tasks, outputs: Callable[[], Path], inputs_dir: Path, models_ready: Callable[[], bool]):
        super().__init__(parent)
        self.parent_widget = parent
        self.model, self.generation, self.playback = model, generation, playback
        self.tasks = tasks                  # disk work off the GUI thread (the scan, the take headers)
        self.outputs, self.inputs_dir, self.models_ready = outputs, inputs_dir, models_ready
        self.takes: dict[int, list] = {}     # section -> its takes in the shown job's folder

    # ----- disk work off the GUI thread -----
    @staticmethod
    def _expected(error: BaseException, what: str) -> None:
        """A disk problem (a folder gone, a damaged file) leaves the window as it was and is logged;
        anything else is a bug and is raised again, to the crash reporter."""
        if not isinstance(error, (UserError, OSError)):
            raise error
        log.warning("could not %s: %s", what, error)

    # ----- unfinished and stopped jobs -----
    def offer_unfinished(self) -> None:
        """Look for the job folders a crash, Stop or failure left unfinished (not those queued): it
        hashes every input image, so it runs off the GUI thread; `unfinishedFound` says the result."""
        queued = self.generation.queue.jobs + [j for j in [self.generation.queue.running] if j]
        self.tasks.run(job_actions.unfinished_jobs, self.outputs(), queued, returned=self._unfinished,
                            errored=self._unfinished_failed)

    @Slot(object)
    def _unfinished(self, found: tuple[list, list]) -> None:
        jobs, unreadable = found
        for job_dir, why in unreadable:
            log.warning("could not read the job folder %s: %s", job_dir, why)
        if unreadable:
            names = ", ".join(Path(d).name for d, _ in unreadable)
            self.statusChanged.emit(f"Could not read {len(unreadable)} job folder{'s' * (len(unreadable) > 1)} "
                                    f"in the outputs folder ({names}): see the log for why.")
        self.unfinishedFound.emit(jobs)

    @Slot(object)
    def _unfinished_failed(self, error: BaseException) -> None:
        self._expected(error, "look for unfinished jobs")

    @Slot(object)
    def continue_unfinished(self, unfinished) -> None:
        """Run an unfinished job again: the engine keeps its finished sections."""
        self._run_now(unfinished.job, f"Continuing {Path(unfinished.job.output).name}")

    @Slot()
    def continue_stopped(self) -> None:
        """Go on with the job on the stage: a stopped one where it stopped, or a finished one whose
        job was changed there (a keyframe moved): the engine keeps every section whose fingerprint
        still matches and makes only the others."""
        job = self.model.job
        if job is None:
            return
        if self.model.phase == CANCELLED:
            self._run_now(job, f"Continuing {Path(job.output).name}")
        elif self.model.has_changed_sections():
            self._run_now(job, f"Making the changed sections of {Path(job.output).name}")

    def _run_now(self, job: Job, message: str) -> None:
        if not self.models_ready():
            return
        job = self._with_images_found(job)
        if job is None:
            return
        self.runStarting.emit()
        self.generation.generate(job)
        self.statusChanged.emit(message)

    def _with_images_found(self, job: Job) -> Job | None:
        """`job` with its input images where they are now: when one is gone or changed since the job
        started, the user is asked for the file. The same picture keeps every saved section; another
        one is sampled anew (as `resume --image` does), the saved sections staying as takes. None
        when they choose no file, after saying why the job cannot go on."""
        while True:
            try:
                pin_inputs(job)
                return job
            except PinnedImageProblem as e:
                recorded = getattr(job, f"{e.field}_sha256")
                chosen = self.ask_image_file(str(e), getattr(job, e.field))
                if not chosen:
                    self.errorRaised.emit(str(e))
                    return None
                job = job.replace(**{e.field: str(Path(chosen).absolute())})
                if Path(chosen).is_file() and file_sha256(chosen) != recorded:
                    self.statusChanged.emit(f"{Path(chosen).name} is another picture than this job started from: "
                                            "every section is sampled again (the saved ones stay as takes).")

    def ask_image_file(self, problem: str, old_path: str) -> str | None:
        """Where an input image of a job is now, or None. Tests replace this with an answer."""
        box = QMessageBox(QMessageBox.Icon.Warning, "Input image not found", problem,
                          QMessageBox.StandardButton.Cancel, self.parent_widget)
        choose = box.addButton("Choose the file…", QMessageBox.ButtonRole.AcceptRole)
        box.exec()
        clicked = box.clickedButton()
        box.deleteLater()
        if clicked is not choose:
            return None
        start = Path(old_path).parent if Path(old_path).parent.is_dir() else Path.home()
        path, _ = QFileDialog.getOpenFileName(self.parent_widget, "Where is this job's image now?", str(start),
                                              f"Images ({' '.join('*' + s for s in sorted(IMAGE_SUFFIXES))})")
        return path or None

    # ----- takes -----
    def refresh_takes(self) -> None:
        """Count each section's takes in the job folder (a takes menu where there are several); the
        headers are read off the GUI thread."""
        job = self.model.job
        if job is None:
            self._show_takes({})
            return
        self.tasks.run(_takes_of, job, returned=self._takes_found, errored=self._takes_failed)

    @Slot(object)
    def _takes_found(self, job_and_takes: tuple) -> None:
        job, found = job_and_takes
        if job == self.model.job:           # not a job shown before this one
            self._show_takes(found)

    @Slot(object)
    def _takes_failed(self, error: BaseException) -> None:
        self._expected(error, "list the takes")
        self._show_takes({})

    def _show_takes(self, found: dict) -> None:
        self.takes = found
        self.model.set_takes({s: len(t) for s, t in found.items()})

    def _has_job_folder(self) -> bool:
        return (not self.generation.running and self.model.job is not None
                and self.model.phase in (FINISHED, CANCELLED))

    def section_menu(self, section: int) -> QMenu:
        """The right-click menu of a section block: redo it, keep another take, branch from here."""
        menu = QMenu(self.parent_widget)
        usable = self._has_job_folder()
        for label, slot in (("Redo with new seed", lambda: self.redo_section(section)),
                            ("Redo with another prompt…", lambda: self.redo_section_prompt(section))):
            action = menu.addAction(label, slot)
            action.setEnabled(usable)
        takes = self.takes.get(section, [])
        if usable and len(takes) > 1:
            sub = menu.addMenu(f"Takes of section {section + 1} ({len(takes)})")
            for k, take in enumerate(takes):
                when = time.strftime("%H:%M", time.localtime(take.created))
                prompt = take.prompt if len(take.prompt) <= 40 else take.prompt[:39] + "…"
                label = f"Take {k + 1} · seed {take.seed} · {when} · {prompt}"
                action = sub.addAction(label if take.active else f"Keep this take: {label}",
                                       lambda t=take: self.keep_take(t))
                action.setCheckable(True)
                action.setChecked(take.active)
                action.setEnabled(not take.active)
            sub.addSeparator()
            sub.addAction("Delete the takes this video does not use…", self.prune_takes)
        menu.addSeparator()
        frame = menu.addAction("Continue from this frame", self.continue_from_frame)
        frame.setEnabled(usable and self.model.is_ready(self.playback.position))
        return menu

    @Slot(int, QPoint)
    def show_section_menu(self, section: int, pos: QPoint) -> None:
        menu = self.section_menu(section)
        menu.aboutToHide.connect(menu.deleteLater)
        menu.popup(pos)

    def redo_section(self, section: int, seed: int | None = None, prompt: str | None = None) -> None:
        """Run the job again with `section` redone (the sections sampled after it follow)."""
        if not self._has_job_folder():
            return
        try:
            job = job_actions.redo_job(self.model.job, section, seed, prompt)
        except UserError as e:
            self.errorRaised.emit(str(e))
            return
        self._run_now(job, f"Redoing section {section + 1} of {Path(job.output).name}")

    def redo_section_prompt(self, section: int) -> None:
        view = self.model.sections[section]
        prompt = self.ask_section_prompt(section, view.prompt)
        if prompt and prompt.strip() and prompt.strip() != view.prompt.strip():
            self.redo_section(section, prompt=prompt.strip())

    def ask_section_prompt(self, section: int, current: str) -> str | None:
        """The new prompt for one section, or None. Tests replace this with an answer."""
        text, ok = QInputDialog.getMultiLineText(self.parent_widget, f"Redo section {section + 1}",
                                                 "Prompt for this section:", current)
        return text if ok else None

    def keep_take(self, take) -> None:
        """Use an earlier take of a section: the job is rebuilt from saved sections, no sampling."""
        if not self._has_job_folder():
            return
        try:
            job = job_actions.job_keeping(self.model.job, take)
        except (UserError, OSError) as e:
            self.errorRaised.emit(str(e))
            return
        self._run_now(job, f"Keeping take seed {take.seed} of section {take.section + 1}")

    def prune_takes(self) -> None:
        """Delete every take of every section that the video shown does not use (after asking)."""
        if not (self._has_job_folder() and self.confirm_prune()):
            return
        try:
            files, freed = job_actions.prune(self.model.job)
        except (UserError, OSError) as e:
            self.errorRaised.emit(str(e))
            return
        self.refresh_takes()
        self.statusChanged.emit(f"Deleted {files} take{'' if files == 1 else 's'} ({freed / 1e6:.1f} MB)")

    def confirm_prune(self) -> bool:
        """Whether the user agrees to delete the unused takes. Tests replace this with an answer."""
        answer = QMessageBox.question(
            self.parent_widget, "Delete takes", "Delete every take of every section that this video does not use?\n\n"
            "The video and the takes it is made of stay; the others cannot be chosen again.")
        return answer == QMessageBox.StandardButton.Yes

    # ----- going on from a video -----
    def ask_extension(self) -> tuple[float, str] | None:
        """(seconds, prompt) to extend the video by, or None. Tests replace this with an answer."""
        dialog = ExtendDialog(Path(self.model.video or "").name, self.parent_widget)
        accepted = dialog.exec()
        dialog.deleteLater()
        return dialog.choice() if accepted else None

    @Slot()
    def extend_video(self) -> None:
        """Add seconds to the finished video shown (an F1 extension job, run now)."""
        if not (self._has_job_folder() and self.model.phase == FINISHED):
            self.errorRaised.emit("Extend works on a finished video: generate one, or open one from the history.")
            return
        answer = self.ask_extension()
        if answer is None:
            return
        taken = {j.output for j in self.generation.queue.jobs}
        try:
            job = job_actions.extension(self.model.job, answer[0], answer[1], taken)
        except UserError as e:
            self.errorRaised.emit(str(e))
            return
        self._run_now(job, f"Extending {Path(self.model.job.output).name} by {answer[0]:g} s")

    def ask_continuation(self, name: str) -> tuple[float, str] | None:
        """(seconds, prompt) to continue a dropped clip by, or None. Tests replace this with an answer."""
        dialog = ExtendDialog(name, self.parent_widget)
        accepted = dialog.exec()
        dialog.deleteLater()
        return dialog.choice() if accepted else None

    def continue_clip(self, clip: Path, settings: Job) -> None:
        """Continue any video (a dropped clip) with the form's settings: an F1 job, run now."""
        answer = self.ask_continuation(clip.name)
        if answer is None:
            return
        taken = {j.output for j in self.generation.queue.jobs}
        try:
            job = job_actions.clip_continuation(settings, clip, answer[0], answer[1], Path(self.outputs()), taken)
        except UserError as e:
            self.errorRaised.emit(str(e))
            return
        self._run_now(job, f"Continuing {clip.name} by {answer[0]:g} s")

    @Slot()
    def continue_from_frame(self) -> None:
        """The frame at the playhead becomes the start image of a new job in the form."""
        frame = self.playback.position
        if not (self._has_job_folder() and self.model.is_ready(frame)):
            self.errorRaised.emit("Move the playhead onto a generated frame of a finished or stopped video first.")
            return
        try:
            job = job_actions.from_frame(self.model.job, frame, self.inputs_dir)
        except (UserError, OSError) as e:
            self.errorRaised.emit(str(e))
            return
        self.formRequested.emit(job)
        self.statusChanged.emit(f"Frame {frame + 1} is the new start image: press Generate to go on from it.")


def _takes_of(job: Job) -> tuple[Job, dict]:
    """A job's takes, with the job they belong to (the window may show another by the time they arrive)."""
    return job, job_actions.takes(job)
