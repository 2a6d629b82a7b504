"""The benchmark scripts (scripts/bench_*.py and their shared package scripts/bench/): each entry point imports
and answers --help with its options, and the pure pieces they share compute what they say (no benchmark runs)."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SCRIPTS = ROOT / "scripts"
if str(SCRIPTS) not in sys.path:
    sys.path.insert(0, str(SCRIPTS))  # as `python scripts/bench_web.py` has it: bench and production_profile

from bench import databases, drivers, report, servers  # noqa: E402

OPTIONS = {
    "bench_web": ["--products", "--shops", "--reuse", "--copy-from", "--workers", "--connections", "--seconds",
                  "--warmup", "--slo-seconds", "--no-slo", "--rounds", "--bare-seconds", "--rewarm", "--pages",
                  "--round-every", "--port", "--python-load"],
    "bench_writes": ["--servers", "--seconds", "--bare-seconds", "--rounds", "--connections", "--open-seconds",
                     "--multipliers", "--slow-every", "--checkout-buyers", "--cpu-requests", "--port", "--skip"],
    "bench_load": ["--duration", "--buyers", "--workers", "--unique", "--json", "--products"],
}  # fmt: skip


@pytest.mark.parametrize("name", sorted(OPTIONS))
def test_bench_script_answers_help_with_its_options(name):
    result = subprocess.run(
        [sys.executable, str(SCRIPTS / f"{name}.py"), "--help"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        env={"PATH": "/usr/bin:/bin", "COLUMNS": "200"},
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith(f"usage: {name}.py ")
    listed = [word.strip("[],") for word in result.stdout.split() if word.startswith(("--", "[--"))]
    assert sorted(set(listed) - {"--help"}) == sorted(OPTIONS[name])


@pytest.mark.parametrize("name", sorted(OPTIONS))
def test_bench_script_imports_as_a_module_without_running(name, monkeypatch):
    spec = importlib.util.spec_from_file_location(f"{name}_under_test", SCRIPTS / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    monkeypatch.setitem(sys.modules, spec.name, module)  # dataclasses look their module up
    spec.loader.exec_module(module)  # its imports resolve; main() only runs as a script
    assert callable(module.main)


def test_wrk_report_gives_requests_per_second_milliseconds_and_errors():
    output = (
        "Running 2s test @ http://127.0.0.1:8123\n  2 threads and 16 connections\n"
        'BENCH {"requests":500,"duration_us":2000000,"p50":1500,"p95":4000,"p99":12500,'
        '"socket_errors":2,"bad_status":3}\n'
    )
    assert drivers.parse_wrk_report(output) == {
        "rps": 250.0,
        "p50": 1.5,
        "p95": 4.0,
        "p99": 12.5,
        "errors": 5,
        "requests": 500,
    }


def test_wrk_report_missing_stops_the_bench_with_wrks_output():
    with pytest.raises(SystemExit, match="wrk produced no result:\nunable to connect"):
        drivers.parse_wrk_report("unable to connect to 127.0.0.1:8123 Connection refused\n")


def test_open_loop_schedule_sends_each_kind_at_its_rate_in_time_order():
    assert drivers.open_loop_schedule({"add": 2.0, "checkout": 1.0}, 2) == [
        (0.0, "add", 0),
        (0.0, "checkout", 0),
        (0.5, "add", 1),
        (1.0, "add", 2),
        (1.0, "checkout", 1),
        (1.5, "add", 3),
    ]
    assert drivers.open_loop_schedule({"add": 0.5, "checkout": 0.0}, 3) == [(0.0, "add", 0)]


def test_percentiles_pick_the_value_that_share_of_the_way_up():
    assert report.percentiles([float(n) for n in range(100, 0, -1)]) == {"p50": 51.0, "p95": 96.0, "p99": 100.0}
    assert report.percentiles([7.0]) == {"p50": 7.0, "p95": 7.0, "p99": 7.0}
    assert report.percentiles([]) == {"p50": 0.0, "p95": 0.0, "p99": 0.0}


def test_median_pair_is_the_run_of_the_median_ratio_to_its_bare_view():
    low = ({"rps": 10.0}, {"rps": 100.0})  # 10 %
    high = ({"rps": 90.0}, {"rps": 300.0})  # 30 %
    middle = ({"rps": 100.0}, {"rps": 500.0})  # 20 %: neither the middle requests/s nor the middle bare view
    assert report.median_pair([high, low, middle]) is middle


def test_bench_database_is_the_base_name_with_the_suffix_and_keeps_the_rest_of_the_url():
    base = "postgres://bench@10.0.0.5:5433/shop?sslmode=disable"
    assert (
        databases.bench_database_url("_bench_writes", base)
        == "postgres://bench@10.0.0.5:5433/shop_bench_writes?sslmode=disable"
    )
    assert databases.bench_database_url(databases.web_suffix(100_000), base).endswith("/shop_bench?sslmode=disable")
    assert (
        databases.bench_database_url(databases.web_suffix(2_000), "postgres://p@h/") == "postgres://p@h/etsy_bench_2000"
    )
    assert databases.database_name("postgres://p@h:5432/etsy_x_bench_load_1000") == "etsy_x_bench_load_1000"


def test_page_tables_print_each_pages_median_round_and_return_its_ratios(capsys):
    class Args:
        connections, warmup, seconds, bare_seconds, rounds, workers = 16, 1, 2, 1, 3, 2

    def run(rps, p99, cpu_ms=1.0):
        return {"rps": rps, "p50": 1.0, "p95": 2.0, "p99": p99, "errors": 0, "requests": 100, "cpu_ms": cpu_ms}

    pairs = {
        "home, visitor": [
            (run(500.0, 9.0, 2.0), run(1000.0, 3.0)),  # 50 %
            (run(300.0, 8.0, 2.0), run(1000.0, 3.0)),  # 30 %
            (run(400.0, 7.0, 1.0), run(800.0, 3.0)),  # 50 %: its ratio 100 % of round 1's, its rate 80 %
        ]
    }
    summary = report.print_page_tables(Args, products=2_000, engine="wrk", pairs=pairs)
    assert summary == {
        "pages": {"home, visitor": {"ratio": 50.0, "expiry": 100.0, "expiry_rate": 80.0}},
        "bare_rps": 1000.0,
    }
    lines = capsys.readouterr().out.splitlines()
    assert "| home, visitor | 500 | 1000 | 50.0 % | 1.0 | 2.0 | 9.0 | 0 |" in lines
    assert "| home, visitor | 50.0 % (9) | 30.0 % (8) | 50.0 % (7) | 100 % | 80 % |" in lines
    assert "| home, visitor | 2.00 | 2.00 | 1.00 | 200 % |" in lines


def test_steal_share_is_the_stolen_part_of_the_machines_ticks_between_two_readings():
    assert servers.steal_share((10, 1_000), (30, 1_200)) == 10.0
    assert servers.steal_share((5, 100), (5, 100)) == 0.0
    stolen, total = servers.machine_ticks()
    assert 0 <= stolen <= total and total > 0


def test_page_rounds_show_the_cpu_stolen_during_each_pair(capsys):
    class Args:
        connections, warmup, seconds, bare_seconds, rounds, workers = 16, 1, 2, 1, 3, 2

    def run(rps, steal):
        return {"rps": rps, "p50": 1.0, "p95": 2.0, "p99": 9.0, "errors": 0, "requests": 100, "cpu_ms": 1.0,
                "steal": steal}  # fmt: skip

    bare = {"rps": 1000.0, "p50": 1.0, "p95": 2.0, "p99": 3.0, "errors": 0, "requests": 100}
    pairs = {"cart": [(run(500.0, 0.4), bare), (run(500.0, 21.6), bare), (run(400.0, 2.0), bare)]}
    report.print_page_tables(Args, products=2_000, engine="wrk", pairs=pairs)
    assert "| cart | 50.0 % (9; 0 % stolen) | 50.0 % (9; 22 % stolen) | 40.0 % (9; 2 % stolen) | 80 % | 80 % |" in (
        capsys.readouterr().out.splitlines()
    )
