"""The benchmark's report: the same tables printed and written to docs/benchmarks.md."""

import statistics
from dataclasses import dataclass, field

REFUSED_GOAL = 0.8
OUT_OF_PATTERN_GOAL = 0.6  # refused only once the package is received and read
PUSH_GOAL = 4.0  # a 100 KB push's server time, in bare views
READ_GOAL = 0.8  # a download against nginx
INDEX_GOAL = 0.9  # feed indexes and their 304 against the bare view
PRIVATE_GOAL = 0.8  # a private read against the public one
GZIP_SIZE_GOAL = 0.2  # a 128-version index gzipped, against its size
GZIP_RATE_GOAL = 0.95  # and its rate against the uncompressed answer's
DEPLOYED_GOAL = 0.8  # through nginx against nginx serving the same bytes
SEARCH_GOAL_MS = 50  # p99 on PostgreSQL
MEMORY_GOAL_MIB = 64
# Left-aligned in the markdown tables; the other columns hold numbers.
TEXT_COLUMNS = {"", "Call", "Database", "Request", "Responses", "Goal", "Figure", "Value"}

KEY_CHECKS = [
    ("bare_orm", "Bare SELECT by primary key, ORM (baseline)"),
    ("bare_cursor", "Bare SELECT by primary key, raw cursor"),
    ("find_valid", "`find()`, valid key"),
    ("authenticate_valid", "`authenticate()`, valid key"),
    ("authenticate_revoked", "`authenticate()`, revoked key (refused)"),
    ("find_unknown", "`find()`, well-formed unknown key"),
    ("find_malformed", "`find()`, malformed key (no query)"),
    ("authenticate_malformed", "`authenticate()`, malformed key (refused, no query)"),
]
REQUESTS = [
    ("select", "GET /bench/select (baseline)"),
    ("revoked", "PUT package, revoked key"),
    ("out_of_pattern", "PUT package, key outside its glob patterns"),
]


@dataclass
class Table:
    title: str
    note: str
    header: list[str]
    rows: list[list[str]] = field(default_factory=list)


def rate_ratio(run: dict, baseline: dict) -> float:
    """A request's rate against its baseline's: the median over the rounds of the ratio
    within each round (the rounds take turns, so a drift in the machine's speed, common
    on shared machines, hits both alike), as the goals are stated; the ratio of the
    overall rates when the runs are not in paired rounds."""
    pairs = list(zip(run.get("round_rps", ()), baseline.get("round_rps", ()), strict=False))
    if pairs and len(run["round_rps"]) == len(baseline["round_rps"]) and all(b for _a, b in pairs):
        return statistics.median(a / b for a, b in pairs)
    return run["rps"] / baseline["rps"] if baseline["rps"] else 0


def _ratio(value: float, baseline: float) -> str:
    return f"{value / baseline:.2f}×" if baseline else "–"


def _span(values, form: str) -> str:
    return f"{form.format(min(values))}–{form.format(max(values))}"


def _mib(kb: int) -> str:
    return f"{kb / 1024:.1f} MiB"


def _responses(run: dict) -> str:
    text = ", ".join(f"{status}: {count:,}" for status, count in sorted(run["statuses"].items()))
    if run["socket_errors"]:
        text += f"; socket errors: {run['socket_errors']:,}"
    return text or "none"


def _unexpected(run: dict, expected: int) -> int:
    wrong = sum(count for status, count in run["statuses"].items() if status != expected)
    return wrong + run["socket_errors"]


def _meets(ok: bool) -> str:
    return "met" if ok else "NOT MET"


def tables(results: dict) -> list[Table]:
    return [*push_tables(results), _memory_table(results), *feed_tables(results)]


