"""The ``netpol`` command line: the engine on files, with no database and no server.

Exit codes: 0 success; 1 a ``--fail-on`` condition held or an expectation fails; 2 bad input (the message names file,
document and field); 3 internal error.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import traceback
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, TextIO

if TYPE_CHECKING:
    from policies.engine import CheckReport, Cluster, Settings

# The engine is imported when a command runs, not for `netpol --help` or a mistyped option.

EXIT_OK, EXIT_FAIL_ON, EXIT_BAD_INPUT, EXIT_INTERNAL = 0, 1, 2, 3


def _settings(args: argparse.Namespace) -> Settings:
    from policies.engine import Settings

    options: dict[str, object] = {}
    if args.ipblock_pod_ips is not None:
        options["ip_block_matches_pod_ips"] = args.ipblock_pod_ips == "on"
    if args.node_ingress_exempt is not None:
        options["node_ingress_exempt"] = args.node_ingress_exempt == "on"
    if args.node_egress_exempt is not None:
        options["node_egress_exempt"] = args.node_egress_exempt == "on"
    if args.endpoint_to_host_action is not None:
        options["default_endpoint_to_host_action"] = args.endpoint_to_host_action
    return Settings().with_options(**options)


def _common(p: argparse.ArgumentParser) -> None:
    p.add_argument("--evaluator", choices=["auto", "k8s", "calico"], default="auto",
                   help="auto picks calico when any Calico resource is present (default: auto)")
    p.add_argument("--ipblock-pod-ips", choices=["on", "off"], default=None,
                   help="k8s.ipBlockMatchesPodIPs: ipBlocks match pod IPs (default on; off emulates Cilium)")
    p.add_argument("--node-ingress-exempt", choices=["on", "off"], default=None,
                   help="k8s.nodeIngressExempt: the pod's own node may always connect in (default on)")
    p.add_argument("--node-egress-exempt", choices=["on", "off"], default=None,
                   help="k8s.nodeEgressExempt: pod to own node skips egress policy (default off)")
    p.add_argument("--endpoint-to-host-action", choices=["ACCEPT", "RETURN", "DROP"], default=None,
                   help="calico.defaultEndpointToHostAction (default ACCEPT)")


class _Version(argparse.Action):
    """``--version``, reading the engine's version only when asked."""

    def __call__(self, parser: argparse.ArgumentParser, namespace: argparse.Namespace, values: Any,
                 option_string: str | None = None) -> None:
        from policies.engine import ENGINE_VERSION

        sys.stdout.write(f"netpol {ENGINE_VERSION}\n")  # where argparse's own version action writes
        parser.exit()


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="netpol", description="What do my Kubernetes and Calico network policies allow?")
    parser.add_argument("--version", action=_Version, nargs=0, help="show the version and exit")
    sub = parser.add_subparsers(dest="command", required=True)

    reach = sub.add_parser("reach", help="the reachability graph of the manifests")
    reach.add_argument("paths", nargs="+", metavar="PATH", help="file, directory or - for standard input")
    reach.add_argument("--format", choices=["json", "txt", "csv", "dot", "md"], default="txt")
    reach.add_argument("--level", choices=["pod", "workload", "namespace"], default="pod")
    reach.add_argument("--namespace", dest="namespaces", action="append", default=[], metavar="NS",
                       help="a namespace view: this namespace's pods or workloads with every edge in and out, "
                            "each other namespace one node (repeat for several)")
    reach.add_argument("--output", "-o", default="-", help="write to this file (default: standard output)")
    _common(reach)

    exp = sub.add_parser("explain", help="why one flow is allowed or denied")
    exp.add_argument("paths", nargs="+", metavar="PATH")
    exp.add_argument("--from", dest="src", required=True, help="ns/pod, ns/Kind/name, node:NAME or an IP")
    exp.add_argument("--to", dest="dst", required=True, help="ns/pod, ns/Kind/name, node:NAME or an IP")
    exp.add_argument("--port", type=int, default=None)
    exp.add_argument("--protocol", default="TCP", help="TCP, UDP, SCTP, ICMP, ... (default TCP)")
    exp.add_argument("--icmp-type", type=int, default=None)
    exp.add_argument("--icmp-code", type=int, default=None)
    exp.add_argument("--format", choices=["json", "txt"], default="txt")
    exp.add_argument("--suggest", action="store_true",
                     help="also the smallest change that turns the verdict, checked, and what else it opens or closes")
    _common(exp)

    dif = sub.add_parser("diff", help="flows added, removed and changed between two versions")
    dif.add_argument("old", metavar="OLD_PATH")
    dif.add_argument("new", metavar="NEW_PATH")
    dif.add_argument("--format", choices=["json", "txt", "md"], default="txt")
    dif.add_argument("--level", choices=["pod", "workload", "namespace"], default="workload")
    dif.add_argument("--fail-on", choices=["added", "removed", "any"], default=None,
                     help="exit 1 when flows were added, removed, or anything changed")
    dif.add_argument("--expect", metavar="FILE", default=None,
                     help="also say which expectations of FILE the change breaks or fixes (exit 1 if it breaks one)")
    _common(dif)

    chk = sub.add_parser("check", help="whether the manifests meet the expectations of a file")
    chk.add_argument("paths", nargs="+", metavar="PATH")
    chk.add_argument("--expect", metavar="FILE", required=True, help="the expectations file (YAML)")
    chk.add_argument("--format", choices=["json", "txt", "md"], default="txt")
    _common(chk)

    lnt = sub.add_parser("lint", help="policies that probably do not do what was meant")
    lnt.add_argument("paths", nargs="+", metavar="PATH")
    lnt.add_argument("--format", choices=["json", "txt"], default="txt")
    lnt.add_argument("--fail-on", choices=["error", "warning", "info"], default=None,
                     help="exit 1 when a finding of this severity or worse exists")
    _common(lnt)
    return parser


