"""Command line: the window by default, or a headless subcommand.

    framepack-desktop                      open the window
    framepack-desktop render ...           generate a video without a window
    framepack-desktop resume JOB_DIR       continue an interrupted job
    framepack-desktop extend VIDEO.mp4 --seconds N --out OUT.mp4
                                           add N seconds to a finished video (F1)
    framepack-desktop takes JOB_DIR        list every sampled version of each section
    framepack-desktop models list|download|verify|demo   see, fetch and check models
    framepack-desktop loras list           the LoRA folder: name, format, rank, layers, size
    framepack-desktop post IN --out OUT ...  interpolate, upscale, loop, trim, export a video

Heavy imports (torch, Qt) happen inside the subcommands, so `--help` is instant.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from .engine.choices import BACKGROUNDS, MEMORY_MODES, PRECISIONS, RESOLUTIONS, SAMPLERS, STEP_CACHES, VARIANTS

EXIT_OK, EXIT_FAILED, EXIT_CANCELLED = 0, 1, 130


def _teacache(value: str) -> float:
    if value.lower() in ("off", "none", "0"):
        return 0.0
    try:
        return float(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{value}' is not a threshold: use a number like 0.15, or 'off'") from None


def _options(names, default) -> str:
    """'a, b (default) or c': a choice's options for --help, from its registry."""
    shown = [f"{n} (default)" if n == default else str(n) for n in names]
    return ", ".join(shown[:-1]) + " or " + shown[-1]


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="framepack-desktop", description="Image + prompt to video with FramePack.")
    sub = p.add_subparsers(dest="command")

    r = sub.add_parser("render", help="generate a video headless")
    r.add_argument("--from", dest="from_file", help="take the settings of a video (MP4) or job JSON made by this app")
    r.add_argument("--image", action="append",
                   help="start image; a folder or several --image make a batch (one job each)")
    r.add_argument("--video", help="continue this video (MP4, MOV, WebM, MKV...) with the F1 model")
    r.add_argument("--context-frames", dest="context_frames", type=int,
                   help="how many of the video's last frames the model sees (default: as many as its history holds, 73)")
    r.add_argument("--no-join", dest="join", action="store_false", default=None,
                   help="write only the new part, not the video followed by it")
    r.add_argument("--background", help="text only (no image): start from " + _options(BACKGROUNDS.names, "black"))
    r.add_argument("--keyframe", dest="keyframes", action="append", metavar="TIME=IMAGE",
                   help="steer the video towards IMAGE from TIME seconds on (original model; repeatable)")
    r.add_argument("--prompt-blend", dest="prompt_blend", type=int, metavar="N",
                   help="blend a timed prompt into the next over N sections instead of switching at once")
    r.add_argument("--prompts", dest="prompts_file", help="a text file, one prompt per line: a batch, one job each")
    r.add_argument("--seeds", type=int, help="N variations (seeds seed .. seed+N-1): a batch, one job each")
    r.add_argument("--prompt", help="prompt; lines like '[2.5s] turns around' change it over time")
    r.add_argument("--end-image", dest="end_image", help="optional end image (original model only)")
    r.add_argument("--negative-prompt", dest="negative_prompt")
    r.add_argument("--seconds", type=float)
    r.add_argument("--variant", help=_options(VARIANTS.names, "original"))
    r.add_argument("--resolution", type=int, help="resolution class: " + _options(RESOLUTIONS, 640))
    r.add_argument("--steps", type=int)
    r.add_argument("--gs", type=float, help="distilled guidance (default 10)")
    r.add_argument("--cfg", type=float, help="real CFG scale (default 1 = off)")
    r.add_argument("--rescale", type=float, help="CFG rescale (default 0)")
    r.add_argument("--window", type=int, help="latent window size (default 9)")
    r.add_argument("--seed", type=int)
    r.add_argument("--sampler", help=_options(SAMPLERS.names, "unipc"))
    r.add_argument("--teacache", type=_teacache, help="step-cache threshold (default 0.15) or 'off'")
    r.add_argument("--step-cache", dest="step_cache", choices=STEP_CACHES,
                   help="skip steps that change little: teacache (default), magcache (calibrate first: "
                        "models calibrate-magcache), fbcache (first-block cache) or off")
    r.add_argument("--step-cache-threshold", dest="step_cache_threshold", type=float,
                   help="the step cache's threshold: higher skips more (0 = exact; defaults teacache 0.15, "
                        "magcache 0.06, fbcache 0.05)")
    r.add_argument("--crf", type=int, help="H.264 quality, lower is better (default 16)")
    r.add_argument("--models", help="'demo' or a models folder")
    r.add_argument("--precision", help=", ".join(PRECISIONS))
    r.add_argument("--memory", help=", ".join(MEMORY_MODES))
    r.add_argument("--keep-free-gb", dest="keep_free_gb", type=float, help="GPU memory to keep free (default 6)")
    r.add_argument("--device", help="auto (default), cpu, cuda, cuda:1 ...")
    r.add_argument("--attention", help="attention kernel: auto (default: the fastest that works), native, "
                                       "flash, sage, ...")
    r.add_argument("--compile", action=argparse.BooleanOptionalAction, default=None,
                   help="compile the transformer blocks with torch.compile (faster; the first run waits "
                        "while the blocks compile, later runs reuse the kernels)")
    r.add_argument("--fp8-compute", dest="fp8_compute", action=argparse.BooleanOptionalAction, default=None,
                   help="fp8 matmuls on Ada/Hopper/Blackwell GPUs (faster, slightly different result)")
    r.add_argument("--lora", action="append", metavar="PATH[:WEIGHT]",
                   help="apply a LoRA (repeatable; weight default 1, may be negative); replaces the LoRAs of --from")
    r.add_argument("--out", dest="output", help="output MP4 (with --from and no --out: a new file in your videos "
                                                "folder, never the path the file names)")
    r.add_argument("--overwrite", action="store_true", help="replace the output if it exists")

    s = sub.add_parser("resume", help="continue an interrupted job from its folder")
    s.add_argument("job_dir", help="the job's folder (<video>.job beside the output)")
    s.add_argument("--image", help="the start image, when it was moved (the same picture keeps every saved section)")
    s.add_argument("--end-image", dest="end_image", help="the end image, when it was moved")
    s.add_argument("--overwrite", action="store_true", help="write the video again if it exists")

    e = sub.add_parser("extend", help="add seconds to a finished video, continuing it with the F1 model")
    e.add_argument("video", help="a video made by this app (its .job folder beside it), or a job folder")
    e.add_argument("--seconds", type=float, required=True, help="how many seconds to add")
    e.add_argument("--prompt", help="what happens next (default: the prompt at the end of the video)")
    e.add_argument("--seed", type=int)
    e.add_argument("--steps", type=int)
    e.add_argument("--models", help="'demo' or a models folder (default: the video's)")
    e.add_argument("--out", dest="output", required=True, help="output MP4: the old video plus the new part")
    e.add_argument("--overwrite", action="store_true", help="replace the output if it exists")

    t = sub.add_parser("takes", help="list every sampled version (take) of each section of a job")
    t.add_argument("job_dir", help="the job's folder (<video>.job beside the output)")
    t.add_argument("--prune", action="store_true",
                   help="delete every take the current video does not use (its own sections stay)")

    from .cli_models import add_models_commands
    from .cli_post import add_post_command
    from .loras_cli import add_loras_commands

    add_models_commands(sub)
    add_loras_commands(sub)
    add_post_command(sub)
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(sys.argv[1:] if argv is None else argv)
    if args.command is None:
        from .ui.main_window import run_gui

        return run_gui(sys.argv if argv is None else ["framepack-desktop", *argv])
    from .engine.errors import UserError, is_out_of_ram

    try:
        if args.command == "render":
            return _render(args)
        if args.command == "resume":
            return _resume(args)
        if args.command == "extend":
            return _extend(args)
        if args.command == "takes":
            return _takes(Path(args.job_dir), args.prune)
        if args.command == "models":
            from .cli_models import run_models_command

            return run_models_command(args)
        if args.command == "loras":
            from .loras_cli import run_loras_command

            return run_loras_command(args)
        if args.command == "post":
            from .cli_post import run_post_command

            return run_post_command(args)
    except UserError as e:
        print(f"error: {e}", file=sys.stderr)
        return EXIT_FAILED
    except (MemoryError, ImportError) as e:
        if not is_out_of_ram(e):
            raise
        print("error: The computer ran out of memory (RAM) while loading PyTorch and the models' code "
              f"({e}). Close other programs, or raise the memory limit this command runs under.", file=sys.stderr)
        return EXIT_FAILED
    return EXIT_FAILED


