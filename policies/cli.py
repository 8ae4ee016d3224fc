"""The ``netpol`` command line: the engine on files, with no database and no server.

Exit codes: 0 success; 1 a ``--fail-on`` condition held; 2 bad input (the message names file,
document and field); 3 internal error.
"""

from __future__ import annotations

import argparse
import json
import sys
import traceback
from collections.abc import Sequence
from typing import TextIO

from policies.engine import (
    ENGINE_VERSION,
    PolicyError,
    Settings,
    build_graph,
    diff_clusters,
    explain,
    lint,
    load_paths,
    render,
)

EXIT_OK, EXIT_FAIL_ON, EXIT_BAD_INPUT, EXIT_INTERNAL = 0, 1, 2, 3


def _settings(args: argparse.Namespace) -> Settings:
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


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="netpol", description="What do my Kubernetes and Calico network policies allow?")
    parser.add_argument("--version", action="version", version=f"netpol {ENGINE_VERSION}")
    sub = parser.add_subparsers(dest="command", required=True)

    reach = sub.add_parser("reach", help="the reachability graph of the manifests")
    reach.add_argument("paths", nargs="+", metavar="PATH", help="file, directory or - for standard input")
    reach.add_argument("--format", choices=["json", "txt", "csv", "dot", "md"], default="txt")
    reach.add_argument("--level", choices=["pod", "workload", "namespace"], default="pod")
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
    _common(exp)

    dif = sub.add_parser("diff", help="flows added, removed and changed between two versions")
    dif.add_argument("old", metavar="OLD_PATH")
    dif.add_argument("new", metavar="NEW_PATH")
    dif.add_argument("--format", choices=["json", "txt", "md"], default="txt")
    dif.add_argument("--level", choices=["pod", "workload", "namespace"], default="workload")
    dif.add_argument("--fail-on", choices=["added", "removed", "any"], default=None,
                     help="exit 1 when flows were added, removed, or anything changed")
    _common(dif)

    lnt = sub.add_parser("lint", help="policies that probably do not do what was meant")
    lnt.add_argument("paths", nargs="+", metavar="PATH")
    lnt.add_argument("--format", choices=["json", "txt"], default="txt")
    lnt.add_argument("--fail-on", choices=["error", "warning", "info"], default=None,
                     help="exit 1 when a finding of this severity or worse exists")
    _common(lnt)
    return parser


def run(argv: Sequence[str], stdin: TextIO, stdout: TextIO, stderr: TextIO) -> int:
    args = _parser().parse_args(argv)
    settings = _settings(args)
    if args.command == "reach":
        result = load_paths(args.paths, stdin=stdin)
        for note in result.notes:
            stderr.write(f"note: {note}\n")
        graph = build_graph(result.cluster, level=args.level, evaluator=args.evaluator, settings=settings)
        if args.output == "-":
            render(graph, args.format, out=stdout)
        else:
            with open(args.output, "w", encoding="utf-8") as fh:
                render(graph, args.format, out=fh)
        return EXIT_OK
    if args.command == "explain":
        cluster = load_paths(args.paths, stdin=stdin).cluster
        exp = explain(cluster, args.src, args.dst, protocol=args.protocol, port=args.port,
                      icmp_type=args.icmp_type, icmp_code=args.icmp_code, evaluator=args.evaluator,
                      settings=settings)
        if args.format == "json":
            stdout.write(json.dumps(exp.to_dict(), indent=2, sort_keys=True) + "\n")
        else:
            stdout.write(exp.to_text())
        return EXIT_OK
    if args.command == "diff":
        old = load_paths([args.old], stdin=stdin).cluster
        new = load_paths([args.new], stdin=stdin).cluster
        d = diff_clusters(old, new, level=args.level, evaluator=args.evaluator, settings=settings)
        if args.format == "json":
            stdout.write(json.dumps(d.to_dict(), indent=2, sort_keys=True) + "\n")
        elif args.format == "md":
            stdout.write(d.to_markdown())
        else:
            stdout.write(d.to_text())
        fail = {"added": bool(d.added), "removed": bool(d.removed), "any": not d.is_empty}
        return EXIT_FAIL_ON if args.fail_on and fail[args.fail_on] else EXIT_OK
    # lint
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


def main(argv: Sequence[str] | None = None) -> int:
    try:
        return run(sys.argv[1:] if argv is None else argv, sys.stdin, sys.stdout, sys.stderr)
    except PolicyError as exc:
        sys.stderr.write(f"netpol: error: {exc}\n")
        return EXIT_BAD_INPUT
    except BrokenPipeError:
        return EXIT_OK
    except KeyboardInterrupt:
        return EXIT_INTERNAL
    except Exception:  # noqa: BLE001 - the contract is exit code 3 with a message, never a bare traceback
        sys.stderr.write("netpol: internal error (please report it):\n" + traceback.format_exc(limit=5))
        return EXIT_INTERNAL


if __name__ == "__main__":
    sys.exit(main())