def run(argv: Sequence[str], stdin: TextIO, stdout: TextIO, stderr: TextIO) -> int:
    args = _parser().parse_args(argv)
    # Each command imports what it uses (the engine loads a module when a name is first asked for).
    from policies.engine import load_paths

    settings = _settings(args)
    if args.command == "reach":
        from policies.engine import build_graph, render

        result = load_paths(args.paths, stdin=stdin)
        for note in result.notes:
            stderr.write(f"note: {note}\n")
        graph = build_graph(result.cluster, level=args.level, evaluator=args.evaluator, settings=settings,
                            namespaces=args.namespaces)
        if args.output == "-":
            render(graph, args.format, out=stdout)
        else:
            with open(args.output, "w", encoding="utf-8") as fh:
                render(graph, args.format, out=fh)
        return EXIT_OK
    if args.command == "explain":
        from policies.engine import explain, suggest

        cluster = load_paths(args.paths, stdin=stdin).cluster
        exp = explain(cluster, args.src, args.dst, protocol=args.protocol, port=args.port,
                      icmp_type=args.icmp_type, icmp_code=args.icmp_code, evaluator=args.evaluator,
                      settings=settings)
        found = suggest(cluster, exp.result, settings=settings) if args.suggest else None
        if args.format == "json":
            data = exp.to_dict()
            if found is not None:
                data["suggestion"] = found.to_dict()
            stdout.write(json.dumps(data, indent=2, sort_keys=True) + "\n")
        else:
            stdout.write(exp.to_text())
            if found is not None:
                stdout.write("\n" + found.to_text())
        return EXIT_OK
    if args.command == "diff":
        from policies.engine import compare_reports, diff_clusters

        old, new = _load_versions(args.old, args.new, stdin)
        d = diff_clusters(old, new, level=args.level, evaluator=args.evaluator, settings=settings)
        verdict = None
        if args.expect:
            before = _check(args.expect, old, args, settings).to_dict()
            after = _check(args.expect, new, args, settings).to_dict()
            verdict = compare_reports(before, after)
        if args.format == "json":
            data = d.to_dict()
            if verdict is not None:
                data["expectations"] = verdict
            stdout.write(json.dumps(data, indent=2, sort_keys=True) + "\n")
        elif args.format == "md":
            stdout.write(d.to_markdown())
            if verdict is not None:
                stdout.write(_verdict_text(verdict, markdown=True))
        else:
            stdout.write(d.to_text())
            if verdict is not None:
                stdout.write(_verdict_text(verdict, markdown=False))
        fail = {"added": bool(d.added), "removed": bool(d.removed), "any": not d.is_empty}
        broken = bool(verdict and verdict["broken"])
        return EXIT_FAIL_ON if broken or (args.fail_on and fail[args.fail_on]) else EXIT_OK
    if args.command == "check":
        cluster = load_paths(args.paths, stdin=stdin).cluster
        report = _check(args.expect, cluster, args, settings)
        if args.format == "json":
            stdout.write(json.dumps(report.to_dict(), indent=2, sort_keys=True) + "\n")
        elif args.format == "md":
            stdout.write(report.to_markdown())
        else:
            stdout.write(report.to_text())
        return EXIT_OK if report.ok else EXIT_FAIL_ON
    # lint
    from policies.engine import lint

    cluster = load_paths(args.paths, stdin=stdin).cluster
    findings = lint(cluster, settings=settings)
    if args.format == "json":
        stdout.write(json.dumps([f.to_dict() for f in findings], indent=2, sort_keys=True) + "\n")
    else:
        for f in findings:
            stdout.write(f"{f}\n")
        if not findings:
            stdout.write("no findings\n")
    if args.fail_on:
        worst = {"error": 0, "warning": 1, "info": 2}[args.fail_on]
        if any({"error": 0, "warning": 1, "info": 2}.get(f.severity, 9) <= worst for f in findings):
            return EXIT_FAIL_ON
    return EXIT_OK


