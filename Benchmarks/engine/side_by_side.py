#!/usr/bin/env python3
"""This engine against onnxruntime on the PyTorch fixture zoo, same machine, same run.

For every model, batch size and intra-op thread count it times onnxruntime (CPU execution
provider, ORT_ENABLE_ALL, intra_op_num_threads = threads, inter_op_num_threads = 1) and the
engine (`tensorwire model bench --json`, at --optimize all and none) on identical inputs with
identical iteration counts, alternating the two in rounds so both see the same machine noise,
and prints median latencies, the ratio engine/onnxruntime (goal <= 0.8) and the fusion speed-up
none/all (goal >= 1.3 for the transformer and CNN families). See Benchmarks/engine/README.md.

Needs Python with numpy and onnxruntime, and a release build of the CLI
(`swift build -c release --product tensorwire`, or `make build`). The Swift tools never need Python.
"""
import argparse
import glob
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
ZOO = os.path.join(ROOT, "Tests", "Fixtures", "zoo")

# Family of each zoo model, and whether the fusion goal (none/all >= 1.3) applies.
FAMILIES = {
    "mlp": "MLP", "lstm_stacked_states": "LSTM", "lstm_last_state": "LSTM", "gru_bidirectional": "GRU",
    "rnn_tanh": "RNN", "cnn1d": "CNN", "cnn2d": "CNN", "conv_autoencoder_1d": "CNN",
    "encoder_padding": "transformer", "encoder_causal": "transformer", "token_classifier": "transformer",
}
FUSION_GOAL_FAMILIES = {"CNN", "transformer"}
DEFAULT_MODELS = ["mlp", "lstm_stacked_states", "cnn2d", "cnn1d", "encoder_padding"]
RATIO_GOAL = 0.8
FUSION_GOAL = 1.3


def fail(message):
    print(f"side_by_side.py: {message}", file=sys.stderr)
    sys.exit(2)


try:
    import numpy as np
    import onnxruntime as ort
except ImportError as error:
    fail(f"needs numpy and onnxruntime importable in this Python ({sys.executable}): {error}\n"
         "  install them with: python3 -m pip install numpy onnxruntime")


def model_path(name, exporter):
    """`mlp` -> the export chosen by --exporter; `mlp_dynamo` / `mlp_legacy` pick one explicitly."""
    family, chosen = name, exporter
    for suffix in ("_legacy", "_dynamo"):
        if name.endswith(suffix):
            family, chosen = name[: -len(suffix)], suffix[1:]
    if family not in FAMILIES:
        fail(f"unknown model '{name}'; the zoo has {', '.join(sorted(FAMILIES))} (optionally _legacy or _dynamo)")
    path = os.path.join(ZOO, f"{family}_legacy.onnx") if chosen == "legacy" else os.path.join(ZOO, f"{family}_dynamo", "model.onnx")
    return family, f"{family}_{chosen}", path


def input_specs(label, session):
    """Per input: name, dtype, shape at batch 1 (from the zoo's batch-1 case, which fixes every
    non-batch dimension the exporter may have baked in) and the axis holding the batch."""
    cases = {c["name"]: c for c in json.load(open(os.path.join(ZOO, "cases.json")))}
    case = cases.get(f"{label}_batch1")
    if case is None:
        fail(f"Tests/Fixtures/zoo/cases.json has no case '{label}_batch1' to take input shapes from")
    specs = []
    for info in session.get_inputs():
        entry = case["inputs"][info.name]
        batch_axes = [i for i, d in enumerate(info.shape) if d == "batch"]
        values = entry["data"]
        specs.append({
            "name": info.name,
            "dtype": {"int64": np.int64, "int32": np.int32, "bool": np.bool_}.get(entry.get("dtype"), np.float32),
            "shape": entry["shape"],
            "batch_axis": batch_axes[0] if batch_axes else None,
            # Integer inputs are token ids: stay inside the range the fixture uses.
            "int_limit": (max(values) + 1) if entry.get("dtype") in ("int64", "int32") else None,
        })
    return specs


