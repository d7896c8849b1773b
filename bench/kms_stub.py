#!/usr/bin/env python3
"""A local KMS stand-in for benchmarks: answers `TrentService.Decrypt` from the generator's
keys.json after a fixed latency, so both implementations pay the same, configurable KMS round
trip (the emulator's own cost, a Python server on the same cores, would otherwise dominate).

    kms_stub.py --keys keys.json [--latency-ms 5] [--port 0] [--port-file FILE]

Speaks KMS's JSON 1.1 protocol (`X-Amz-Target: TrentService.Decrypt`, body `CiphertextBlob`
and `EncryptionContext`), as aws-sdk-kms and boto3 send it when AWS_ENDPOINT_URL_KMS points
here. A blob that is not in keys.json, or an encryption context other than the one the key
was issued under, gets `InvalidCiphertextException` like KMS. Signatures are not checked.
Counts calls; GET /stats returns {"decrypt_calls": N} (and resets nothing).
Standard library only. Stops on SIGTERM/SIGINT.
"""

from __future__ import annotations

import argparse
import json
import signal
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

KEY_ARN = "arn:aws:kms:us-east-1:123456789012:key/00000000-0000-4000-8000-000000000000"


class Stub:
    def __init__(self, keys: list[dict], latency: float) -> None:
        self.keys = {k["blob"]: k for k in keys}
        self.latency = latency
        self.calls = 0
        self.lock = threading.Lock()


def handler_for(stub: Stub) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *_args) -> None:  # quiet
            pass

        def reply(self, status: int, body: dict) -> None:
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/x-amz-json-1.1")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_GET(self) -> None:  # noqa: N802
            self.reply(200, {"decrypt_calls": stub.calls})

        def do_POST(self) -> None:  # noqa: N802
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            target = self.headers.get("X-Amz-Target", "")
            if target != "TrentService.Decrypt":
                self.reply(400, {"__type": "UnsupportedOperationException", "message": target})
                return
            with stub.lock:
                stub.calls += 1
            time.sleep(stub.latency)
            request = json.loads(body)
            key = stub.keys.get(request.get("CiphertextBlob", ""))
            if key is None or request.get("EncryptionContext", {}) != key["encryptionContext"]:
                self.reply(400, {"__type": "InvalidCiphertextException", "message": ""})
                return
            self.reply(200, {"KeyId": KEY_ARN, "Plaintext": key["plaintext"],
                             "EncryptionAlgorithm": "SYMMETRIC_DEFAULT"})

    return Handler


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--keys", type=Path, required=True)
    parser.add_argument("--latency-ms", type=float, default=5.0)
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--port-file", type=Path)
    args = parser.parse_args()
    stub = Stub(json.loads(args.keys.read_text()), args.latency_ms / 1000)
    server = ThreadingHTTPServer(("127.0.0.1", args.port), handler_for(stub))
    server.daemon_threads = True
    port = server.server_address[1]
    if args.port_file:
        args.port_file.write_text(str(port))
    else:
        print(port, flush=True)
    signal.signal(signal.SIGTERM, lambda *_: threading.Thread(target=server.shutdown).start())
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    sys.exit(0)


if __name__ == "__main__":
    main()
