"""`make mutants`: mutation testing of the modules that decide who may do what.

For each module in mutants/modules.toml, mutmut 3 mutates that one file and runs
only the module's own test files against each mutant (its fork-based runner
starts pytest and Django once, then forks a process per mutant). Each module runs
in a scratch copy of the project under var/mutants/<module>/, because mutmut
keeps its mutated copy in a `mutants/` folder of the directory it runs in, and
each module needs its own configuration.

Survivors listed in mutants/accepted.toml (equivalent mutants, each with its
reason) are counted apart. The summary gives, per module: mutants, killed,
survived, accepted, and the kill rate of the non-equivalent ones; every other
survivor is printed with its diff, and the exit status is 1 when there is one.
Each module's results are kept in var/mutants/results/<module>.json, which
`--report` reads to print the summary again without running anything, against
the accepted.toml of the moment (accept a survivor, then see the table).

    python mutants/run.py                        # every module
    python mutants/run.py apikeys/tokens.py      # some of them
    python mutants/run.py --jobs 1               # one worker (default: 2)
    python mutants/run.py --report               # the last results, no run
"""

import argparse
import hashlib
import json
import os
import resource
import shutil
import subprocess
import sys
import time
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
HERE = ROOT / "mutants"
SCRATCH = ROOT / "var" / "mutants"
# Never copied into a scratch copy: mutmut's own folder name, and bulky or local things.
NOT_COPIED = ("mutants/", "node_modules/", "var/", "test-artifacts/", "staticfiles/")

KILLED = {"killed", "timeout", "caught by type check", "segfault"}


@dataclass
class Module:
    path: str
    tests: list[str]
    functions: list[str] = field(default_factory=list)

    @property
    def slug(self) -> str:
        return self.path.removesuffix(".py").replace("/", ".")


@dataclass
class Outcome:
    """What one run of a module found, as kept in its results.json: every mutant's
    status, the diff of each one not killed, and the run's duration."""

    statuses: dict[str, str]  # mutant name -> mutmut's status
    diffs: dict[str, str]  # mutant name -> diff, for mutants not killed
    seconds: float
    source: str  # source_hash() when it ran
    cpu: float = 0.0  # processor seconds the run used (its share of a busy machine aside)

    @classmethod
    def load(cls, module: Module) -> "Outcome | None":
        try:
            return cls(**json.loads(results_file(module).read_text()))
        except FileNotFoundError:
            return None

    def save(self, module: Module) -> None:
        results_file(module).parent.mkdir(parents=True, exist_ok=True)
        results_file(module).write_text(json.dumps(self.__dict__, indent=1, ensure_ascii=False))


@dataclass
class Result:
    module: Module
    statuses: dict[str, str]  # mutant name -> mutmut's status
    accepted: list[str]
    survivors: dict[str, str]  # mutant name -> diff, for survivors not accepted
    stale: list[str]  # accepted names whose mutation is no longer the one accepted
    seconds: float
    cpu: float = 0.0
    changed: bool = False  # the module, its tests or its entry changed since these results

    @property
    def killed(self) -> int:
        return sum(status in KILLED for status in self.statuses.values())

    @property
    def survived(self) -> int:
        return len(self.statuses) - self.killed - len(self.accepted)

    @property
    def kill_rate(self) -> float:
        counted = len(self.statuses) - len(self.accepted)
        return 100.0 * self.killed / counted if counted else 100.0


def results_file(module: Module) -> Path:
    """Beside the scratch copy, which a new run deletes first: a run stopped half-way
    leaves the last complete results in place."""
    return SCRATCH / "results" / f"{module.slug}.json"


def source_hash(module: Module) -> str:
    """What the results depend on: the mutated file, its tests and its entry."""
    digest = hashlib.sha256(json.dumps([module.path, module.tests, module.functions]).encode())
    paths = [ROOT / module.path]
    for test in module.tests:
        found = ROOT / test.split("::")[0]
        paths += sorted(found.rglob("*.py")) if found.is_dir() else [found]
    for path in paths:
        digest.update(path.read_bytes() if path.exists() else b"")
    return digest.hexdigest()


