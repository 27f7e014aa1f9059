"""The GPU suite's results in words: the plan, the Markdown table and the one-screen summary."""
from __future__ import annotations


def _pct(x) -> str:
    return "-" if x is None else f"{100 * x:.1f}%"


def _s(x, digits: int = 3) -> str:
    return "-" if x is None else f"{x:.{digits}f}"


def _gb(x) -> str:
    return "-" if x is None else f"{x:.2f} GB"


def _run(r: dict) -> str:
    skipped = f", skipped {r['skipped_steps']}/{r['steps']}" if r.get("skipped_steps") else ""
    return (f"{_s(r.get('s_per_it'))} s/it (effective {_s(r.get('effective_s_per_it'))}), "
            f"MFU {_pct(r.get('mfu'))}{skipped}")


def headline(key: str, r: dict) -> str:
    """The figures of one item's result, in one line."""
    if key == "environment":
        return (f"{r['device']}, driver {r.get('driver') or '-'}, CUDA {r.get('cuda') or '-'}, torch {r['torch']}, "
                f"diffusers {r['diffusers']}")
    if key == "wheels":
        return ", ".join(r["wheels"])
    if key == "build":
        return (f"{r['params_b']:.2f}B params in {r['build_s']:.1f} s; {r['tokens']} tokens, "
                f"{r['tflop_per_call']:.1f} TFLOP/call")
    if key == "compile":
        eager = f"; {r['vs_eager']:.2f}x eager" if "vs_eager" in r else ""
        return f"compile {r['compile_s']:.1f} s; " + _run(r) + eager
    if key == "bf16":
        return _run(r) + (f"; {r['vs_pipeline']:.2f}x diffusers' pipeline" if "vs_pipeline" in r else "")
    if key == "fp8_compute":
        check = r["check"]
        if not check.get("offered"):
            return f"not offered: {check.get('why') or 'quality check failed'}" + (
                f" (relative error {check['relative_error']:.4f})" if "relative_error" in check else "")
        return f"relative error {check['relative_error']:.4f} (limit {check['threshold']:g}); " + _run(r) + (
            f"; {r['vs_bf16']:.2f}x bf16" if "vs_bf16" in r else "")
    if key == "fp8_storage":
        return f"weights {_gb(r['weights_gb'])}; " + _run(r)
    if key in ("magcache_calibration", "magcache_command"):
        first = " ".join(f"{x:.3f}" for x in r["ratios"][:8])
        return f"{len(r['ratios'])} ratios in {r['seconds']:.1f} s: {first} ..."
    if key == "attention":
        return "; ".join(f"{b['backend']} {_s(b['s_per_it'])} s/it" if b["usable"] else f"{b['backend']} no"
                         for b in r["backends"])
    if key == "group_offload":
        return "; ".join(f"{c['cap_gb'] or 'no'} GB cap: " + (c["error"] if "error" in c else
                         f"{_s(c['s_per_it'])} s/it, peak {_gb(c.get('peak_vram_gb'))}") for c in r["caps"])
    if key == "jobs":
        jobs = "; ".join(f"{j['seconds']:g} s ({j['sections']} sections): peak {_gb(j.get('peak_vram_gb'))}, "
                         f"latency {_s(j['median_latency_s'], 2)} s" for j in r["jobs"])
        return jobs + f"; change {_pct(r['vram_change'])}"
    if key == "vae_decode":
        w = r["warm"]
        return (f"{r['frames']} frames: decode {w['decode_s']:.2f} s warm ({r['first']['decode_s']:.2f} first), "
                f"to store {w['to_store_s']:.2f} s, latency {w['latency_s']:.2f} s")
    if key == "vram_meter":
        h = r["holding_1gb"]
        return (f"meter ({h['meter_source']}) {h['meter_used_gb']:.2f} GB, "
                f"torch device {h['torch_device_used_gb']:.2f} GB, "
                f"NVML {_s(h['nvml_used_gb'], 2)} GB; +1 GB read as +{r['meter_rise_gb']:.2f} GB")
    if key in ("int8", "nf4", "gguf"):
        return (f"{r['blocks']} blocks: load {r['load_s']:.1f} s, call {r['call_s']:.3f} s, "
                f"error vs bf16 {r['relative_error_vs_bf16']:.4f}")
    if "s_per_it" in r:
        return _run(r)
    return ", ".join(f"{k} {v}" for k, v in r.items())[:200]


def _line(record: dict) -> str:
    if record["status"] == "ok":
        try:
            return headline(record["key"], record["result"])
        except (KeyError, TypeError, ValueError) as e:
            return f"(result not summarised: {type(e).__name__}: {e})"
    return record.get("why") or record.get("error") or ""


def markdown(result: dict) -> str:
    lines = [f"GPU suite, {result['date']}, {result['scale']}: "
             f"{result['wall_s']:.0f} s of a {result['budget_s']:.0f} s budget",
             "", "| item | status | seconds | figures |", "|---|---|---:|---|"]
    for r in result["items"]:
        lines.append(f"| {r['title']} | {r['status']} | {r.get('seconds', 0):.1f} | {_line(r).replace('|', '/')} |")
    return "\n".join(lines)


def summary(result: dict) -> str:
    """One screen: a line per item, then the counts and where the files are."""
    lines = [f"GPU suite ({result['scale']}): {result['wall_s']:.0f} s of {result['budget_s']:.0f} s"]
    for r in result["items"]:
        lines.append(f"{r['status']:<11} {r['key']:<21} {r.get('seconds', 0):6.1f}s  {_line(r)}"[:150])
    counts = {}
    for r in result["items"]:
        counts[r["status"]] = counts.get(r["status"], 0) + 1
    lines.append(", ".join(f"{n} {s}" for s, n in counts.items())
                 + (f"; written to {result['written']}.json/.md" if "written" in result else ""))
    return "\n".join(lines)


def plan_table(rig, items) -> str:
    """The items in order with their expected seconds at full size (counted FLOPs, assumed MFU)."""
    from .suite_rig import ASSUMED_MFU, H100_BF16_TFLOPS

    peak = rig.peak / 1e12 if rig.peak else H100_BF16_TFLOPS
    lines = [f"{rig.tokens.joint} tokens per call, {rig.flops / 1e12:.0f} TFLOP per call; at {peak:.0f} TFLOP/s "
             f"and {ASSUMED_MFU:.0%} MFU: {rig.step_s():.2f} s per transformer call", "",
             "| # | item | expected s |", "|---:|---|---:|"]
    total = 0.0
    for i, item in enumerate(items, 1):
        cost = item.cost(rig)
        total += cost
        lines.append(f"| {i} | {item.title} | {cost:.0f} |")
    lines.append(f"| | total | {total:.0f} ({total / 60:.1f} min) |")
    return "\n".join(lines)
