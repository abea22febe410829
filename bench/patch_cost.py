"""What a PATCH through the proxy costs, against a bare forwarder.

    .venv/bin/python bench/patch_cost.py [--patches 300] [--rounds 5] [--base-tree PATH]
                                         [--profile FILE] [--callgrind N]

The sandbox, the proxy (the app on the local host, as ``make run`` serves it), a
bare httpx forwarder (``bench/servers.py``: the path mapped, the token added, nothing
checked) and the same forwarder as the one function of an app on the local host
("hosted": what the proxy's code adds, without the host's share) each run in a process
of their own; this process sends ``--patches`` PATCHes
one after another (concurrency 1) to each server in turn, ``--rounds`` times, so a
change in the machine's load touches all of them alike. ``--base-tree`` adds the app of
another checkout (e.g. ``git worktree add ../base main``) as a third server.

Prints per server and round: CPU per PATCH of the server's process (user + system, all
threads; and user alone), the median and p90 latency the caller saw; then min/median/max
over the rounds of each, of the CPU ratio to each forwarder (round by round) and of the
median latency added to each forwarder's. The sandbox's own processing is in every
figure's latency, in none of the CPU figures.

``--profile FILE`` writes a cProfile of each server's event loop thread over one more
round, to FILE.proxy, FILE.forwarder (and FILE.base); read one with
``python -m pstats FILE.proxy``. ``--callgrind N`` instead runs the servers under
valgrind's callgrind and counts the instructions N PATCHes execute in each (slower, but
the same count on a busy machine as on an idle one); ``--only`` picks the servers.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.servers import Child, spawn  # noqa: E402

BODY = b'{"amount": 1234.56, "comment": "paid by bank transfer"}'


def patch_paths(seed: dict[str, Any]) -> list[str]:
    company = seed["companies"][0]
    journal = company["journals"][0]
    return [
        f"/api/v2.0/companies/{company['id']}/customerPaymentJournals/{journal['id']}"
        f"/customerPayments/{line['id']}"
        for line in journal["payments"]
    ]


def send_patches(http: httpx.Client, url: str, paths: list[str], count: int) -> list[float]:
    """``count`` PATCHes one after another; each one's latency in seconds."""
    headers = {"Content-Type": "application/json", "If-Match": "*"}
    latencies = []
    for n in range(count):
        started = time.perf_counter()
        response = http.patch(url + paths[n % len(paths)], content=BODY, headers=headers)
        latencies.append(time.perf_counter() - started)
        if response.status_code != 200:
            raise SystemExit(f"{url}: PATCH answered {response.status_code}: {response.text}")
    return latencies


def measure(http: httpx.Client, server: Child, paths: list[str], count: int) -> dict[str, float]:
    send_patches(http, server.url, paths, 20)  # connections, token, caches
    user, system = server.cpu()
    latencies = send_patches(http, server.url, paths, count)
    user_after, system_after = server.cpu()
    latencies.sort()
    return {
        "cpu_ms": (user_after - user + system_after - system) / count * 1000,
        "user_ms": (user_after - user) / count * 1000,
        "p50_ms": statistics.median(latencies) * 1000,
        "p90_ms": latencies[int(len(latencies) * 0.9)] * 1000,
    }


def spread(values: list[float], unit: str = "") -> str:
    return (
        f"min {min(values):6.3f}{unit}  median {statistics.median(values):6.3f}{unit}  "
        f"max {max(values):6.3f}{unit}"
    )


@contextlib.contextmanager
def servers(
    base_tree: Path | None, prefix: tuple[str, ...] = (), only: str | None = None
) -> Iterator[tuple[Child, dict[str, Child]]]:
    wanted: list[tuple[str, tuple[str, ...]]] = [
        ("forwarder", ("forwarder",)),
        ("hosted", ("hosted",)),
        ("proxy", ("proxy",)),
    ]
    if base_tree is not None:
        wanted.append(("base", ("proxy", "--tree", str(base_tree))))
    with spawn("sandbox") as sandbox:
        # This measures the proxy, not Business Central's rate window: one wide enough
        # for every round (its 5 requests at once still hold).
        httpx.post(f"{sandbox.url}/_sandbox/limits", json={"requests": 10**9}).raise_for_status()
        env = dict(sandbox.info["environment"])
        with contextlib.ExitStack() as stack:
            children = {
                name: stack.enter_context(spawn(*command, env=env, prefix=prefix))
                for name, command in wanted
                if only is None or name in only.split(",")
            }
            yield sandbox, children