def _load_versions(old: str, new: str, stdin: TextIO) -> tuple[Cluster, Cluster]:
    """Both versions' clusters; the files they share (most, for a change to a few policies) are read
    once: the first result keeps them cached while the second version is read, and no longer."""
    from policies.engine import ParseCache, load_paths

    cache = ParseCache()
    first = load_paths([old], stdin=stdin, cache=cache)
    return first.cluster, load_paths([new], stdin=stdin, cache=cache).cluster


def _check(path: str, cluster: Cluster, args: argparse.Namespace, settings: Settings) -> CheckReport:
    """The expectations of the file at ``path`` checked against the pod graph of ``cluster``."""
    from pathlib import Path

    from policies.engine import PolicyError, build_graph, check_cluster, parse_expectations

    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise PolicyError(f"cannot read the expectations file: {exc}", file=path) from exc
    expectations = parse_expectations(text, file=path)
    graph = build_graph(cluster, level="pod", evaluator=args.evaluator, settings=settings).to_dict()
    return check_cluster(expectations, cluster, graph, evaluator=args.evaluator, settings=settings)


def _verdict_text(verdict: dict[str, list[str]], *, markdown: bool) -> str:
    lines = ["", "### Expectations" if markdown else "Expectations:"]
    for key, label in (("broken", "broken by this change"), ("fixed", "fixed by this change"),
                       ("still_failing", "failing before and after")):
        names = ", ".join(verdict[key]) or "none"
        lines.append(f"- {label}: {names}" if markdown else f"  {label}: {names}")
    return "\n".join(lines) + "\n"


def main(argv: Sequence[str] | None = None) -> int:
    # The engine's numpy does bitwise work only, never linear algebra: OpenBLAS's thread pool,
    # started when numpy is imported, would cost a command 40 ms of CPU and 50 ms of wall time.
    os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
    try:
        return run(sys.argv[1:] if argv is None else argv, sys.stdin, sys.stdout, sys.stderr)
    except BrokenPipeError:
        return EXIT_OK
    except KeyboardInterrupt:
        return EXIT_INTERNAL
    except Exception as exc:  # noqa: BLE001 - the contract is exit code 3 with a message, never a bare traceback
        from policies.engine import PolicyError

        if isinstance(exc, PolicyError):
            sys.stderr.write(f"netpol: error: {exc}\n")
            return EXIT_BAD_INPUT
        sys.stderr.write("netpol: internal error (please report it):\n" + traceback.format_exc(limit=5))
        return EXIT_INTERNAL


if __name__ == "__main__":
    sys.exit(main())