def make_feeds(specs, batch, seed):
    rng = np.random.default_rng(seed)
    feeds = {}
    for spec in specs:
        shape = list(spec["shape"])
        if spec["batch_axis"] is None:
            if batch != shape[0]:
                return None
        else:
            shape[spec["batch_axis"]] = batch
        if spec["dtype"] == np.float32:
            feeds[spec["name"]] = rng.standard_normal(shape, dtype=np.float32)
        elif spec["dtype"] == np.bool_:
            # Padding masks (True = padded): none padded, every token attends.
            feeds[spec["name"]] = np.zeros(shape, dtype=np.bool_)
        else:
            feeds[spec["name"]] = rng.integers(0, spec["int_limit"], size=shape, dtype=spec["dtype"])
    return feeds


def ort_session(path_or_bytes, threads):
    options = ort.SessionOptions()
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    return ort.InferenceSession(path_or_bytes, options, providers=["CPUExecutionProvider"])


def ort_call(session, feeds):
    """One inference through IO binding: inputs bound once, outputs allocated by onnxruntime per
    run (as the engine allocates its outputs), about 3 us less Python overhead than session.run."""
    binding = session.io_binding()
    for name, value in feeds.items():
        binding.bind_cpu_input(name, value)
    for output in session.get_outputs():
        binding.bind_output(output.name)
    return lambda: session.run_with_iobinding(binding)


def time_calls(call, iterations, warmup):
    for _ in range(warmup):
        call()
    clock = time.perf_counter_ns
    samples = []
    for _ in range(iterations):
        start = clock()
        call()
        samples.append(clock() - start)
    samples.sort()
    return samples


def percentile(sorted_ns, fraction):
    """Nearest rank, in microseconds (the engine uses the same definition)."""
    rank = max(1, int(np.ceil(fraction * len(sorted_ns))))
    return sorted_ns[min(rank, len(sorted_ns)) - 1] / 1000


def ort_floor(threads, iterations, warmup):
    """An Identity model through the same Python path: the part of onnxruntime's figure that is
    the binding's call overhead, not computation."""
    try:
        from onnx import TensorProto, helper
    except ImportError:
        return None
    graph = helper.make_graph([helper.make_node("Identity", ["x"], ["y"])], "floor",
                              [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["batch", 12])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["batch", 12])])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    session = ort_session(model.SerializeToString(), threads)
    call = ort_call(session, {"x": np.zeros((1, 12), dtype=np.float32)})
    return percentile(time_calls(call, iterations, warmup), 0.5)


def engine_bench(binary, path, batch, threads, files, iterations, warmup, levels):
    command = [binary, "model", "bench", path, "--batch", str(batch), "--threads", str(threads),
               "--optimize", levels, "--iterations", str(iterations), "--warmup", str(warmup), "--json"]
    for name, file in files.items():
        command += ["--input", f"{name}={file}"]
    result = subprocess.run(command, capture_output=True, text=True)
    if result.returncode != 0:
        return None, result.stderr.strip().splitlines()[-1] if result.stderr.strip() else f"exit {result.returncode}"
    rows = [json.loads(line) for line in result.stdout.splitlines() if line.strip()]
    return {row["optimization"]: row for row in rows}, None


def cpu_name():
    try:
        with open("/proc/cpuinfo") as info:
            for line in info:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def check_binary(binary):
    if not os.path.isfile(binary) or not os.access(binary, os.X_OK):
        fail(f"no engine binary at {binary}\n"
             "  build it first: swift build -c release --product tensorwire   (or: make build)")
    built = os.path.getmtime(binary)
    newer = [p for p in glob.glob(os.path.join(ROOT, "Sources", "**", "*.swift"), recursive=True) if os.path.getmtime(p) > built]
    if newer:
        print(f"warning: {len(newer)} source files are newer than {os.path.relpath(binary, ROOT)} "
              f"(e.g. {os.path.relpath(newer[0], ROOT)}); rebuild for current numbers", file=sys.stderr)
    if "/debug/" in binary:
        print("warning: a debug build is not what this benchmark is for", file=sys.stderr)