def compare(args: argparse.Namespace) -> None:
    print(f"{os.cpu_count()} cores; {args.patches} PATCHes per server and round, concurrency 1")
    with servers(args.base_tree) as (sandbox, children), httpx.Client(timeout=30) as http:
        paths = patch_paths(sandbox.info["seed"])
        results: dict[str, list[dict[str, float]]] = {name: [] for name in children}
        for round_ in range(args.rounds):
            order = list(children.items())
            if round_ % 2:
                order.reverse()
            for name, child in order:
                one = measure(http, child, paths, args.patches)
                results[name].append(one)
                print(
                    f"round {round_ + 1} {name:9} cpu {one['cpu_ms']:6.3f} ms/PATCH "
                    f"(user {one['user_ms']:6.3f})  "
                    f"p50 {one['p50_ms']:6.3f} ms  p90 {one['p90_ms']:6.3f} ms",
                    flush=True,
                )
        if args.profile:
            for name, child in children.items():
                target = Path(f"{args.profile}.{name}").resolve()
                child.ask("profile start")
                send_patches(http, child.url, paths, args.patches)
                child.ask(f"profile stop {target}")
                print(f"profile of {args.patches} PATCHes in {target}")
    print(f"over {args.rounds} rounds:")
    for name, figures in results.items():
        print(f"{name:9} cpu per PATCH  {spread([f['cpu_ms'] for f in figures], ' ms')}")
        print(f"{name:9} user per PATCH {spread([f['user_ms'] for f in figures], ' ms')}")
        print(f"{name:9} p50 latency    {spread([f['p50_ms'] for f in figures], ' ms')}")
    for name, figures in results.items():
        for against in REFERENCES:
            if name in REFERENCES[: REFERENCES.index(against) + 1] or against not in results:
                continue
            base = results[against]
            ratios = [f["cpu_ms"] / b["cpu_ms"] for f, b in zip(figures, base, strict=True)]
            user = [f["user_ms"] / b["user_ms"] for f, b in zip(figures, base, strict=True)]
            added = [f["p50_ms"] - b["p50_ms"] for f, b in zip(figures, base, strict=True)]
            print(f"{name:9} cpu / {against:9} {spread(ratios)}")
            print(f"{name:9} user / {against:9} {spread(user)}")
            print(f"{name:9} p50 added to {against:9} {spread(added, ' ms')}")


# What the proxy is held against: the bare forwarder, and the same forwarder as a function
# on the local host (what the proxy's own code adds, the host's share left out).
REFERENCES = ("forwarder", "hosted")

_IR_RE = re.compile(r"^totals:\s+(\d+)", re.MULTILINE)


def _instrument(pid: int, state: str) -> None:
    subprocess.run(["callgrind_control", "-i", state, str(pid)], check=True, capture_output=True)


def callgrind(args: argparse.Namespace) -> None:
    """Instructions per PATCH, counted by callgrind with instrumentation on only around the
    counted PATCHes (callgrind_control toggles it in the running process)."""
    if shutil.which("valgrind") is None or shutil.which("callgrind_control") is None:
        raise SystemExit("--callgrind needs valgrind (callgrind_control on PATH)")
    count = args.callgrind
    with tempfile.TemporaryDirectory() as out:
        prefix = (
            "valgrind",
            "--tool=callgrind",
            "--instr-atstart=no",
            f"--callgrind-out-file={out}/callgrind.%p",
        )
        with (
            servers(args.base_tree, prefix, args.only) as (sandbox, children),
            httpx.Client(timeout=300) as http,
        ):
            paths = patch_paths(sandbox.info["seed"])
            for child in children.values():
                send_patches(http, child.url, paths, 20)
                _instrument(child.pid, "on")
                send_patches(http, child.url, paths, count)
                _instrument(child.pid, "off")
        print(f"instructions per PATCH ({count} PATCHes, callgrind):")
        counts: dict[str, float] = {}
        for name, child in children.items():
            # valgrind runs the interpreter in the same process: its pid names the file.
            text = "".join(p.read_text() for p in Path(out).glob(f"callgrind.{child.pid}*"))
            counts[name] = sum(int(n) for n in _IR_RE.findall(text)) / count
            print(f"  {name:9} {counts[name] / 1e6:8.3f} M")
        for name, value in counts.items():
            for against in REFERENCES:
                if name not in REFERENCES[: REFERENCES.index(against) + 1] and against in counts:
                    print(f"  {name:9} / {against:9} {value / counts[against]:.3f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--patches", type=int, default=300, help="PATCHes per server and round")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--base-tree", type=Path, help="another checkout's app, measured beside")
    parser.add_argument("--profile", help="write a cProfile of each server to FILE.<server>")
    parser.add_argument("--callgrind", type=int, metavar="N", help="count instructions instead")
    parser.add_argument(
        "--only", help="with --callgrind: the servers to count (forwarder,hosted,proxy,base)"
    )
    args = parser.parse_args()
    if args.callgrind:
        callgrind(args)
    else:
        compare(args)


if __name__ == "__main__":
    main()
