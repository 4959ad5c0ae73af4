#!/usr/bin/env python3
"""`status` over the service's control socket, for the benchmarks.

status_client.py SOCKET --ask ARGS   one request with ARGS (JSON); prints its result
status_client.py SOCKET --times N    N requests, each a new connection; prints
    "P50 ms / P99 ms|MIN / MEDIAN / MAX renewing|SIZE KiB" (renewing: in each answer's summary)
"""
import json
import socket
import statistics
import sys
import time


def ask(path, args):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.connect(path)
    s.sendall(json.dumps({"id": 1, "cmd": "status", "args": args}).encode() + b"\n")
    data = b""
    while not data.endswith(b"\n"):
        data += s.recv(1 << 20)
    s.close()
    return data


def main():
    path, mode, value = sys.argv[1], sys.argv[2], sys.argv[3]
    if mode == "--ask":
        print(json.dumps(json.loads(ask(path, json.loads(value)))["result"]))
        return
    times, renewing, size = [], [], 0
    for _ in range(int(value)):
        t0 = time.perf_counter()
        data = ask(path, {})
        times.append((time.perf_counter() - t0) * 1000)
        summary = json.loads(data)["result"].get("summary") or {}
        renewing.append(summary.get("states", {}).get("renewing", 0))
        size = len(data)
    times.sort()
    print(f"{times[len(times) // 2]:.1f} ms / {times[int(len(times) * 0.99) - 1]:.1f} ms|"
          f"{min(renewing)} / {statistics.median(renewing):.0f} / {max(renewing)}|"
          f"{size / 1024:.0f} KiB")


if __name__ == "__main__":
    main()