def _keyframes(specs: list[str] | None) -> dict[float, str]:
    from .engine.errors import BadSettings

    out = {}
    for spec in specs or []:
        time, sep, image = spec.partition("=")
        try:
            out[float(time)] = image
        except ValueError:
            sep = ""
        if not sep or not image:
            raise BadSettings(f"--keyframe '{spec}' is not TIME=IMAGE: write e.g. --keyframe 2.5=pose.png.")
    return out


def _jobs_from_args(args) -> list:
    """The jobs a render command asks for: one, or a batch (several images, prompts or seeds).

    A file read with --from never chooses where to write (a shared video names any path it likes):
    the output is --out, or a new name in the user's videos folder.
    """
    from .engine.any_video import video_job
    from .engine.batch import batch_jobs, images_of, read_prompts
    from .engine.errors import BadSettings
    from .engine.job import Job
    from .engine.jobfile import read_job
    from .engine.outputs import fresh_output
    from .engine.paths import AppPaths

    batch = ("command", "from_file", "image", "keyframes", "prompts_file", "seeds", "overwrite")
    given = {k: v for k, v in vars(args).items() if k not in batch and v is not None}
    given.update({k: _absolute(given[k]) for k in ("end_image", "output", "video") if k in given})
    if args.keyframes:
        given["keyframes"] = {t: _absolute(path) for t, path in _keyframes(args.keyframes).items()}
    if "lora" in given:
        from .loras_cli import loras_from_args

        given["loras"] = loras_from_args(given.pop("lora"))
    prompts = read_prompts(args.prompts_file) if args.prompts_file else None
    # A new render from a file: its images are pinned again when it runs, whatever the file recorded.
    base = read_job(Path(args.from_file)).replace(image_sha256="", end_image_sha256="") if args.from_file else None
    # TeaCache keeps its threshold in the `teacache` field (job files from before the choice existed).
    kind = given.get("step_cache", base.step_cache if base else "teacache")
    if kind == "teacache" and "step_cache_threshold" in given:
        given["teacache"] = given.pop("step_cache_threshold")
    if base:
        if "output" not in given:
            source = Path(args.from_file)
            stem = source.name[:-len(".job")] if source.name.endswith(".job") else source.stem
            given["output"] = str(fresh_output(AppPaths.default().outputs_dir, stem))
            print(f"writing {given['output']}", file=sys.stderr)
        job = base.replace(**given)
        if any(r.active for r in job.loras):
            from .engine.lora_ref import relocate
            from .settings import lora_folders

            job = job.replace(loras=relocate(job.loras, lora_folders()))  # moved files found by hash
    else:
        required = ("output",) if prompts else ("prompt", "output")
        for name in required:
            if name not in given:
                flag = "--out" if name == "output" else f"--{name}"
                raise BadSettings(f"{flag} is required (or take all settings from a video with --from VIDEO.mp4).")
        job = Job(**{"image": "", "prompt": "", **given})
    if job.video:
        job = video_job(job)
    images = [_absolute(i) for i in images_of(args.image)] if args.image else None
    jobs = [each.validate() for each in batch_jobs(job, images, prompts, args.seeds or 1)]
    if not any(j.image or j.video for j in jobs):
        print(f"no start image: text only, starting from a {job.background} background", file=sys.stderr)
    return jobs