def load_modules() -> list[Module]:
    with open(HERE / "modules.toml", "rb") as f:
        return [Module(**entry) for entry in tomllib.load(f)["module"]]


def load_accepted() -> dict[str, dict]:
    """{mutant name: {"mutation": the mutated line, "reason": why it is equivalent}}."""
    with open(HERE / "accepted.toml", "rb") as f:
        return {entry["mutant"]: entry for entry in tomllib.load(f).get("accepted", [])}


def project_files() -> list[str]:
    listed = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard", "-z"],  # noqa: S607
        cwd=ROOT,
        check=True,
        capture_output=True,
    ).stdout.decode()
    return [name for name in listed.split("\0") if name and not name.startswith(NOT_COPIED)]


def packages(files: list[str]) -> list[str]:
    """The project's top-level Python packages (the apps and config): mutmut copies
    them into its mutated tree; everything else is copied beside them."""
    return sorted(
        {
            name.split("/")[0]
            for name in files
            if name.count("/") == 1
            and name.endswith("/__init__.py")
            and not name.startswith("tests/")
        }
    )


def prepare(module: Module, files: list[str]) -> Path:
    """A fresh copy of the project for `module`, with its mutmut configuration."""
    work = SCRATCH / module.slug
    shutil.rmtree(work, ignore_errors=True)
    for name in files:
        source = ROOT / name
        if source.is_file():
            target = work / name
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target)
    sources = packages(files)
    also_copy = sorted({name.split("/")[0] for name in files} - set(sources) - {"tests"})
    config = {
        "source_paths": sources,
        "only_mutate": [module.path],
        "also_copy": also_copy,
        # The schema from the models, not the migrations: 0.3 s instead of 5 s for
        # each mutant's test database (mutants change code, never a migration).
        "pytest_add_cli_args": ["-p", "no:cacheprovider", "--nomigrations"],
        "pytest_add_cli_args_test_selection": module.tests,
        # Results are always fresh: the scratch copy is made anew for each run.
        "use_git_change_detection": False,
    }
    with open(work / "pyproject.toml", "a") as f:
        f.write("\n[tool.mutmut]\n")
        for key, value in config.items():
            f.write(f"{key} = {json.dumps(value)}\n")
    return work


def mutmut(work: Path, *args: str, log=None) -> subprocess.CompletedProcess:
    env = {name: value for name, value in os.environ.items() if name != "DATABASE_URL"}
    # SQLite in memory: each forked mutant gets a database of its own.
    return subprocess.run(  # noqa: S603 - our own interpreter and script, fixed arguments
        [sys.executable, str(HERE / "launch.py"), *args],
        cwd=work,
        env=env,
        stdout=log or subprocess.PIPE,
        stderr=subprocess.STDOUT if log else None,
        text=True,
    )


def statuses(work: Path, module: Module) -> dict[str, str]:
    from fnmatch import fnmatch

    from mutmut.stats import status_by_exit_code

    meta = json.loads((work / "mutants" / (module.path + ".meta")).read_text())
    return {
        name: status_by_exit_code[code]
        for name, code in meta["exit_code_by_key"].items()
        if not module.functions or any(fnmatch(name, pattern) for pattern in module.functions)
    }


def mutated_lines(diff: str) -> list[str]:
    """The lines a mutant changes: added ones, or removed ones for a deletion."""
    return [line.strip()[1:].strip() for line in changed_lines(diff)]


def changed_lines(diff: str) -> list[str]:
    return [
        "    " + line
        for line in diff.splitlines()
        if line[:1] in ("+", "-") and not line.startswith(("+++", "---"))
    ]