def push_tables(results: dict) -> list[Table]:
    """Sections 1-3: the key check, refused pushes, the 100 KB push."""
    backends = results["backends"]
    first = backends[0]
    key_table = Table(
        "1. API key check in one process",
        f"Microseconds per call, the best of {first['repeat']} runs of "
        f"{first['min_number']:,}–{first['number']:,} calls (fewer for slower calls), with "
        f"{first['keys']:,} keys in the table; the ratio is against the bare ORM SELECT. "
        "`find()` hashes the presented key (HMAC-SHA256) and loads the key, with what the "
        "key rules read of its holder, package owner and membership, and whether it selects "
        "packages by name, in one indexed query: a fixed statement run on a cursor, its row "
        "read with the ORM's converters worked out once per process (nothing compiled or "
        "worked out per request); `authenticate()` "
        "also turns away revoked and expired keys, deactivated accounts and former members "
        "without another query, and notes the key's use (written at most once a minute). "
        "A malformed "
        "key is refused on its shape and checksum, without a query.",
        ["Call"] + [h for b in backends for h in (f"{b['database']['name']} µs", "× bare")],
    )
    for name, label in KEY_CHECKS:
        row = [label]
        for backend in backends:
            timings = backend["timings_us"]
            row += [f"{timings[name]:.1f}", _ratio(timings[name], timings["bare_orm"])]
        key_table.rows.append(row)

    http = first["http"]
    http_table = Table(
        "2. Refused push over HTTP",
        f"Requests per second from wrk (-t2 -c8) against gunicorn with 2 threaded workers (config/gunicorn.py) and "
        "production settings; the ratio is against /bench/select, a bare view behind the same "
        "middleware that runs one indexed SELECT and returns a tiny response. Each kind of "
        f"request gets {results['duration']} s in all, as {http['rounds']} rounds of "
        f"{http['round_seconds']} s that take turns, so that a drift in the machine's speed "
        "hits the baseline and the refusals alike; the ratio is the median of the rounds' "
        "ratios (as the goals are stated), in brackets the lowest and highest round. "
        f"The pushed package is a small valid .nupkg ({http['body_bytes']:,} bytes with its "
        "multipart framing). A revoked key is refused before the body is read; a key whose "
        "glob patterns do not match the package id is refused only after the package has been "
        "received and its manifest read, the costliest refusal, but before the id is looked "
        "up (the key selects no package by name: one query in all, the key's). "
        f"Goal: a refused push is served at ≥ {REFUSED_GOAL:.1f}× the bare view's rate "
        f"(≥ {OUT_OF_PATTERN_GOAL:.1f}× for the out-of-pattern key, refused only once the "
        "package is received and read).",
        [
            "Database",
            "Request",
            "req/s (rounds)",
            "× bare view (rounds)",
            "p99 ms",
            "Responses",
            "Goal",
        ],
    )
    for backend in backends:
        runs = backend["http"]
        for name, label in REQUESTS:
            run = runs[name]
            expected = 200 if name == "select" else 403
            responses = _responses(run)
            if _unexpected(run, expected):
                responses += " (UNEXPECTED)"
            ratio = rate_ratio(run, runs["select"])
            http_table.rows.append(
                [
                    backend["database"]["name"],
                    label,
                    f"{run['rps']:,.0f} ({_span(run['round_rps'], '{:,.0f}')})",
                    f"{ratio:.2f}×"
                    if name == "select"
                    else f"{ratio:.2f}× ({_span(run['round_ratios'], '{:.2f}')})",
                    f"{run['p99_us'] / 1000:.1f}",
                    responses,
                    "–"
                    if name == "select"
                    else _meets(
                        ratio >= (OUT_OF_PATTERN_GOAL if name == "out_of_pattern" else REFUSED_GOAL)
                    ),
                ]
            )

    push_table = Table(
        "3. Server time of a 100 KB push",
        f"Wall time per request from a Python client (http.client) on loopback, one connection "
        f"per request, against the same server, with the baseline requests taking turns with "
        f"the pushes; {first['push']['push']['n']} distinct versions "
        f"of a {first['push']['package_bytes'] / 1024:.0f} KB package of incompressible content, "
        "each answered 201 once the package's bytes and its directory entry are synced to "
        "the disk (in the background while its rows are written, before they commit). The "
        f"server is timed in its steady state: {first['push']['warm_pushes']} pushes of another "
        "id come first, as the wrk rounds come before the baseline (its threads' database "
        "connections have prepared the push's statements, as a server's do once it has been "
        "up a while). The ratio is against the bare view measured the same way.",
        ["Database", "Request", "n", "median ms", "p95 ms", "× bare view (median)"],
    )
    for backend in backends:
        push = backend["push"]
        for name, label in (("select", "GET /bench/select (baseline)"), ("push", "PUT 100 KB")):
            row = push[name]
            push_table.rows.append(
                [
                    backend["database"]["name"],
                    label,
                    str(row["n"]),
                    f"{row['median_ms']:.1f}",
                    f"{row['p95_ms']:.1f}",
                    _ratio(row["median_ms"], push["select"]["median_ms"]),
                ]
            )

    return [key_table, http_table, push_table]


