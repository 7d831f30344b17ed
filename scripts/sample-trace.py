#!/usr/bin/env python3
"""Writes workloads/traces/twitter-sample.csv.zst: a small synthetic trace in
Twitter's cache-trace format (timestamp, anonymized key, key size, value
size, client id, operation, TTL), shaped after the published figures of its
cluster52 (Zipf alpha about 1.2, 20-byte keys, values around 273 bytes, about
a fifth of keys read once), 60 seconds long. Deterministic: the same file
every time. Needs the zstd command."""

import random
import subprocess
import sys

random.seed(52)
KEYS = 6000
RECORDS = 30000
SECONDS = 60
alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
names = ["".join(random.choice(alphabet) for _ in range(20)) for _ in range(KEYS)]
sizes = [max(1, int(random.lognormvariate(5.6, 0.35))) for _ in range(KEYS)]
weights = [1.0 / (rank + 1) ** 1.2 for rank in range(KEYS)]
# One-hit wonders: keys asked once, beyond the popular ones.
wonders = iter(range(KEYS // 2, KEYS))
lines = []
for record in range(RECORDS):
    time = record * SECONDS // RECORDS
    if random.random() < 0.06:
        key = next(wonders, KEYS - 1)
    else:
        key = random.choices(range(KEYS // 2), weights=weights[: KEYS // 2])[0]
    roll = random.random()
    op = "get" if roll < 0.88 else "set" if roll < 0.97 else "delete"
    value = sizes[key] if op != "delete" else 0
    ttl = 0 if op == "get" else 3600
    lines.append(f"{time},{names[key]},20,{value},{1 + key % 7},{op},{ttl}\n")
out = sys.argv[1] if len(sys.argv) > 1 else "workloads/traces/twitter-sample.csv.zst"
subprocess.run(["zstd", "-q", "-19", "-f", "-o", out], input="".join(lines).encode(), check=True)
