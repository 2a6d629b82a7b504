"""What the benches print: the median of paired runs, and each bench's tables (Markdown, so they
paste into the README as they are) and JSON.

A saturation run is paired with a bare-view run just before it (the machine is shared, so throughput drifts);
its figure is its ratio to that bare run, and a page or write reports the pair of its median ratio.
"""

from __future__ import annotations

Pair = tuple[dict, dict]  # (a run's figures, its bare-view run's figures)

# The documents' page SLOs (ms) and local peak rates (requests/s): bench_web's open loop runs at ten times these.
PAGE_SLO = {
    "home": {"p50": 80, "p95": 200, "p99": 400, "peak": 3},
    "search": {"p50": 50, "p95": 150, "p99": 300, "peak": 5},
    "product": {"p50": 30, "p95": 100, "p99": 200, "peak": 10},
    "cart": {"p50": 20, "p95": 50, "p99": 100, "peak": 1},
}


def median_pair(runs: list[Pair]) -> Pair:
    """The pair of the median ratio to its bare view."""
    ordered = sorted(runs, key=lambda pair: pair[0]["rps"] / pair[1]["rps"])
    return ordered[len(ordered) // 2]


def megabytes(n: int) -> str:
    return f"{n / 2**20:,.0f} MB"


# --- bench_web ----------------------------------------------------------------------------------------------------
def print_page_tables(args, *, products: int, engine: str, pairs: dict[str, list[Pair]]) -> dict:
    """bench_web's saturation tables (medians, each round, CPU per request); return each page's median ratio and
    expiry ratio (round 3 / round 1) and the bare view's median requests/s."""
    bares = sorted((b for runs in pairs.values() for _, b in runs), key=lambda b: b["rps"])
    bare_median = bares[len(bares) // 2]
    print()
    print(
        f"Saturation ({engine}; {args.connections} connections; every URL requested once, then "
        f"{args.warmup} s warm-up; each page run ({args.seconds} s) paired with a bare-view run "
        f"({args.bare_seconds} s) "
        f"just before it; median of {args.rounds} rounds; {products:,} listings; gunicorn {args.workers} sync "
        f"workers; 2 cores shared with the load generator)"
    )
    print("| page | req/s | paired bare req/s | % of bare | p50 ms | p95 ms | p99 ms | errors |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    b = bare_median
    print(
        f"| bare view (ceiling, median of {len(bares)} runs) | {b['rps']:.0f} | – | 100 % | {b['p50']:.1f} | "
        f"{b['p95']:.1f} | {b['p99']:.1f} | {b['errors']} |"
    )
    summary = {"pages": {}, "bare_rps": bare_median["rps"]}
    for label, runs in pairs.items():
        r, b = median_pair(runs)
        errors = sum(run["errors"] for run, _ in runs)
        print(
            f"| {label} | {r['rps']:.0f} | {b['rps']:.0f} | {100 * r['rps'] / b['rps']:.1f} % | {r['p50']:.1f} | "
            f"{r['p95']:.1f} | {r['p99']:.1f} | {errors} |"
        )
    print()
    print(
        "Each round (% of its paired bare view, p99 ms). Round 3 meets the first expiry of the pages "
        "warmed at the start; goal: no page's round 3 below 80 % of its round 1"
    )
    print("| page | " + " | ".join(f"round {n + 1}" for n in range(args.rounds)) + " | round 3 / round 1 |")
    print("|---|" + "---:|" * (args.rounds + 1))
    for label, runs in pairs.items():
        ratios = [100 * run["rps"] / bare_["rps"] for run, bare_ in runs]
        cells = [f"{ratio:.1f} % ({run['p99']:.0f})" for ratio, (run, _) in zip(ratios, runs, strict=True)]
        expiry = 100 * ratios[2] / ratios[0] if len(ratios) >= 3 else 0.0
        print(
            f"| {label} | {' | '.join(cells)} | {expiry:.0f} % |"
            if expiry
            else f"| {label} | {' | '.join(cells)} | – |"
        )
        r, b = median_pair(runs)
        summary["pages"][label] = {"ratio": 100 * r["rps"] / b["rps"], "expiry": expiry}
    print()
    print(
        "Server and database CPU ms a request, each round (a loaded machine moves it too: 1.5 to 2.3 ms between "
        "rounds without any rebuild, seen on a shared machine); round 1 / round 3 is round 3's throughput from "
        "its CPU alone"
    )
    print("| page | " + " | ".join(f"round {n + 1}" for n in range(args.rounds)) + " | round 1 / round 3 |")
    print("|---|" + "---:|" * (args.rounds + 1))
    for label, runs in pairs.items():
        cpu = [run["cpu_ms"] for run, _ in runs]
        ratio = f"{100 * cpu[0] / cpu[2]:.0f} %" if len(cpu) >= 3 and cpu[2] else "–"
        print(f"| {label} | {' | '.join(f'{ms:.2f}' for ms in cpu)} | {ratio} |")
    return summary


def print_side_by_side(results: dict[int, dict]) -> None:
    """Each page's ratio to its paired bare view at every size, the expiry round's, and each size's database."""
    sizes = list(results)
    head = " | ".join(f"{n:,}" for n in sizes)
    print()
    print("Every size side by side (% of the paired bare view, median round; in brackets round 3 / round 1)")
    print(f"| page | {head} | change from the second-largest to the largest |")
    print("|---|" + "---:|" * len(sizes) + "---:|")
    labels = list(next(iter(results.values()))["pages"])
    for label in labels:
        cells, ratios = [], []
        for n in sizes:
            page = results[n]["pages"].get(label)
            if page is None:
                cells.append("–")
                continue
            ratios.append(page["ratio"])
            cells.append(
                f"{page['ratio']:.1f} % ({page['expiry']:.0f} %)" if page["expiry"] else f"{page['ratio']:.1f} %"
            )
        change = f"{ratios[-1] - ratios[-2]:+.1f} points" if len(ratios) > 1 else "–"
        print(f"| {label} | {' | '.join(cells)} | {change} |")
    print(f"| bare view req/s (median) | {' | '.join(str(round(results[n]['bare_rps'])) for n in sizes)} | |")
    print(
        f"| load time | {' | '.join(results[n]['load_time'] for n in sizes)} | |\n"
        f"| database size | {' | '.join(megabytes(results[n]['sizes']['database']) for n in sizes)} | |\n"
        f"| tables (heap + TOAST) | {' | '.join(megabytes(results[n]['sizes']['tables']) for n in sizes)} | |\n"
        f"| indexes | {' | '.join(megabytes(results[n]['sizes']['indexes']) for n in sizes)} | |"
    )
