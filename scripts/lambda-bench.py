#!/usr/bin/env python3
"""Time the Lambda binary the way Lambda runs it: a local stand-in for the Lambda Runtime API.

    lambda-bench.py BOOTSTRAP EVENT.json [EVENT.json ...] [--repeat N] [--responses DIR]

Starts BOOTSTRAP (the das-partitioner binary) with AWS_LAMBDA_RUNTIME_API pointing at a
loopback HTTP server that implements the runtime API's next/response/error routes, hands it
each EVENT (all of them, N times over), and reports:
  start_to_ready_ms   process start until its first GET /invocation/next (the cold start's
                      init phase: logging, configuration, AWS SDK client)
  invocations         per invocation: ms from handing out the event to receiving the
                      response, request and response bytes, Ok/Dropped/ProcessingFailed counts,
                      the record data's size before and after (the output/input expansion)
  peak_rss_kb         the process's peak resident memory (VmHWM) after the last invocation
  cpu_ms_total        the process's CPU time (user + system) over all invocations
The first invocation of an event decrypts its data keys with KMS (cache cold); repeats hit the
key cache, like a warm Lambda sandbox. KMS is whatever the environment points at (run it under
scripts/with-moto.sh for the local emulator). Standard library only.
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import subprocess
import sys
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path


class RuntimeApi:
    """The queue of invocations and what came back."""

    def __init__(self, events: list[bytes], save: Path | None) -> None:
        self.events = list(events)
        self.save = save
        self.results: list[dict] = []
        self.ready_at: float | None = None
        self.sent_at: dict[str, tuple[float, bytes]] = {}
        self.done = threading.Event()
        self.lock = threading.Lock()

    def next_event(self) -> tuple[str, bytes] | None:
        with self.lock:
            if self.ready_at is None:
                self.ready_at = time.perf_counter()
            if not self.events:
                self.done.set()
                return None
            request_id = str(uuid.uuid4())
            body = self.events.pop(0)
            self.sent_at[request_id] = (time.perf_counter(), body)
            return request_id, body

    def finish(self, request_id: str, body: bytes, error: bool) -> None:
        now = time.perf_counter()
        with self.lock:
            started, request = self.sent_at.pop(request_id)
            self.results.append(summarise(request, body, (now - started) * 1000, error))
            if self.save:
                (self.save / f"{len(self.results):04d}.json").write_bytes(body)


def decoded_sizes(records: list[dict]) -> int:
    return sum(len(base64.b64decode(r.get("data") or "")) for r in records)


def summarise(request: bytes, response: bytes, ms: float, error: bool) -> dict:
    out = {"ms": round(ms, 2), "request_bytes": len(request), "response_bytes": len(response)}
    if error:
        out["error"] = response.decode(errors="replace")[:300]
        return out
    records_in = json.loads(request)["records"]
    records_out = json.loads(response)["records"]
    ok = [r for r in records_out if r["result"] == "Ok"]
    ok_ids = {r["recordId"] for r in ok}
    out["results"] = {k: sum(r["result"] == k for r in records_out)
                      for k in ("Ok", "Dropped", "ProcessingFailed")}
    out["data_in_bytes"] = decoded_sizes(records_in)
    out["data_out_bytes"] = decoded_sizes(records_out)
    # Expansion of the records that came back Ok: their output data over their input data.
    ok_in = decoded_sizes([r for r in records_in if r["recordId"] in ok_ids])
    out["ok_expansion"] = round(decoded_sizes(ok) / ok_in, 2) if ok_in else None
    return out


def handler_for(api: RuntimeApi):
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args) -> None:  # quiet
            pass

        def do_GET(self) -> None:
            if not self.path.endswith("/runtime/invocation/next"):
                self.send_error(404)
                return
            item = api.next_event()
            if item is None:
                # No more work: hold the connection until the benchmark stops the process.
                time.sleep(3600)
                return
            request_id, body = item
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Lambda-Runtime-Aws-Request-Id", request_id)
            self.send_header("Lambda-Runtime-Deadline-Ms", str(int(time.time() * 1000) + 300_000))
            self.send_header("Lambda-Runtime-Invoked-Function-Arn",
                             "arn:aws:lambda:us-east-1:123456789012:function:das-partitioner")
            self.send_header("Lambda-Runtime-Trace-Id", "Root=1-00000000-000000000000000000000000")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length)
            parts = self.path.strip("/").split("/")
            # /2018-06-01/runtime/invocation/<id>/response|error, or /runtime/init/error
            if len(parts) >= 5 and parts[2] == "invocation":
                api.finish(parts[3], body, error=parts[4] == "error")
            else:
                print(f"lambda-bench: init error: {body[:300]!r}", file=sys.stderr)
                api.done.set()
            self.send_response(202)
            self.send_header("Content-Length", "0")
            self.end_headers()

    return Handler


def peak_rss_kb(pid: int) -> int | None:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    except OSError:
        return None
    return None


def cpu_ms(pid: int) -> float | None:
    """User + system CPU time of the process so far (robust against a busy machine)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) * 1000 / os.sysconf("SC_CLK_TCK")
    except (OSError, IndexError, ValueError):
        return None


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("bootstrap", type=Path)
    parser.add_argument("events", type=Path, nargs="+")
    parser.add_argument("--repeat", type=int, default=2)
    parser.add_argument("--memory-mb", default="256", help="AWS_LAMBDA_FUNCTION_MEMORY_SIZE")
    parser.add_argument("--responses", type=Path, metavar="DIR", help="save each response here")
    args = parser.parse_args()

    events = [p.read_bytes() for p in args.events] * args.repeat
    if args.responses:
        args.responses.mkdir(parents=True, exist_ok=True)
    api = RuntimeApi(events, args.responses)
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler_for(api))
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()

    env = {
        **os.environ,
        "AWS_LAMBDA_RUNTIME_API": f"127.0.0.1:{server.server_address[1]}",
        "AWS_LAMBDA_FUNCTION_NAME": "das-partitioner",
        "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": args.memory_mb,
        "AWS_LAMBDA_LOG_GROUP_NAME": "/aws/lambda/das-partitioner",
        "AWS_LAMBDA_LOG_STREAM_NAME": "bench",
        "AWS_REGION": os.environ.get("AWS_REGION", "us-east-1"),
        "RUST_LOG": os.environ.get("RUST_LOG", "warn"),
    }
    started = time.perf_counter()
    proc = subprocess.Popen([str(args.bootstrap)], env=env, stdout=subprocess.DEVNULL)
    try:
        while not api.done.wait(0.05):
            if proc.poll() is not None:
                print(f"lambda-bench: bootstrap exited with {proc.returncode}", file=sys.stderr)
                return 1
        rss = peak_rss_kb(proc.pid)
        cpu = cpu_ms(proc.pid)
    finally:
        proc.terminate()
        proc.wait(timeout=10)
        server.shutdown()

    report = {
        "bootstrap_bytes": args.bootstrap.stat().st_size,
        "start_to_ready_ms": round((api.ready_at - started) * 1000, 2) if api.ready_at else None,
        "peak_rss_kb": rss,
        "cpu_ms_total": cpu,
        "invocations": api.results,
    }
    print(json.dumps(report, indent=1))
    return 0 if len(api.results) == len(events) and all("error" not in r for r in api.results) else 1


if __name__ == "__main__":
    sys.exit(main())