def int_list(text):
    try:
        values = [int(word) for word in text.split(",")]
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected comma-separated integers, got '{text}'")
    if any(v <= 0 for v in values):
        raise argparse.ArgumentTypeError(f"values must be positive, got '{text}'")
    return values


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--models", default=",".join(DEFAULT_MODELS),
                        help="comma-separated zoo models (family, or family_legacy / family_dynamo), or 'all' "
                             f"(default: {','.join(DEFAULT_MODELS)})")
    parser.add_argument("--exporter", choices=["legacy", "dynamo"], default="legacy",
                        help="export used for a model named by family alone (default legacy)")
    parser.add_argument("--batch", type=int_list, default=[1, 64], help="batch sizes (default 1,64)")
    parser.add_argument("--threads", type=int_list, default=[1, 2], help="intra-op threads (default 1,2)")
    parser.add_argument("--rounds", type=int, default=3, help="alternating onnxruntime/engine rounds per configuration (default 3)")
    parser.add_argument("--seconds", type=float, default=0.3,
                        help="target onnxruntime time per round, which sets the shared iteration count (default 0.3)")
    parser.add_argument("--iterations", type=int, help="fixed timed calls per round instead of --seconds")
    parser.add_argument("--warmup", type=int, default=20, help="untimed calls before each timed run (default 20)")
    parser.add_argument("--binary", default=os.path.join(ROOT, ".build", "release", "tensorwire"), help="the tensorwire CLI")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--json", action="store_true", help="one JSON object per configuration per line")
    args = parser.parse_args()
    if args.rounds < 1 or (args.iterations is not None and args.iterations < 1) or args.seconds <= 0:
        fail("--rounds, --iterations and --seconds must be positive")
    check_binary(args.binary)

    names = list(FAMILIES) if args.models == "all" else [m for m in args.models.split(",") if m]
    models = [model_path(name, args.exporter) for name in names]
    for _, label, path in models:
        if not os.path.isfile(path):
            fail(f"{label}: no model file at {path}")

    temporary = tempfile.mkdtemp(prefix="tensorwire-side-by-side-")
    floors = {t: ort_floor(t, 2000, 200) for t in args.threads}
    if not args.json:
        load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
        print(f"onnxruntime {ort.__version__} (CPU EP, ORT_ENABLE_ALL, inter-op 1, IO binding) vs {os.path.relpath(args.binary, ROOT)}; "
              f"{os.cpu_count()} CPUs ({cpu_name()}), load average {load:.2f} at start")
        print(f"medians over {args.rounds} alternating rounds of {'%d calls' % args.iterations if args.iterations else 'about %.2g s of onnxruntime' % args.seconds} each; "
              "same inputs, same iteration counts; µs per call")
        print("onnxruntime per-call floor (Identity model, same Python path): "
              + ", ".join(f"{t} thread{'s' if t > 1 else ''} {v:.1f} µs" for t, v in floors.items() if v is not None))
        print()
        header = (f"{'model':<28}{'batch':>6}{'threads':>8}{'ORT':>10}{'engine all':>12}{'eng/ORT':>9}  {'goal':<4}"
                  f"{'engine none':>13}{'none/all':>9}  {'goal':<4}")
        print(header)
        print("-" * len(header))

    rows = []
    for family, label, path in models:
        for threads in args.threads:
            session = ort_session(path, threads)
            specs = input_specs(label, session)
            for batch in args.batch:
                row = {"model": label, "family": FAMILIES[family], "batch": batch, "threads": threads,
                       "ort_version": ort.__version__, "ort_floor_us": floors[threads]}
                feeds = make_feeds(specs, batch, args.seed)
                if feeds is None:
                    row["error"] = f"fixed batch {specs[0]['shape'][0]}: cannot run batch {batch}"
                    rows.append(row)
                    report(row, args.json)
                    continue
                files = {}
                for name, value in feeds.items():
                    files[name] = os.path.join(temporary, f"{label}-b{batch}-{name.replace('/', '_')}.npy")
                    np.save(files[name], value)
                call = ort_call(session, feeds)
                iterations = args.iterations
                if iterations is None:
                    probe = time_calls(call, 10, args.warmup)
                    iterations = int(min(20000, max(30, args.seconds / (statistics.median(probe) / 1e9))))
                ort_rounds, all_rounds, none_rounds, p99 = [], [], [], {"ort": [], "all": [], "none": []}
                for r in range(args.rounds):
                    # Alternate who goes first (and, in the engine's process, which level), so
                    # neither always runs right after the other or on a cold process.
                    order = ("ort", "engine") if r % 2 == 0 else ("engine", "ort")
                    levels = "all,none" if r % 2 == 0 else "none,all"
                    for who in order:
                        if who == "ort":
                            samples = time_calls(call, iterations, args.warmup)
                            ort_rounds.append(percentile(samples, 0.5))
                            p99["ort"].append(percentile(samples, 0.99))
                        else:
                            result, error = engine_bench(args.binary, path, batch, threads, files, iterations, args.warmup, levels)
                            if error:
                                row["error"] = f"engine: {error}"
                                break
                            all_rounds.append(result["all"]["median_us"])
                            none_rounds.append(result["none"]["median_us"])
                            p99["all"].append(result["all"]["p99_us"])
                            p99["none"].append(result["none"]["p99_us"])
                    if "error" in row:
                        break
                row.update({"iterations": iterations, "rounds": len(ort_rounds), "ort_median_us": median(ort_rounds),
                            "ort_p99_us": median(p99["ort"]), "ort_round_medians_us": ort_rounds})
                if "error" not in row:
                    row.update({
                        "engine_all_median_us": median(all_rounds), "engine_all_p99_us": median(p99["all"]),
                        "engine_none_median_us": median(none_rounds), "engine_none_p99_us": median(p99["none"]),
                        "engine_all_round_medians_us": all_rounds, "engine_none_round_medians_us": none_rounds,
                    })
                    row["ratio_engine_ort"] = round(row["engine_all_median_us"] / row["ort_median_us"], 3)
                    row["fusion_speedup"] = round(row["engine_none_median_us"] / row["engine_all_median_us"], 3)
                    row["ratio_goal_met"] = row["ratio_engine_ort"] <= RATIO_GOAL
                    row["fusion_goal_met"] = row["fusion_speedup"] >= FUSION_GOAL if FAMILIES[family] in FUSION_GOAL_FAMILIES else None
                rows.append(row)
                report(row, args.json)
    for file in os.listdir(temporary):
        os.remove(os.path.join(temporary, file))
    os.rmdir(temporary)
    if not args.json:
        summarize(rows)