def cpu_seconds() -> float:
    """Processor time of the finished child processes (mutmut and its forks)."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def run_module(module: Module, files: list[str], jobs: int) -> Outcome:
    started, cpu = time.monotonic(), cpu_seconds()
    work = prepare(module, files)
    with open(work / "mutmut.log", "w") as log:
        done = mutmut(work, "run", "--max-children", str(jobs), *module.functions, log=log)
    found = statuses(work, module)
    if done.returncode != 0 or not found:
        sys.exit(f"mutmut failed for {module.path}: see {work / 'mutmut.log'}")
    alive = sorted(name for name, status in found.items() if status not in KILLED)
    diffs = json.loads(mutmut(work, "diffs", *alive).stdout) if alive else {}
    outcome = Outcome(
        found, diffs, time.monotonic() - started, source_hash(module), cpu_seconds() - cpu
    )
    outcome.save(module)
    return outcome


def judge(module: Module, outcome: Outcome, accepted: dict[str, dict]) -> Result:
    """Sort the mutants not killed into accepted ones and survivors."""
    survivors, taken, stale = {}, [], []
    for name in sorted(outcome.diffs):
        status, diff = outcome.statuses[name], outcome.diffs[name]
        entry = accepted.get(name)
        if entry and entry["mutation"].strip() in mutated_lines(diff):
            taken.append(name)
            continue
        if entry:
            stale.append(name)
        survivors[name] = f"({status})\n" + "\n".join(changed_lines(diff))
    changed = outcome.source != source_hash(module)
    return Result(
        module, outcome.statuses, taken, survivors, stale, outcome.seconds, outcome.cpu, changed
    )


def summary(results: list[Result], accepted: dict[str, dict]) -> str:
    lines = [
        "",
        f"{'module':32} {'mutants':>8} {'killed':>7} {'survived':>9} {'accepted':>9} "
        f"{'kill rate':>10} {'time':>7} {'cpu':>7}",
    ]
    for r in results:
        lines.append(
            f"{r.module.path:32} {len(r.statuses):8} {r.killed:7} {r.survived:9} "
            f"{len(r.accepted):9} {r.kill_rate:9.1f}% {r.seconds:6.0f}s {r.cpu:6.0f}s"
        )
    if len(results) > 1:
        total = sum(len(r.statuses) for r in results)
        killed = sum(r.killed for r in results)
        taken = sum(len(r.accepted) for r in results)
        rate = 100.0 * killed / (total - taken) if total > taken else 100.0
        lines.append(
            f"{'total':32} {total:8} {killed:7} {total - killed - taken:9} {taken:9} "
            f"{rate:9.1f}% {sum(r.seconds for r in results):6.0f}s "
            f"{sum(r.cpu for r in results):6.0f}s"
        )
    lines.append(
        "(kill rate: killed / (mutants - accepted); timeouts count as killed; time is the"
        " wall-clock time, cpu the processor time, which a busy machine does not inflate)"
    )
    for r in results:
        if r.changed:
            lines.append(
                f"CHANGED: {r.module.path}, its tests or its entry changed since these results:"
                " run it again"
            )
        for name, diff in r.survivors.items():
            lines += ["", f"SURVIVED {name} {diff}"]
        for name in r.stale:
            lines.append(f"STALE: {name} is accepted in mutants/accepted.toml for another mutation")
        for name in accepted:
            if name in r.statuses and r.statuses[name] in KILLED:
                lines.append(
                    f"NOTE: {name} is accepted but now killed: remove it from accepted.toml"
                )
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("paths", nargs="*", help="modules to run (default: all of modules.toml)")
    parser.add_argument("--jobs", type=int, default=2, help="mutants tested at once")
    parser.add_argument(
        "--report", action="store_true", help="summarise the last results instead of running"
    )
    options = parser.parse_args()
    modules = load_modules()
    unknown = set(options.paths) - {m.path for m in modules}
    if unknown:
        parser.error(f"not in mutants/modules.toml: {', '.join(sorted(unknown))}")
    if options.paths:
        modules = [m for m in modules if m.path in options.paths]
    accepted = load_accepted()
    results = []
    if options.report:
        for module in modules:
            outcome = Outcome.load(module)
            if outcome is None:
                print(f"mutants: no results for {module.path} yet", flush=True)
            else:
                results.append(judge(module, outcome, accepted))
    else:
        files = project_files()
        for module in modules:
            print(f"mutants: {module.path} against {len(module.tests)} test file(s)…", flush=True)
            results.append(judge(module, run_module(module, files, options.jobs), accepted))
            print(summary(results[-1:], {}).splitlines()[2], flush=True)
    print(summary(results, accepted))
    return 1 if any(r.survivors for r in results) or len(results) < len(modules) else 0


if __name__ == "__main__":
    sys.exit(main())
