#!/usr/bin/env python3
"""onnxruntime latency (1 intra-op thread, CPU EP) for the batch-3 zoo cases, the speed anchor for
`TENSORWIRE_BENCH=1 swift test -c release -Xswiftc -enable-testing --filter zooLatency`."""
import json
import os
import time

import numpy as np
import onnxruntime as ort

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
cases = json.load(open(os.path.join(ROOT, "Tests/Fixtures/zoo/cases.json")))
opts = ort.SessionOptions()
opts.intra_op_num_threads = 1
opts.inter_op_num_threads = 1
for c in cases:
    if not c["name"].endswith("batch3"):
        continue
    sess = ort.InferenceSession(os.path.join(ROOT, c["model"]), opts, providers=["CPUExecutionProvider"])
    feeds = {}
    for name, t in c["inputs"].items():
        dtype = {"int64": np.int64, "int32": np.int32, "bool": np.bool_}.get(t.get("dtype"), np.float32)
        feeds[name] = np.array(t["data"], dtype=dtype).reshape(t["shape"])
    sess.run(None, feeds)
    n = 300
    start = time.perf_counter()
    for _ in range(n):
        sess.run(None, feeds)
    print(f"ort {c['name']}: {(time.perf_counter() - start) / n * 1e6:.1f} µs/run")