def median(values):
    return round(statistics.median(values), 3) if values else None


def report(row, as_json):
    if as_json:
        print(json.dumps(row), flush=True)
        return
    start = f"{row['model']:<28}{row['batch']:>6}{row['threads']:>8}"
    if "error" in row and "ort_median_us" not in row:
        print(f"{start}  {row['error']}", flush=True)
        return
    if "error" in row:
        print(f"{start}{row['ort_median_us']:>10.1f}  {row['error']}", flush=True)
        return
    ratio_mark = "ok" if row["ratio_goal_met"] else "miss"
    fusion_mark = {True: "ok", False: "miss", None: "-"}[row["fusion_goal_met"]]
    print(f"{start}{row['ort_median_us']:>10.1f}{row['engine_all_median_us']:>12.1f}{row['ratio_engine_ort']:>9.2f}  {ratio_mark:<4}"
          f"{row['engine_none_median_us']:>13.1f}{row['fusion_speedup']:>9.2f}  {fusion_mark:<4}", flush=True)


def summarize(rows):
    measured = [r for r in rows if "ratio_engine_ort" in r]
    failed = [r for r in rows if "error" in r]
    fusion = [r for r in measured if r["fusion_goal_met"] is not None]
    print()
    print(f"engine/ORT <= {RATIO_GOAL}: {sum(r['ratio_goal_met'] for r in measured)} of {len(measured)} configurations; "
          f"fusion none/all >= {FUSION_GOAL} (CNN, transformer): {sum(r['fusion_goal_met'] for r in fusion)} of {len(fusion)}"
          + (f"; {len(failed)} configurations failed" if failed else ""))
    if measured:
        geo = float(np.exp(np.mean(np.log([r["ratio_engine_ort"] for r in measured]))))
        print(f"geometric mean engine/ORT {geo:.2f}")


if __name__ == "__main__":
    main()
