"""Time the engine's stages on one input: parse, grouping and direction rows, level edges.

    python bench/probe.py DIR [--level workload] [--profile]

Prints pods, endpoint groups, level edges, CPU seconds per stage (process time, which
other load on the machine does not inflate as it does wall time) and peak RSS.
"""

from __future__ import annotations

import argparse
import cProfile
import pstats
import resource
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from policies import engine  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("path")
    ap.add_argument("--level", default="workload")
    ap.add_argument("--profile", action="store_true")
    ap.add_argument("--json", metavar="FILE", help="also write the graph as JSON (to compare two versions)")
    args = ap.parse_args()
    t0 = time.process_time()
    parsed = engine.load_paths([args.path])
    t1 = time.process_time()
    prof = cProfile.Profile() if args.profile else None
    if prof:
        prof.enable()
    graph = engine.build_graph(parsed.cluster, level=args.level)
    t2 = time.process_time()
    stats = graph.stats()
    t3 = time.process_time()
    if prof:
        prof.disable()
        pstats.Stats(prof).sort_stats("cumulative").print_stats(30)
    if args.json:
        with open(args.json, "w") as out:
            engine.render(graph, "json", out)
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"pods={stats['pods']} groups={stats['groups']} "
          f"edges={stats['edges']} cpu: parse={t1 - t0:.1f}s graph={t2 - t1:.1f}s level_edges={t3 - t2:.1f}s "
          f"peak_rss={rss:.0f}MiB")


if __name__ == "__main__":
    main()
