"""Load from wrk: requests per second, with every response's status counted."""

import json
import shutil
import subprocess
from pathlib import Path
from string import Template

# Each wrk thread has its own Lua state: statuses are counted per thread and
# summed in done(), which prints one JSON line for bench to read.
SCRIPT = Template(r"""
wrk.method = $method
$body
$headers
local threads = {}

function setup(thread)
  table.insert(threads, thread)
end

function init(args)
  statuses = {}
end

function response(status, headers, body)
  statuses[status] = (statuses[status] or 0) + 1
end

function done(summary, latency, requests)
  local totals = {}
  for _, thread in ipairs(threads) do
    for status, count in pairs(thread:get("statuses") or {}) do
      totals[status] = (totals[status] or 0) + count
    end
  end
  local parts = {}
  for status, count in pairs(totals) do
    parts[#parts + 1] = string.format('"%d": %d', status, count)
  end
  local e = summary.errors
  io.write(string.format(
    'BENCH_JSON {"requests": %d, "duration_us": %d, "connect": %d, "read": %d, ' ..
    '"write": %d, "status": %d, "timeout": %d, "p50_us": %d, "p99_us": %d, ' ..
    '"statuses": {%s}}\n',
    summary.requests, summary.duration, e.connect, e.read, e.write, e.status, e.timeout,
    latency:percentile(50), latency:percentile(99), table.concat(parts, ", ")))
end
""")


def lua_string(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
    return f'"{escaped}"'


def write_script(path: Path, method: str, headers: dict, body_path: Path | None = None) -> Path:
    body = ""
    if body_path is not None:
        body = (
            f'local file = assert(io.open({lua_string(str(body_path))}, "rb"))\n'
            'wrk.body = file:read("*a")\n'
            "file:close()"
        )
    header_lines = "\n".join(
        f"wrk.headers[{lua_string(name)}] = {lua_string(value)}" for name, value in headers.items()
    )
    path.write_text(
        SCRIPT.substitute(method=lua_string(method), body=body, headers=header_lines),
        encoding="utf-8",
    )
    return path


def executable() -> str:
    found = shutil.which("wrk")
    if not found:
        raise RuntimeError("wrk is not installed (apt-get install wrk).")
    return found


def run(url: str, script: Path, *, duration: int, threads: int = 2, connections: int = 8) -> dict:
    command = [
        executable(),
        f"-t{threads}",
        f"-c{connections}",
        f"-d{duration}s",
        "-s",
        str(script),
        url,
    ]
    done = subprocess.run(  # noqa: S603 - our own command line
        command, capture_output=True, text=True, timeout=duration + 60, check=False
    )
    line = next((line for line in done.stdout.splitlines() if line.startswith("BENCH_JSON ")), None)
    if done.returncode != 0 or line is None:
        raise RuntimeError(f"wrk failed ({done.returncode}):\n{done.stdout}\n{done.stderr}")
    result = json.loads(line.removeprefix("BENCH_JSON "))
    result["statuses"] = {int(k): v for k, v in result["statuses"].items()}
    result["rps"] = result["requests"] / (result["duration_us"] / 1e6)
    result["socket_errors"] = sum(result[k] for k in ("connect", "read", "write", "timeout"))
    return result


def combine(runs: list[dict]) -> dict:
    """Several runs of one request as one: overall rate, summed counts, worst p99."""
    statuses = {}
    for run in runs:
        for status, count in run["statuses"].items():
            statuses[status] = statuses.get(status, 0) + count
    requests = sum(run["requests"] for run in runs)
    return {
        "rps": requests / (sum(run["duration_us"] for run in runs) / 1e6),
        "round_rps": [run["rps"] for run in runs],
        "requests": requests,
        "statuses": statuses,
        "socket_errors": sum(run["socket_errors"] for run in runs),
        "p99_us": max(run["p99_us"] for run in runs),
    }


def version() -> str:
    done = subprocess.run(  # noqa: S603 - our own command line
        [executable(), "--version"], capture_output=True, text=True, check=False
    )
    words = (done.stdout or done.stderr).split()
    return words[1] if len(words) > 1 else "unknown"
