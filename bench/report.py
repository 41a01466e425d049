"""Turns measurements into the markdown table printed by `make bench` and BENCHMARKS.md."""

from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from bench.harness import CPU_KINDS, Measurement, percentile


@dataclass
class Report:
    machine: dict
    sizes: object
    runs: int
    smoke: bool
    started: datetime
    sections: list[str] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)
    # Headline figures of scenarios 1-3 ({"drain": {variant: jobs/s}, "enqueue": {...},
    # "latency": {variant: (p50, p99, max)}}), so that the peers scenario can show ratios
    # against the platform measured in the same run.
    results: dict[str, dict] = field(default_factory=dict)

    def check(self, ok: bool, message: str) -> None:
        """A correctness failure (a job missing): the run fails, whatever the speed."""
        if not ok:
            self.failures.append(message)

    def _table(self, title: str, header: list[str], rows: list[list[str]], notes=()) -> None:
        lines = [
            f"### {title}",
            "",
            "| " + " | ".join(header) + " |",
            "|" + "|".join("---" for _ in header) + "|",
        ]
        lines += ["| " + " | ".join(row) + " |" for row in rows]
        lines += ["", *notes] if notes else []
        self.sections.append("\n".join(lines))

    @staticmethod
    def verdict(ok: bool) -> str:
        return "met" if ok else "**missed**"

    def drain(self, results: dict[str, Measurement], n: int) -> None:
        platform = results["platform (ledger)"]
        same = results["raw Celery, same reliability"]
        self.results["drain"] = {name: m.median for name, m in results.items()}
        rows = []
        for name, m in results.items():
            rows.append(
                [
                    name,
                    f"{m.median:,.0f}",
                    m.spread(),
                    f"{m.median / same.median:.2f}x",
                    f"{m.extra_median('db_transactions'):.2f}"
                    if "db_transactions" in m.extra
                    else "-",
                    f"{m.extra_median('redis_commands'):.1f}",
                ]
            )
        ratio = platform.median / same.median
        control = results.get("raw Celery + the ledger's two statements by hand")
        control_note = (
            [
                "Raw Celery running only the ledger's claim and finish (the platform's SQL, "
                f"prepared, by hand): {control.median / same.median:.2f}x raw Celery, what "
                "the two statements cost on their own; the platform against it: "
                f"{platform.median / control.median:.2f}x, what the rest of the platform costs."
            ]
            if control
            else []
        )
        self._table(
            f"1. Drain: {n:,} pre-enqueued no-op jobs, prefork -c 2, worker boot excluded",
            [
                "variant",
                "jobs/s (median)",
                "spread",
                "vs raw same settings",
                "DB transactions/job",
                "Redis commands/job",
            ],
            rows,
            [
                f"Target platform ≥ 0.85x raw Celery with the same settings: {ratio:.2f}x — "
                f"{self.verdict(ratio >= 0.85)}. Rows updated per job (platform): "
                f"{platform.extra_median('db_rows_updated'):.2f}.",
                *control_note,
            ],
        )
        self._drain_cpu(results, platform=platform, control=control, raw=same)

    def _drain_cpu(
        self,
        results,
        *,
        platform: Measurement,
        control: Measurement | None,
        raw: Measurement,
    ) -> None:
        """Table 1b: where each variant's CPU goes per drained job, read from /proc."""
        kinds = [k for k in CPU_KINDS if f"cpu {k}" in platform.extra]
        if not kinds:
            return

        def total(m: Measurement) -> float:
            return sum(m.extra_median(f"cpu {k}") for k in kinds)

        rows = [
            [
                name,
                *(f"{m.extra_median(f'cpu {k}'):,.0f}" for k in kinds),
                f"{total(m):,.0f}",
                f"{2e6 / total(m):,.0f}",
            ]
            for name, m in results.items()
            if f"cpu {kinds[0]}" in m.extra
        ]
        notes = [
            "Microseconds of CPU (user + system) per job, medians of the runs, from /proc: "
            "the worker's main process, its pool processes, every PostgreSQL server process "
            "and Redis. The last column is the rate two cores would allow if nothing waited."
        ]
        if control is not None and f"cpu {kinds[0]}" in control.extra:
            extra = ", ".join(
                f"{k} {platform.extra_median(f'cpu {k}') - control.extra_median(f'cpu {k}'):+,.0f}"
                for k in kinds
            )
            ceiling = 2e6 / total(control)
            notes.append(
                f"The platform against the control (the ledger's statements by hand): {extra} "
                f"µs per job; {total(platform) - total(control):+,.0f} µs in all. With "
                f"everything on two shared cores, the control's CPU alone allows at most "
                f"{ceiling:,.0f} jobs/s, {ceiling / raw.median:.2f}x raw Celery's measured "
                "rate: the ceiling the ledger's two statements put on a drain here, "
                "whatever the rest of the platform costs."
            )
        self._table(
            "1b. Drain: CPU per job, by process",
            ["variant", *(f"{k} (µs)" for k in kinds), "total (µs)", "jobs/s if CPU-bound"],
            rows,
            notes,
        )

    def enqueue(self, results: dict[str, Measurement], n: int) -> None:
        raw = results["raw Celery .delay()"]
        self.results["enqueue"] = {name: m.median for name, m in results.items()}
        rows = [
            [name, f"{m.median:,.0f}", m.spread(), f"{m.median / raw.median:.2f}x"]
            for name, m in results.items()
        ]
        delay = results["platform .delay()"].median / raw.median
        many_m = next(m for k, m in results.items() if "enqueue_many" in k)
        many = many_m.median / raw.median
        notes = []
        control = results.get("raw Celery .delay() after the ledger's INSERT by hand")
        if control:
            notes.append(
                "Raw .delay() after the ledger's committed INSERT by hand: "
                f"{control.median / raw.median:.2f}x raw .delay(), what the INSERT costs on "
                f"its own; platform .delay() against it: "
                f"{results['platform .delay()'].median / control.median:.2f}x."
            )
        batch_defer = next((m for k, m in results.items() if "batch_defer" in k), None)
        if batch_defer:
            versus = many_m.median / batch_defer.median
            notes.append(
                "Target enqueue_many ahead of Procrastinate's batch_defer, interleaved in this "
                f"scenario: {versus:.2f}x — {self.verdict(versus > 1)}."
            )
        self._table(
            f"2. Enqueue: {n:,} jobs from one process (no worker running)",
            ["variant", "jobs/s (median)", "spread", "vs raw .delay()"],
            rows,
            [
                f"Targets: enqueue_many ≥ 5x raw .delay(): {many:.1f}x — "
                f"{self.verdict(many >= 5)}; "
                f"platform .delay() ≥ 0.85x raw: {delay:.2f}x — {self.verdict(delay >= 0.85)}.",
                *notes,
            ],
        )

    def latency(self, results: dict[str, list[float]], n: int) -> None:
        self.results["latency"] = {
            name: (percentile(v, 50), percentile(v, 99), max(v)) for name, v in results.items()
        }
        rows = [
            [name, f"{percentile(v, 50):.2f}", f"{percentile(v, 99):.2f}", f"{max(v):.2f}"]
            for name, v in results.items()
        ]
        p50 = percentile(results["platform"], 50)
        ratio = p50 / percentile(results["raw Celery"], 50)
        notes = [f"Target platform p50 ≤ 1.25x raw: {ratio:.2f}x — {self.verdict(ratio <= 1.25)}."]
        control = results.get("raw Celery + the ledger's statements by hand")
        if control:
            alone = percentile(control, 50) / percentile(results["raw Celery"], 50)
            notes.append(
                "Raw Celery with the ledger's INSERT before the publish and its claim before "
                f"the body, by hand: p50 {alone:.2f}x raw, "
                f"what those statements cost on their own; the platform against it: "
                f"{p50 / percentile(control, 50):.2f}x."
            )
        self._table(
            f"3. Latency: {n} sequential jobs on an idle worker, enqueue → start (ms)",
            ["variant", "p50", "p99", "max"],
            rows,
            notes,
        )

    def delayed(self, lateness: list[float], n: int) -> None:
        p95 = percentile(lateness, 95)
        self._table(
            f"4. Delayed precision: {n:,} jobs with delays spread over "
            f"{self.sizes.delayed_spread[0]:g}–{self.sizes.delayed_spread[1]:g} s, lateness (s)",
            ["p50", "p95", "max"],
            [[f"{percentile(lateness, 50):.3f}", f"{p95:.3f}", f"{max(lateness):.3f}"]],
            [f"Target p95 ≤ 0.05 s: {self.verdict(p95 <= 0.05)}."],
        )

    def add_section(self, title: str, header, rows, notes=()) -> None:
        self._table(title, header, rows, notes)

    def render(self) -> str:
        head = "## Results" + (
            " (smoke run: sizes too small to mean anything)" if self.smoke else ""
        )
        body = "\n\n".join([head, *self.sections])
        if self.failures:
            body += "\n\n**Correctness failures:**\n" + "\n".join(f"- {f}" for f in self.failures)
        return body

    def document(self, results: str) -> str:
        machine = "\n".join(f"- {k}: {v}" for k, v in self.machine.items())
        return (
            "# Benchmarks\n\n"
            "Produced by `make bench` (`python -m bench.run`). Every variant runs in the same "
            f"session, interleaved, {self.runs} measured run(s) after a warm-up; the table "
            "shows the median and the spread (min–max). Ratios are the headline; absolute "
            "rates depend on the machine.\n\n"
            f"Run on {self.started:%Y-%m-%d %H:%M} UTC.\n\n{machine}\n\n{results}\n\n"
            + (Path(__file__).parent / "analysis.md").read_text()
        )