def _absolute(path: str) -> str:
    """A path as the job stores it: absolute, so the job means the same files from any folder."""
    return str(Path(path).expanduser().absolute())


def _render(args) -> int:
    from .engine.outputs import check_output

    jobs = _jobs_from_args(args)
    sources = (args.from_file,) if args.from_file else ()
    for job in jobs:                      # every output checked before the first job runs
        check_output(job, args.overwrite, sources)
    code = EXIT_OK
    for k, job in enumerate(jobs, start=1):
        if len(jobs) > 1:
            print(f"job {k} of {len(jobs)}: {job.output}", file=sys.stderr)
        result = _run(job)
        if result == EXIT_CANCELLED:
            return result
        code = max(code, result)
    return code


def _resume(args) -> int:
    from .engine.errors import BadSettings
    from .engine.jobfolder import load_job
    from .engine.outputs import check_output

    job_dir = Path(args.job_dir)
    if not job_dir.is_dir():
        raise BadSettings(f"'{job_dir}' is not a job folder (the <video>.job folder beside an output).")
    job = load_job(job_dir)
    # An image chosen where it is now: the same picture keeps every section (its bytes, not its path,
    # are in the fingerprint); a new path drops the recorded digest (Job.replace).
    job = job.replace(**{k: _absolute(getattr(args, k)) for k in ("image", "end_image") if getattr(args, k)})
    check_output(job, overwrite=True)
    out = Path(job.output)
    if out.exists() and not args.overwrite:
        raise BadSettings(f"This job is finished: '{out}' exists. Add --overwrite to write it again.")
    return _run(job)


