#!/usr/bin/env python3
"""Copies a compact subset of one tests/integration/nats_cluster.rs run into the repo:
its /jsz documents to tests/data/jsz/<scenario>/nX.jsonl and its logs to
tests/data/cluster/<scenario>/nX.log.

usage: keep_fixtures.py RUN_DIR SCENARIO

Documents are copied line for line, never edited. A node that logged resets
keeps every document; in a run with resets the other nodes keep their first
and last three; a run with no resets at all (healthy) keeps every document.
"""
import os
import shutil
import sys


def main(run, scenario):
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    jsz_out = os.path.join(root, "tests/data/jsz", scenario)
    log_out = os.path.join(root, "tests/data/cluster", scenario)
    os.makedirs(jsz_out, exist_ok=True)
    os.makedirs(log_out, exist_ok=True)
    resets = {}
    for n in ("n1", "n2", "n3"):
        with open(os.path.join(run, n + ".log"), encoding="utf-8", errors="replace") as f:
            resets[n] = sum("Resetting stream cluster state" in l for l in f)
    looping = any(resets.values())
    for n in ("n1", "n2", "n3"):
        shutil.copyfile(os.path.join(run, n + ".log"), os.path.join(log_out, n + ".log"))
        with open(os.path.join(run, "jsz", n + ".jsonl"), "rb") as f:
            docs = f.readlines()
        kept = docs
        if looping and not resets[n] and len(docs) > 6:
            kept = docs[:3] + docs[-3:]
        with open(os.path.join(jsz_out, n + ".jsonl"), "wb") as f:
            f.writelines(kept)
        print(f"{scenario} {n}: {resets[n]} resets, kept {len(kept)} of {len(docs)} /jsz documents")


if __name__ == "__main__":
    if len(sys.argv) != 3:
        raise SystemExit(__doc__)
    main(sys.argv[1], sys.argv[2])
