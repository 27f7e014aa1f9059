"""A job's LoRA set checked before anything loads: files found (by content), formats read, the way applied.

The runner calls `prepare_loras` right after the memory plan: a missing file, a file for another model
or one whose keys match nothing stops the job here with a message naming it, before a model is read
(LoRA files are judged from their headers and a `meta` skeleton of the transformer). A file that moved
is found again by its content hash in the LoRA folder, so `render --from`, resume and the queue work
after the LoRA folder was reorganised.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from .errors import BadSettings
from .job import Job
from .lora_ref import LoraRef, relocate
from .paths import AppPaths
from .models.lora_formats import LoraInfo, inspect_lora


@dataclass(frozen=True)
class LoraPlan:
    refs: tuple[LoraRef, ...]
    infos: tuple[LoraInfo, ...]
    method: str

    def summary(self) -> str:
        """One line for the status bar and the log: the active set and how it is applied."""
        active = [r.describe() for r in self.refs if r.active]
        if not active:
            return "No LoRA"
        return f"LoRA: {', '.join(active)}. {self.method}"

    def notes(self) -> list[str]:
        """What the user should know: LoRAs that apply only in part."""
        return [info.describe() for info in self.infos if info.applied < info.layers]


def prepare_loras(job: Job, models_dir: Path, place) -> LoraPlan:
    """The job's LoRAs, each found and judged against the transformer it will be applied to."""
    from .models.lora import lora_method
    from .models.sources import transformer_config

    # The app's default LoRA folder; the CLI and the window relocate with the folder of the
    # settings before a job gets here (settings.lora_folders), the engine reads no settings.
    refs = relocate(job.loras, [AppPaths.default().loras_dir]) if any(r.active for r in job.loras) else job.loras
    config = transformer_config(models_dir, job.variant)
    infos = []
    for ref in refs:
        if not ref.active:
            continue
        info = inspect_lora(ref.path, config)
        if info.refused:
            raise BadSettings(f"The LoRA '{ref.name}' cannot be used: {info.refused}. Remove it from the job.")
        infos.append(info)
    return LoraPlan(refs, tuple(infos), lora_method(place).describe())


def judge_lora(path: str, models: str, variant: str = "original") -> LoraInfo:
    """What the LoRA at `path` is for the transformer of `models` ("demo" or a folder): the window's check
    of a file the user adds, from its header alone (no weights are read)."""
    from .models.loader import resolve_models_dir
    from .models.sources import transformer_config

    return inspect_lora(path, transformer_config(resolve_models_dir(models), variant))