def _extend(args) -> int:
    from .engine.extend import extend_job, extension_base
    from .engine.outputs import check_output

    changes = {k: getattr(args, k) for k in ("seed", "steps", "models") if getattr(args, k) is not None}
    job = extend_job(args.video, args.seconds, _absolute(args.output), prompt=args.prompt, **changes)
    check_output(job, args.overwrite, (args.video,))
    extension_base(job)  # a missing or unfinished job folder is reported before any model loads
    return _run(job)


def _takes(job_dir: Path, prune: bool = False) -> int:
    import time

    from .engine.jobfolder import list_takes, prune_takes
    from .engine.printable import printable

    if prune:
        files, freed = prune_takes(job_dir)
        print(f"deleted {files} take{'' if files == 1 else 's'} the video does not use ({freed / 1e6:.1f} MB)")

    for section, takes in list_takes(job_dir).items():
        print(f"section {section + 1}:" + ("" if takes else " not sampled yet"))
        for take in takes:
            when = time.strftime("%Y-%m-%d %H:%M", time.localtime(take.created))
            mark = "*" if take.active else " "
            print(f"  {mark} seed {take.seed:<10} {when}  {take.fingerprint[:16]}  {printable(take.prompt)}")
    return EXIT_OK


def _run(job) -> int:
    from .cli_progress import Progress, stop_on_ctrl_c
    from .engine import events as ev
    from .engine.runner import run_job

    progress = Progress(sys.stderr)
    code = EXIT_FAILED
    with stop_on_ctrl_c("stopping after this step (Ctrl+C again to abort at once)...") as cancel:
        events = run_job(job, cancel)
        try:
            for event in events:
                progress.show(event)
                if isinstance(event, ev.Finished):
                    code = EXIT_OK
                elif isinstance(event, ev.Cancelled):
                    code = EXIT_CANCELLED
        except KeyboardInterrupt:
            events.close()
            print(f"\naborted; every finished section is kept: framepack-desktop resume \"{job.job_dir}\" continues.",
                  file=sys.stderr)
            code = EXIT_CANCELLED
    return code
