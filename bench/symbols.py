"""make bench, symbols section: an SSQP lookup against the bare view, and the memory
of a worker receiving a 50 MiB `.snupkg`.

The pair is the real one of the tests (tests/data/symbols, clr_loader's ClrLoader,
MIT). For the large push, the PDB is padded to 50 MiB with random bytes after its
metadata, and the DLL's PDB checksum entry is patched to the padded PDB's checksum,
so that the push passes every check and stores its PDB: the whole path is measured
(read, match, extract, store), not a refusal.
"""

import hashlib
import io
import os
import time
import zipfile

from bench import client, nupkgs, wrk
from bench.server import ROOT, Gunicorn, read_status

DATA = ROOT / "tests" / "data" / "symbols"
MIB = 1024 * 1024
LARGE = 50 * MIB
SYMBOLS_PATH = "/api/v2/symbolpackage"
SNUPKG_NUSPEC = nupkgs.NUSPEC.replace(
    "</metadata>",
    '<packageTypes><packageType name="SymbolsPackage" /></packageTypes></metadata>',
)


def _checksum(pdb: bytes) -> bytes:
    at = pdb.index(b"#Pdb")  # stream header; its offset field is 8 bytes before the name
    offset = int.from_bytes(pdb[at - 8 : at - 4], "little")
    return hashlib.sha256(pdb[:offset] + bytes(20) + pdb[offset + 20 :]).digest()


