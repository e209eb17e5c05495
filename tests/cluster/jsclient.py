#!/usr/bin/env python3
"""JetStream client steps for tests/integration/nats_cluster.rs, on nats-py (a real client).

usage: jsclient.py URLS create | pub SUBJECT COUNT SIZE | leader STREAM
URLS is a comma-separated list of nats:// URLs. Each step prints one JSON
line on stdout; a step that cannot finish exits non-zero with the reason on
stderr, so the Rust test can say what went wrong.
"""
import asyncio
import json
import os
import sys

import nats
from nats.js.api import StorageType, StreamConfig

MB = 1024 * 1024
# (name, subjects, replicas, max_bytes): the ORDERS stream is the one the
# loop scenarios damage; the others give reserved_storage more than one term.
STREAMS = [
    ("ORDERS", ["orders.>"], 3, 64 * MB),
    ("EVENTS", ["events.>"], 3, -1),
    ("AUDIT", ["audit.>"], 1, 32 * MB),
]


async def connect(urls):
    return await nats.connect(servers=urls, connect_timeout=3, max_reconnect_attempts=40,
                              reconnect_time_wait=0.5, allow_reconnect=True)


async def create(urls):
    nc = await connect(urls)
    js = nc.jetstream(timeout=10)
    made = []
    for name, subjects, replicas, max_bytes in STREAMS:
        cfg = StreamConfig(name=name, subjects=subjects, num_replicas=replicas,
                           max_bytes=max_bytes, storage=StorageType.FILE)
        # Right after start-up the meta group may still be electing: retry.
        for attempt in range(20):
            try:
                await js.add_stream(cfg)
                made.append(name)
                break
            except Exception as e:
                print(f"create {name} attempt {attempt}: {e!r}", file=sys.stderr)
                await asyncio.sleep(1)
        else:
            raise SystemExit(f"cannot create stream {name}")
    await nc.close()
    return {"created": made}


async def publish(urls, subject, count, size):
    nc = await connect(urls)
    js = nc.jetstream(timeout=10)
    payload = os.urandom(size // 2).hex().encode()[:size]
    ok = err = 0
    gate = asyncio.Semaphore(64)

    async def one(i):
        nonlocal ok, err
        async with gate:
            try:
                await js.publish(f"{subject}.{i % 10}", payload, timeout=10)
                ok += 1
            except Exception as e:
                err += 1
                if err <= 3:
                    print(f"publish error: {e!r}", file=sys.stderr)

    await asyncio.gather(*(one(i) for i in range(count)))
    await nc.close()
    # A rolling restart may lose a few in-flight publishes; most must land.
    if ok < count * 9 // 10:
        raise SystemExit(f"only {ok} of {count} publishes to {subject} acknowledged")
    return {"subject": subject, "ok": ok, "err": err}


async def leader(urls, stream):
    nc = await connect(urls)
    js = nc.jetstream(timeout=5)
    for attempt in range(20):
        try:
            si = await js.stream_info(stream)
            if si.cluster and si.cluster.leader:
                await nc.close()
                return {"stream": stream, "leader": si.cluster.leader,
                        "last_seq": si.state.last_seq}
        except Exception as e:
            print(f"stream info {stream} attempt {attempt}: {e!r}", file=sys.stderr)
        await asyncio.sleep(0.5)
    raise SystemExit(f"stream {stream} has no leader")


def main(argv):
    if len(argv) < 3:
        raise SystemExit(__doc__)
    urls = argv[1].split(",")
    step = argv[2]
    if step == "create":
        out = asyncio.run(create(urls))
    elif step == "pub" and len(argv) == 6:
        out = asyncio.run(publish(urls, argv[3], int(argv[4]), int(argv[5])))
    elif step == "leader" and len(argv) == 4:
        out = asyncio.run(leader(urls, argv[3]))
    else:
        raise SystemExit(__doc__)
    print(json.dumps(out), flush=True)


if __name__ == "__main__":
    main(sys.argv)
