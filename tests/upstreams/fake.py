"""A NuGet V3 feed on loopback, in a thread, playing an upstream source: well
behaved, or faulty on demand (errors, timeouts, truncated, oversized or foreign
bodies)."""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from packages.nupkg import NuGetVersion


class FakeUpstream:
    def __init__(self):
        self.packages: dict[tuple[str, str], bytes] = {}
        self.entries: dict[str, list[dict]] = {}
        self.faults: dict[str, str] = {}  # path fragment -> fault
        self.requests: list[str] = []
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(self))
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.index = f"{self.url}/v3/index.json"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def add(self, package_id: str, version: str, data: bytes, **entry) -> None:
        identity = NuGetVersion.parse(version).identity_key
        self.packages[(package_id.lower(), identity)] = data
        self.entries.setdefault(package_id.lower(), []).append(
            {
                "@id": f"{self.url}/catalog/{package_id}.{version}.json",
                "@type": "PackageDetails",
                "id": package_id,
                "version": version,
                "listed": True,
                "description": "Upstream.",
                "authors": "upstream",
                **entry,
            }
        )

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def answer(self, path: str):
        """(status, headers, body) for a path; faults are applied by the handler."""
        if path == "/v3/index.json":
            return _json(
                {
                    "version": "3.0.0",
                    "resources": [
                        {
                            "@id": f"{self.url}/v3-flatcontainer/",
                            "@type": "PackageBaseAddress/3.0.0",
                        },
                        {
                            "@id": f"{self.url}/v3/registration/",
                            "@type": "RegistrationsBaseUrl/3.6.0",
                        },
                    ],
                }
            )
        parts = path.strip("/").split("/")
        if parts[:2] == ["v3", "registration"] and len(parts) == 4:
            entries = self.entries.get(parts[2])
            if not entries:
                return 404, {}, b""
            items = [
                {
                    "@id": e["@id"],
                    "catalogEntry": e,
                    "packageContent": f"{self.url}/v3-flatcontainer/x.nupkg",
                }
                for e in entries
            ]
            return _json({"count": 1, "items": [{"count": len(items), "items": items}]})
        if parts[0] == "v3-flatcontainer" and len(parts) == 4:
            data = self.packages.get((parts[1], parts[2]))
            if data is None:
                return 404, {}, b""
            return 200, {"Content-Type": "application/octet-stream"}, data
        return 404, {}, b""


def _json(data):
    return 200, {"Content-Type": "application/json"}, json.dumps(data).encode()


def _handler(upstream: FakeUpstream):
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args):
            pass

        def do_GET(self):
            upstream.requests.append(self.path)
            fault = next((f for part, f in upstream.faults.items() if part in self.path), None)
            if fault == "500":
                return self._send(500, {}, b"oops")
            if fault == "slow":
                time.sleep(4)  # over the tests' GALLEY_UPSTREAM_TIMEOUT of 2 s
            status, headers, body = upstream.answer(self.path)
            if fault == "truncated":
                self.send_response(status)
                self.send_header("Content-Length", str(len(body) + 1000))
                self.end_headers()
                self.wfile.write(body[: len(body) // 2])
                self.wfile.flush()
                self.close_connection = True
                return None
            if fault == "huge":  # no Content-Length: the size shows only as it streams
                self.send_response(200)
                self.send_header("Connection", "close")
                self.end_headers()
                for _ in range(64):
                    self.wfile.write(b"\0" * 65536)
                self.close_connection = True
                return None
            if fault and fault.startswith("serve:"):
                body = upstream.packages[tuple(fault.removeprefix("serve:").split("/"))]
            return self._send(status, headers, body)

        def _send(self, status, headers, body):
            self.send_response(status)
            for name, value in headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    return Handler