def _packages(package_id: str, version: str, pdb: bytes, dll: bytes) -> tuple[bytes, bytes]:
    lib = f"lib/net8.0/{package_id}"
    nupkg, snupkg = io.BytesIO(), io.BytesIO()
    with zipfile.ZipFile(nupkg, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(
            f"{package_id}.nuspec", nupkgs.NUSPEC.format(id=package_id, version=version)
        )
        archive.writestr(f"{lib}.dll", dll)
    with zipfile.ZipFile(snupkg, "w", zipfile.ZIP_STORED) as archive:
        archive.writestr(
            f"{package_id}.nuspec", SNUPKG_NUSPEC.format(id=package_id, version=version)
        )
        archive.writestr(f"{lib}.pdb", pdb)
    return nupkg.getvalue(), snupkg.getvalue()


def _push(port, secret, body: bytes, url: str, what: str) -> None:
    headers = {"Content-Type": nupkgs.CONTENT_TYPE, "X-NuGet-ApiKey": secret}
    answer = client.request(port, "PUT", url, body=nupkgs.multipart(body), headers=headers)
    if answer.status != 201:
        raise RuntimeError(f"{what}: {answer.status} {answer.body[:300]!r}")


def lookups(backend, secret: str, duration: int, rounds: int) -> dict:
    dll, pdb = (DATA / "ClrLoader.dll").read_bytes(), (DATA / "ClrLoader.pdb").read_bytes()
    nupkg, snupkg = _packages("Contoso.Symbols", "1.0.0", pdb, dll)
    offset = int.from_bytes(pdb[pdb.index(b"#Pdb") - 8 : pdb.index(b"#Pdb") - 4], "little")
    guid = pdb[offset : offset + 16]
    key = guid[3::-1].hex() + guid[5:3:-1].hex() + guid[7:5:-1].hex() + guid[8:].hex()
    paths = {
        "select": "/bench/select",
        "symbol": f"/download/symbols/contoso.symbols.pdb/{key}FFFFFFFF/contoso.symbols.pdb",
    }
    with Gunicorn(backend.env, backend.log("gunicorn-symbols"), workers=2) as server:
        _push(server.port, secret, nupkg, client.PUSH_PATH, "symbols' package push")
        _push(server.port, secret, snupkg, SYMBOLS_PATH, "symbol push")
        for path in paths.values():
            for _ in range(4):
                answer = client.request(server.port, "GET", path)
                if answer.status != 200:
                    raise RuntimeError(f"{path}: {answer.status} {answer.body[:200]!r}")
        if answer.body != pdb:
            raise RuntimeError("the symbol server answered other bytes than the PDB")
        base = f"http://{client.HOST}:{server.port}"
        script = wrk.write_script(backend.folder / "symbols-get.lua", "GET", {})
        seconds = max(1, round(duration / rounds))
        runs = {name: [] for name in paths}
        for _ in range(rounds):
            for name, path in paths.items():
                runs[name].append(wrk.run(base + path, script, duration=seconds))
    result = {name: wrk.combine(kind_runs) for name, kind_runs in runs.items()}
    for name, combined in result.items():
        if set(combined["statuses"]) != {200} or combined["socket_errors"]:
            raise RuntimeError(f"{name}: not every answer was a 200: {combined}")
    result["ratio"] = result["symbol"]["rps"] / result["select"]["rps"]
    result["pdb_bytes"] = len(pdb)
    return result


def large_push(backend, secret: str, sampler_class) -> dict:
    dll, pdb = (DATA / "ClrLoader.dll").read_bytes(), (DATA / "ClrLoader.pdb").read_bytes()
    padded = pdb + os.urandom(LARGE - len(pdb))
    patched = dll.replace(_checksum(pdb), _checksum(padded))
    nupkg, snupkg = _packages("Contoso.LargeSymbols", "1.0.0", padded, patched)
    path = backend.folder / "large.snupkg"
    path.write_bytes(snupkg)
    del padded, snupkg
    try:
        with Gunicorn(
            backend.env, backend.log("gunicorn-symbols-1"), workers=1, timeout=120
        ) as server:
            (worker,) = server.worker_pids()
            _push(server.port, secret, nupkg, client.PUSH_PATH, "large symbols' package push")
            time.sleep(0.5)
            idle = read_status(worker)
            sampler = sampler_class(worker)
            sampler.start()
            try:
                answer = client.push_file(server.port, secret, path, url=SYMBOLS_PATH)
            finally:
                sampler.stop()
            after = read_status(worker)
    finally:
        size = path.stat().st_size
        path.unlink(missing_ok=True)
    if answer.status != 201:
        raise RuntimeError(f"50 MiB symbol push: {answer.status} {answer.body[:300]!r}")
    peak = max(sampler.peak_kb, after["VmRSS"])
    return {
        "snupkg_bytes": size,
        "seconds": answer.seconds,
        "idle_rss_kb": idle["VmRSS"],
        "peak_rss_kb": peak,
        "above_idle_mib": (peak - idle["VmRSS"]) / 1024,
        "samples": sampler.samples,
    }


def run(backend, keys: dict, say, sampler_class, duration: int, rounds: int) -> dict:
    say("symbols: SSQP lookups against the bare view (wrk)")
    result = {"lookups": lookups(backend, keys["push"], duration, rounds)}
    say("symbols: a 50 MiB .snupkg pushed to one worker, sampling its memory")
    result["large"] = large_push(backend, keys["push"], sampler_class)
    return result


def markdown(result: dict) -> str:
    lookups, large = result["lookups"], result["large"]
    ratio, above = lookups["ratio"], large["above_idle_mib"]
    return "\n".join(
        [
            "## Symbols",
            "",
            f"An SSQP lookup (`/download/symbols/…`, a {lookups['pdb_bytes']:,}-byte portable "
            "PDB streamed) against the bare view, under gunicorn with two workers (wrk, "
            "requests per second, in turns):",
            "",
            "| | requests/s | p99 |",
            "|---|---:|---:|",
            *(
                f"| {label} | {lookups[name]['rps']:,.0f} | {lookups[name]['p99_us'] / 1000:.1f} ms |"
                for label, name in (("bare view", "select"), ("symbol lookup", "symbol"))
            ),
            "",
            f"Lookup / bare view: **{ratio:.2f}×** (goal ≥ 0.8×: {'met' if ratio >= 0.8 else 'NOT met'}).",
            "",
            f"A {large['snupkg_bytes'] / MIB:.0f} MiB `.snupkg` (one 50 MiB portable PDB, matched to "
            f"its DLL, extracted and stored) pushed to one worker in {large['seconds']:.1f} s: "
            f"its memory peaked **{above:.1f} MiB** above idle ({large['idle_rss_kb'] / 1024:.0f} "
            f"MiB; {large['samples']} samples) (goal < 64 MiB: {'met' if above < 64 else 'NOT met'}).",
            "",
        ]
    )
