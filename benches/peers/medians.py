#!/usr/bin/env python3
"""Medians over several runs of the peer benchmark (benches/peers/run.sh --out DIR, once per DIR).

    benches/peers/medians.py DIR1/peers.json DIR2/peers.json ... [--json OUT]

For every case (transport, case, size, connections) and server: the median of its value (MiB/s
or requests/s), of its server CPU (ms/MiB or us/request) and of its peak RSS; the ratios are
medians of the per-run ratios (to the stdio ceiling or nginx, and to rmcp), each taken within
one run, so a run on a slower moment counts against every server alike. Prints a Markdown table
of mcp-media's ratios and the goals of issue 12 beside them. Standard library only.
"""
import json
import statistics
import sys


def key(r):
    return (r["transport"], r["case"], r["size_mib"], r["conns"])


def value(r):
    return r["mib_s"] if r["case"] == "read" else r["req_s"]


def cpu(r):
    return r["server_cpu_ms_per_mib"] if r["case"] == "read" else r["server_cpu_us_per_req"]


def main(argv):
    out = None
    if "--json" in argv:
        i = argv.index("--json")
        out = argv[i + 1]
        argv = argv[:i] + argv[i + 2:]
    runs = [json.load(open(p)) for p in argv]
    if not runs:
        sys.exit(__doc__)
    cases = {}
    for n, run in enumerate(runs):
        for r in run["rows"]:
            if r.get("error") or value(r) is None:
                continue
            cases.setdefault(key(r), {}).setdefault(r["server"], {})[n] = r
    rows = []
    for k in sorted(cases, key=lambda k: (k[1] != "read", k[0] != "stdio", k[2] or 0, k[3])):
        per = cases[k]
        ref_name = "ceiling" if k[0] == "stdio" and k[1] == "read" else "nginx"
        for server, by_run in per.items():
            def ratios(other):
                got = [value(r) / value(per[other][n]) for n, r in by_run.items()
                       if other in per and n in per[other] and value(per[other][n])]
                return statistics.median(got) if got else None
            def cpu_ratio(other):
                got = [cpu(r) / cpu(per[other][n]) for n, r in by_run.items()
                       if other in per and n in per[other] and cpu(per[other][n]) and cpu(r) is not None]
                return statistics.median(got) if got else None
            rs = list(by_run.values())
            rows.append({
                "transport": k[0], "case": k[1], "size_mib": k[2], "conns": k[3],
                "server": server, "runs": len(rs),
                "value": statistics.median(value(r) for r in rs),
                "values": [round(value(r), 1) for r in rs],
                "server_cpu": statistics.median(cpu(r) for r in rs if cpu(r) is not None),
                "peak_rss_mib": statistics.median(r["peak_rss_mib"] for r in rs),
                "max_peak_rss_mib": max(r["peak_rss_mib"] for r in rs),
                "vs_ceiling": ratios(ref_name),
                "vs_rmcp": ratios("rmcp"),
                "cpu_vs_rmcp": cpu_ratio("rmcp"),
            })
    if out:
        json.dump({"runs": [{k: r[k] for k in r if k != "rows"} for r in runs], "rows": rows},
                  open(out, "w"), indent=1)
    fmt = lambda x, d=2: "-" if x is None else f"{x:.{d}f}"
    print(f"medians of {len(runs)} runs")
    print("| case | mcp-media | / ceiling or nginx | / rmcp | server CPU / rmcp's | rmcp | Python SDK | filesystem | mcp-media RSS (max) | rmcp RSS |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    by = {}
    for r in rows:
        by.setdefault((r["transport"], r["case"], r["size_mib"], r["conns"]), {})[r["server"]] = r
    for k, s in by.items():
        m = s.get("mcp-media")
        if not m:
            continue
        name = f"{k[0]} {k[1]}" + (f" {k[2]} MiB" if k[1] == "read" else "") + (f", {k[3]} clients" if k[3] > 1 else "")
        other = lambda n: fmt(s[n]["value"], 0) if n in s else "-"
        rss = lambda n: f"{s[n]['peak_rss_mib']:.0f} MiB" if n in s else "-"
        print(f"| {name} | {m['value']:.0f} | {fmt(m['vs_ceiling'])} | {fmt(m['vs_rmcp'])} | {fmt(m['cpu_vs_rmcp'])} | "
              f"{other('rmcp')} | {other('python-sdk')} | {other('server-filesystem')} | "
              f"{rss('mcp-media')} ({m['max_peak_rss_mib']:.0f}) | {rss('rmcp')} |")


if __name__ == "__main__":
    main(sys.argv[1:])