def _memory_table(results: dict) -> Table:
    memory = results["memory"]
    above_kb = memory["peak_rss_kb"] - memory["idle_rss_kb"]
    size_mib = memory["package_bytes"] / (1024 * 1024)
    return Table(
        "4. Memory of a worker receiving a large package",
        "One gunicorn worker (SQLite, threaded as in production) receives a package whose content is 200 MiB of random "
        "bytes (size limit raised to 300 MiB, worker timeout 120 s), streamed by the client from "
        "a file. The worker's resident memory (VmRSS) is read "
        "at idle after a warm-up push, then every 20 ms during the push; VmHWM is the kernel's "
        f"high-water mark. Goal: the peak stays under {MEMORY_GOAL_MIB} MiB above idle, "
        "whatever the package's size.",
        ["Figure", "Value"],
        [
            ["Package", f"{size_mib:.1f} MiB ({memory['package_bytes']:,} bytes)"],
            [
                "Response",
                f"{memory['status']} in {memory['seconds']:.2f} s "
                f"({size_mib / memory['seconds']:.0f} MiB/s)",
            ],
            ["Worker VmRSS at idle (baseline)", _mib(memory["idle_rss_kb"])],
            [
                f"Peak VmRSS during the push ({memory['samples']} samples)",
                _mib(memory["peak_rss_kb"]),
            ],
            [
                "Peak above idle",
                f"{above_kb / 1024:.1f} MiB "
                f"(goal < {MEMORY_GOAL_MIB} MiB: {_meets(above_kb < MEMORY_GOAL_MIB * 1024)})",
            ],
            [
                "VmHWM before → after the push",
                f"{_mib(memory['idle_hwm_kb'])} → {_mib(memory['after_hwm_kb'])}",
            ],
        ],
    )


def feed_tables(results: dict) -> list[Table]:
    """The read section (bench/feed.py)."""
    backends = [b for b in results["backends"] if "feed" in b]
    if not backends:
        return []
    first = backends[0]["feed"]
    index_table = Table(
        "Reading the feed: indexes of a package with 200 versions",
        "Requests per second under wrk (2 threads, 8 connections) against 2 gunicorn threaded "
        "workers, in rounds that take turns with the bare one-SELECT view (each ratio: the "
        "median of the rounds' ratios). The registration "
        f"index lists {first['indexes']['versions_listed']} versions in linked pages (over 128, "
        "as nuget.org); the versions index lists them all. Documents are built once per "
        "revision and kept with their gzip form and ETag in each process (packages/feed.py). "
        "The private read runs on a second gunicorn with GALLEY_FEED_READ=authenticated and "
        "is compared with the public read (a read key for `*` selecting no package by name: "
        "the key's lookup with the registration joined to it, one statement compiled once "
        "per process); the gzipped index with the uncompressed one.",
        ["Request"]
        + [h for b in backends for h in (f"{b['database']['name']} req/s", "p99 ms", "× bare")],
    )
    indexes = first["indexes"]
    rows = [
        ("select", "select", "GET /bench/select (baseline)"),
        ("registration", "select", "GET registration index"),
        ("versions", "select", "GET flat-container versions index"),
        ("not_modified", "select", "GET registration index, If-None-Match (304)"),
        ("private_registration", "registration", "GET it on a private feed (Basic, read key)"),
        (
            "inline",
            "select",
            f"GET a {indexes.get('inline_versions', 128)}-version index (inline), "
            f"{indexes.get('inline_bytes', 0):,} bytes",
        ),
        (
            "inline_gzip",
            "inline",
            f"GET it gzipped, {indexes.get('inline_gzip_bytes', 0):,} bytes",
        ),
    ]
    for name, baseline, label in rows:
        if name not in indexes:
            continue
        row = [label]
        for backend in backends:
            runs = backend["feed"]["indexes"]
            wrong = _unexpected(runs[name], runs.get("expected", {}).get(name, 200))
            row += [
                f"{runs[name]['rps']:,.0f}" + (" (UNEXPECTED)" if wrong else ""),
                f"{runs[name]['p99_us'] / 1000:.1f}",
                f"{rate_ratio(runs[name], runs[baseline]):.2f}×"
                + ("" if baseline == "select" else f" {baseline}"),
            ]
        index_table.rows.append(row)
    search_table = Table(
        "Reading the feed: search over 10,000 packages",
        "Sequential queries of one or two common words (`/query?q=…&take=20`), one connection "
        "each; PostgreSQL full-text search, substring matching on SQLite.",
        ["Database", "queries", "median hits", "p50 ms", "p99 ms"],
    )
    for backend in backends:
        run = backend["feed"]["search"]
        search_table.rows.append(
            [
                backend["database"]["name"],
                str(run["n"]),
                f"{run['median_hits']:,}",
                f"{run['p50_ms']:.1f}",
                f"{run['p99_ms']:.1f}",
            ]
        )
    download_table = Table(
        "Reading the feed: a 10 MB .nupkg download",
        "wrk with 4 connections; Galley streams the file (gunicorn's sendfile), nginx serves "
        "the same file as a static file on loopback.",
        ["Database", "Galley MB/s", "nginx MB/s", "× nginx"],
    )
    for backend in backends:
        run = backend["feed"].get("download")
        if not run:
            continue
        galley = run["galley"]["rps"] * run["bytes"] / 1e6
        nginx = run["nginx"]["rps"] * run["bytes"] / 1e6 if run.get("nginx") else 0
        download_table.rows.append(
            [
                backend["database"]["name"],
                f"{galley:,.0f}",
                f"{nginx:,.0f}" if nginx else "no nginx",
                _ratio(galley, nginx) if nginx else "–",
            ]
        )
    return [
        index_table,
        _queries_table(backends),
        search_table,
        download_table,
        *_deployed_tables(backends),
    ]


