#!/usr/bin/env python3
"""Writes a synthetic nats-server log for the benchmarks: mostly ordinary
lines in the real format (INF, some WRN/ERR), with a reset loop now and then.

The line texts are taken from the real logs in tests/data/corpus; only the
pid, the times and the mix are made up. Deterministic for a given --lines.
"""
import argparse
import random

ORDINARY = [
    "[INF] 127.0.0.1:43724 - rid:13 - Route connection created",
    "[INF] 127.0.0.1:16222 - rid:20 - Router connection closed: Duplicate Route",
    "[INF] JetStream cluster new stream leader for '$G > EVENTS'",
    "[INF] Self is new JetStream cluster metadata leader",
    "[INF]   Restored 1,407 messages for stream '$G > ORDERS' in 9ms",
    "[INF] Listening for client connections on 127.0.0.1:14221",
    "[WRN] Healthcheck failed: \"JetStream stream '$G > ORDERS' is not current\"",
    "[WRN] Filestore [ORDERS] Stream state outdated, last block has additional entries, will rebuild",
    "[ERR] Error trying to connect to route (attempt 1): dial tcp 127.0.0.1:16222: connect: connection refused",
]
LOOP = [
    "[WRN] Error applying entries to '$G > ORDERS': catchup aborted, no leader for stream '$G > ORDERS'",
    "[WRN] Resetting stream cluster state for '$G > ORDERS'",
]


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--lines", type=int, default=1_000_000)
    ap.add_argument("--out", required=True)
    a = ap.parse_args()
    rnd = random.Random(6455)
    t = 1_764_166_628_000_000  # microseconds, 2025-11-26T14:17:08Z
    with open(a.out, "w") as f:
        n = 0
        while n < a.lines:
            t += rnd.randrange(50, 5000)
            sec, us = divmod(t, 1_000_000)
            import time as _t

            stamp = _t.strftime("%Y/%m/%d %H:%M:%S", _t.gmtime(sec)) + ".%06d" % us
            if rnd.random() < 0.0005:
                for text in LOOP:
                    f.write(f"[8368] {stamp} {text}\n")
                    n += 1
            else:
                f.write(f"[8368] {stamp} {rnd.choice(ORDINARY)}\n")
                n += 1


if __name__ == "__main__":
    main()
