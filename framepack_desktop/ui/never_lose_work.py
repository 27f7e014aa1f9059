"""The window's "never lose work" commands: continue, redo a section, takes, extend, branch.

A mixin of `MainWindow`, kept apart so the window module stays about layout and wiring. It uses
the window's model (`self.model`), controller, playback and banner; the Jobs themselves are built
by `job_actions`, which the engine backs.
"""
from __future__ import annotations

import logging
import time
from pathlib import Path

from PySide6.QtCore import QPoint, Slot
from PySide6.QtWidgets import QInputDialog, QMenu, QMessageBox

from ..engine.errors import UserError
from ..engine.job import Job
from . import job_actions
from .extend_dialog import ExtendDialog
from .timeline_model import CANCELLED, FINISHED

log = logging.getLogger(__name__)


class NeverLoseWork:
    """Continue unfinished or stopped jobs, redo sections, switch takes, extend, continue from a frame."""

    def offer_unfinished(self) -> None:
        """Offer the job folders a crash, Stop or failure left unfinished (not those queued)."""
        queued = self.controller.queue.jobs + [j for j in [self.controller.queue.running] if j]
        try:
            jobs = job_actions.unfinished_jobs(self.settings.output_folder(self.paths), queued)
        except OSError as e:
            log.warning("could not look for unfinished jobs: %s", e)
            return
        self.stage.resume.set_jobs(jobs)

    @Slot(object)
    def continue_unfinished(self, unfinished) -> None:
        """Run an unfinished job again: the engine keeps its finished sections."""
        self._run_now(unfinished.job, f"Continuing {Path(unfinished.job.output).name}")

    @Slot()
    def continue_stopped(self) -> None:
        if self.model.job is not None and self.model.phase == CANCELLED:
            self._run_now(self.model.job, f"Continuing {Path(self.model.job.output).name}")

    def _run_now(self, job: Job, message: str) -> None:
        if not self._models_ready():
            return
        self.stage.banner.dismiss()
        self._follow = True
        self.controller.generate(job)
        self.status_text.setText(message)

    def refresh_takes(self) -> None:
        """Count each section's takes in the job folder (a takes menu where there are several)."""
        job = self.model.job
        try:
            found = job_actions.takes(job) if job is not None else {}
        except (UserError, OSError) as e:
            log.warning("could not list the takes of %s: %s", job.job_dir, e)
            found = {}
        self._takes = found
        self.model.set_takes({s: len(t) for s, t in found.items()})

    def _has_job_folder(self) -> bool:
        return (not self.controller.running and self.model.job is not None
                and self.model.phase in (FINISHED, CANCELLED))

    def section_menu(self, section: int) -> QMenu:
        """The right-click menu of a section block: redo it, keep another take, branch from here."""
        menu = QMenu(self)
        usable = self._has_job_folder()
        for label, slot in (("Redo with new seed", lambda: self.redo_section(section)),
                            ("Redo with another prompt…", lambda: self.redo_section_prompt(section))):
            action = menu.addAction(label, slot)
            action.setEnabled(usable)
        takes = self._takes.get(section, [])
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
    def _section_menu_at(self, section: int, pos: QPoint) -> None:
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
            self.show_error(str(e))
            return
        self._run_now(job, f"Redoing section {section + 1} of {Path(job.output).name}")

    def redo_section_prompt(self, section: int) -> None:
        view = self.model.sections[section]
        prompt = self.ask_section_prompt(section, view.prompt)
        if prompt and prompt.strip() and prompt.strip() != view.prompt.strip():
            self.redo_section(section, prompt=prompt.strip())

    def ask_section_prompt(self, section: int, current: str) -> str | None:
        """The new prompt for one section, or None. Tests replace this with an answer."""
        text, ok = QInputDialog.getMultiLineText(self, f"Redo section {section + 1}",
                                                 "Prompt for this section:", current)
        return text if ok else None

    def keep_take(self, take) -> None:
        """Use an earlier take of a section: the job is rebuilt from saved sections, no sampling."""
        if not self._has_job_folder():
            return
        try:
            job = job_actions.job_keeping(self.model.job, take)
        except (UserError, OSError) as e:
            self.show_error(str(e))
            return
        self._run_now(job, f"Keeping take seed {take.seed} of section {take.section + 1}")

    def prune_takes(self) -> None:
        """Delete every take of every section that the video shown does not use (after asking)."""
        if not (self._has_job_folder() and self.confirm_prune()):
            return
        try:
            files, freed = job_actions.prune(self.model.job)
        except (UserError, OSError) as e:
            self.show_error(str(e))
            return
        self.refresh_takes()
        self.status_text.setText(f"Deleted {files} take{'' if files == 1 else 's'} ({freed / 1e6:.1f} MB)")

    def confirm_prune(self) -> bool:
        """Whether the user agrees to delete the unused takes. Tests replace this with an answer."""
        answer = QMessageBox.question(
            self, "Delete takes", "Delete every take of every section that this video does not use?\n\n"
            "The video and the takes it is made of stay; the others cannot be chosen again.")
        return answer == QMessageBox.StandardButton.Yes

    def ask_extension(self) -> tuple[float, str] | None:
        """(seconds, prompt) to extend the video by, or None. Tests replace this with an answer."""
        dialog = ExtendDialog(Path(self.model.video or "").name, self)
        accepted = dialog.exec()
        dialog.deleteLater()
        return dialog.choice() if accepted else None

    @Slot()
    def extend_video(self) -> None:
        """Add seconds to the finished video shown (an F1 extension job, run now)."""
        if not (self._has_job_folder() and self.model.phase == FINISHED):
            self.show_error("Extend works on a finished video: generate one, or open one from the history.")
            return
        answer = self.ask_extension()
        if answer is None:
            return
        taken = {j.output for j in self.controller.queue.jobs}
        try:
            job = job_actions.extension(self.model.job, answer[0], answer[1], taken)
        except UserError as e:
            self.show_error(str(e))
            return
        self._run_now(job, f"Extending {Path(self.model.job.output).name} by {answer[0]:g} s")

    @Slot()
    def continue_from_frame(self) -> None:
        """The frame at the playhead becomes the start image of a new job in the form."""
        frame = self.playback.position
        if not (self._has_job_folder() and self.model.is_ready(frame)):
            self.show_error("Move the playhead onto a generated frame of a finished or stopped video first.")
            return
        try:
            job = job_actions.from_frame(self.model.job, frame, self.paths.inputs_dir)
        except (UserError, OSError) as e:
            self.show_error(str(e))
            return
        self.apply_job(job)
        self.status_text.setText(f"Frame {frame + 1} is the new start image: press Generate to go on from it.")