def _queries_table(backends) -> Table:
    table = Table(
        "Reading the feed: queries per request",
        "Counted with Django's test client in the benchmark's environment: the first "
        "request for a revision (the document is built), the next ones (the process's "
        "copy) and a revalidation (304). A private read of a document finds the key and "
        "the registration in one statement: the count of a public read; the service index "
        "asks for the key, search and autocomplete also for what the key's owner may read.",
        ["Request"]
        + [h for b in backends for h in (f"{b['database']['name']} first", "again", "304")],
    )
    names = list(backends[0]["feed"].get("queries", {}))
    for name in names:
        row = [name]
        for backend in backends:
            counts = backend["feed"].get("queries", {}).get(name)
            if counts is None:
                row += ["–", "–", "–"]
                continue
            row += [
                str(counts["first"]),
                str(counts["again"]),
                "–" if counts["not_modified"] is None else str(counts["not_modified"]),
            ]
        table.rows.append(row)
    return table


def _deployed_tables(backends) -> list[Table]:
    table = Table(
        "The deployed layout: through nginx (docs/deploy.md)",
        "nginx in front of 2 gunicorn workers as docs/deploy.md sets it up (upstream "
        "keep-alive; public packages sent by nginx from GALLEY_PUBLIC_FILES without asking "
        "Galley, logged for count_download_log; other .nupkg downloads, here the same package "
        "at an address nginx has no link for, checked and counted by Galley and handed back to "
        "nginx by X-Accel-Redirect; public feed "
        "documents kept 10 s in nginx's proxy_cache, their files held open by open_file_cache, "
        "so most reads never reach gunicorn), against the same nginx, with its defaults, serving the same bytes as static files; wrk with 4 connections for "
        "the download, 8 for the documents, in rounds that take turns (each ratio: the median "
        "of the rounds' ratios).",
        ["Database", "Request", "through Galley req/s", "static req/s", "× static"],
    )
    for backend in backends:
        run = backend["feed"].get("deployed")
        name = backend["database"]["name"]
        if not run:
            continue
        if "skipped" in run or "failed" in run:
            table.rows.append([name, run.get("skipped") or f"failed: {run['failed']}", "", "", ""])
            continue
        for kind, label in (
            ("download", f"10 MB .nupkg, public ({run['bytes']['download']:,} bytes)"),
            ("download_asked", "the same, asking Galley (X-Accel-Redirect)"),
            ("registration", f"registration index ({run['bytes']['registration']:,} bytes)"),
            ("versions", f"versions index ({run['bytes']['versions']:,} bytes)"),
        ):
            if f"{kind}_galley" not in run:  # a run from before this row
                continue
            galley, static = run[f"{kind}_galley"], run[f"{kind}_static"]
            table.rows.append(
                [
                    name,
                    label,
                    f"{galley['rps']:,.0f}",
                    f"{static['rps']:,.0f}",
                    f"{rate_ratio(galley, static):.2f}×",
                ]
            )
    return [table]


def feed_goal_lines(results: dict) -> list[str]:
    lines = []
    for backend in results["backends"]:
        feed = backend.get("feed")
        if not feed:
            continue
        name = backend["database"]["name"]
        runs = feed["indexes"]
        for kind, label in (
            ("registration", "registration index"),
            ("versions", "versions index"),
            ("not_modified", "conditional GET answered 304"),
        ):
            if kind not in runs:
                continue
            ratio = rate_ratio(runs[kind], runs["select"])
            lines.append(
                f"{name}, {label}: {ratio:.2f}× the bare view "
                f"(goal ≥ {INDEX_GOAL:.1f}×): {_meets(ratio >= INDEX_GOAL)}"
            )
        if "private_registration" in runs:
            ratio = rate_ratio(runs["private_registration"], runs["registration"])
            lines.append(
                f"{name}, private read: {ratio:.2f}× the public read "
                f"(goal ≥ {PRIVATE_GOAL:.1f}×): {_meets(ratio >= PRIVATE_GOAL)}"
            )
        if "inline_gzip" in runs:
            size = runs["inline_gzip_bytes"] / runs["inline_bytes"]
            rate = rate_ratio(runs["inline_gzip"], runs["inline"])
            lines.append(
                f"{name}, gzip: a {runs['inline_versions']}-version index sent at {size:.0%} "
                f"of its size (goal ≤ {GZIP_SIZE_GOAL:.0%}), at {rate:.2f}× the uncompressed "
                f"rate (goal ≥ {GZIP_RATE_GOAL:.2f}×): "
                f"{_meets(size <= GZIP_SIZE_GOAL and rate >= GZIP_RATE_GOAL)}"
            )
        deployed = feed.get("deployed") or {}
        if "download_galley" in deployed:
            for kind in ("download", "registration", "versions"):
                ratio = rate_ratio(deployed[f"{kind}_galley"], deployed[f"{kind}_static"])
                lines.append(
                    f"{name}, through nginx, {kind}: {ratio:.2f}× nginx serving the same bytes "
                    f"(goal ≥ {DEPLOYED_GOAL:.1f}×): {_meets(ratio >= DEPLOYED_GOAL)}"
                )
            if "download_asked_galley" in deployed:
                asked = deployed["download_asked_galley"]
                ratio = rate_ratio(asked, deployed["download_asked_static"])
                lines.append(
                    f"{name}, through nginx, a download Galley checks and counts "
                    f"(X-Accel-Redirect: private feeds, addresses nginx has no link for): "
                    f"{ratio:.2f}× nginx serving the same bytes (no goal)"
                )
                sent = deployed["download_galley"]["requests"]
                lines.append(
                    f"{name}, downloads nginx sent itself: {deployed['logged_downloads']:,} "
                    f"counted from its log by count_download_log, {sent:,} completed by wrk "
                    f"(and one to check the answer; a request cut at a round's end is "
                    f"logged, not completed)"
                )
        elif deployed:
            lines.append(
                f"{name}, deployed layout: NOT MEASURED "
                f"({deployed.get('skipped') or deployed.get('failed')})"
            )
        if backend["database"]["vendor"] == "postgresql":
            p99 = feed["search"]["p99_ms"]
            lines.append(
                f"{name}, search p99: {p99:.1f} ms (goal < {SEARCH_GOAL_MS} ms): "
                f"{_meets(p99 < SEARCH_GOAL_MS)}"
            )
        download = feed.get("download")
        if download and download.get("nginx"):
            ratio = download["galley"]["rps"] / download["nginx"]["rps"]
            lines.append(
                f"{name}, 10 MB download: {ratio:.2f}× nginx (goal ≥ {READ_GOAL:.1f}×): "
                f"{_meets(ratio >= READ_GOAL)}"
            )
    return lines


def console_tables(tables_: list[Table], goals: list[str] = ()) -> str:
    parts = [_plain(table) for table in tables_]
    if goals:
        parts.append("Goals\n" + "\n".join(f"  {line}" for line in goals))
    return "\n\n".join(parts)


def _environment(results: dict) -> list[tuple[str, str]]:
    m = results["machine"]
    rows = [
        ("Date", m["date"]),
        ("Architecture (`uname -m`)", m["machine"]),
        ("CPU", m["cpu"]),
        ("Cores", str(m["cores"])),
        ("Python", m["python"]),
        ("SQLite", m["sqlite"]),
    ]
    for backend in results["backends"]:
        if backend["database"]["vendor"] == "postgresql":
            rows.append(("PostgreSQL", backend["database"]["version"]))
    rows += [
        ("Django / gunicorn / wrk", f"{m['django']} / {m['gunicorn']} / {m['wrk']}"),
    ]
    return rows


def _goal_lines(results: dict) -> list[str]:
    lines = push_goal_lines(results)
    memory = results["memory"]
    above = (memory["peak_rss_kb"] - memory["idle_rss_kb"]) / 1024
    lines.append(
        f"Large push: {memory['status']}, peak {above:.1f} MiB above idle "
        f"(goal < {MEMORY_GOAL_MIB} MiB): {_meets(above < MEMORY_GOAL_MIB)}"
    )
    return lines + feed_goal_lines(results)


def push_goal_lines(results: dict) -> list[str]:
    lines = []
    for backend in results["backends"]:
        runs = backend["http"]
        for name, goal in (("revoked", REFUSED_GOAL), ("out_of_pattern", OUT_OF_PATTERN_GOAL)):
            ratio = rate_ratio(runs[name], runs["select"])
            lines.append(
                f"{backend['database']['name']}, refused push ({name.replace('_', '-')} key): "
                f"{ratio:.2f}× the bare view (goal ≥ {goal:.1f}×): {_meets(ratio >= goal)}"
            )
        push = backend["push"]
        ratio = push["push"]["median_ms"] / push["select"]["median_ms"]
        lines.append(
            f"{backend['database']['name']}, 100 KB push: {ratio:.2f}× the bare view's server "
            f"time (goal ≤ {PUSH_GOAL:.0f}×): {_meets(ratio <= PUSH_GOAL)}"
        )
    return lines


def _plain(table: Table) -> str:
    cells = [table.header, *table.rows]
    widths = [max(len(row[i]) for row in cells) for i in range(len(table.header))]
    lines = [table.title]
    for n, row in enumerate(cells):
        lines.append("  " + "  ".join(cell.ljust(widths[i]) for i, cell in enumerate(row)).rstrip())
        if n == 0:
            lines.append("  " + "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def console(results: dict) -> str:
    environment = ", ".join(
        f"{name.split(' (')[0]} {value}" for name, value in _environment(results)
    )
    parts = [f"Galley benchmarks — {environment}"]
    parts += [_plain(table) for table in tables(results)]
    parts.append("Goals\n" + "\n".join(f"  {line}" for line in _goal_lines(results)))
    parts.append(f"(run took {results['elapsed']:.0f} s)")
    return "\n\n".join(parts)


def _markdown_table(header: list[str], rows: list[list[str]]) -> str:
    def line(cells):
        return "| " + " | ".join(cell.replace("|", "\\|") for cell in cells) + " |"

    align = ["---" if heading in TEXT_COLUMNS else "--:" for heading in header]
    return "\n".join([line(header), "| " + " | ".join(align) + " |", *map(line, rows)])


def markdown(results: dict) -> str:
    parts = [
        "# Benchmarks",
        "What a push costs Galley, each figure against a baseline measured in the same run on "
        "the same machine. `make bench` (`python -m bench.run`) measures everything on loopback "
        "with SQLite and rewrites this file; `make bench BENCH_ARGS=--postgres` also runs "
        "sections 1–3 on PostgreSQL (a temporary database on 127.0.0.1:5432). Absolute figures "
        "depend on the machine; the ratios are what to compare between runs.",
        "## Machine",
        _markdown_table(["", ""], [list(row) for row in _environment(results)]),
    ]
    for table in tables(results):
        parts += [f"## {table.title}", table.note, _markdown_table(table.header, table.rows)]
    parts += ["## Goals", "\n".join(f"- {line}" for line in _goal_lines(results))]
    return "\n\n".join(parts) + "\n"
