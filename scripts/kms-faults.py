#!/usr/bin/env python3
"""A fault-injecting stand-in in front of a KMS emulator (moto), for the KMS fault tests.

Listens on loopback and forwards every request to --upstream, except the requests a rule
selects, which get the rule's fault instead. Python standard library only; threaded, HTTP/1.1
keep-alive (the AWS SDK pools connections).

    scripts/kms-faults.py --upstream http://127.0.0.1:5000 [--port 0] [--port-file F]
                          [--rules rules.json] [--rule JSON ...] [--verbose]

A rule (JSON object; --rules takes a file holding a list of them, --rule one, repeatable):

    {"fault": "throttle",                 # what the selected requests get (list below)
     "match": {"target": "Decrypt",       # X-Amz-Target operation (default: Decrypt)
               "key_id": "<moto key id>", # the KMS key the CiphertextBlob belongs to (moto's
                                          # blobs begin with the key id), and/or
               "ciphertext": "<base64>"}, # exactly this CiphertextBlob
     "skip": 0,                           # let the first N matching requests through
     "times": 2,                          # then fault this many (absent/null: all the rest)
     "seconds": 3}                        # for "delay"

Each rule counts the requests its match selects (whether or not it applied to them): with
skip/times, "the first N calls fail, then succeed", per key or per ciphertext, and several
rules on one key make a sequence (skip 0 times 1, skip 1 times 1, ...). The first rule whose
window holds a request applies.

Faults:
    throttle            400 ThrottlingException
    kms-500             500 KMSInternalException
    kms-503             503 DependencyTimeoutException (a KMS code with a 5xx)
    http-500, http-503  500 / 503 with an HTML body and no KMS error code (a proxy, an outage page)
    http-403            403 with an HTML body and no KMS error code
    access-denied       400 AccessDeniedException
    invalid-ciphertext  400 InvalidCiphertextException
    disabled            400 DisabledException
    not-found           400 NotFoundException
    invalid-state       400 KMSInvalidStateException
    garbage             200 with a body that is not JSON
    delay               waits "seconds" (default 5), then forwards (the client has given up)
    reset               reads the request, then resets the connection (RST, no answer)

Control endpoints (same port; tests use them, scoped by their own keys):
    POST /_faults/rules   body: a rule or a list of rules; appended; answers {"ids": [...]}
    GET  /_faults/log     every KMS request seen: {"n", "target", "key_id", "ciphertext",
                          "rule", "fault", "status"} (status: what the client was sent, or null)
"""

import argparse
import base64
import http.client
import http.server
import json
import os
import socket
import struct
import sys
import threading
import time
import urllib.parse

KMS_ERRORS = {
    "throttle": (400, "ThrottlingException", "Rate exceeded"),
    "kms-500": (500, "KMSInternalException", "internal error (injected)"),
    "kms-503": (503, "DependencyTimeoutException", "dependency timed out (injected)"),
    "access-denied": (400, "AccessDeniedException", "not authorized to perform kms:Decrypt (injected)"),
    "invalid-ciphertext": (400, "InvalidCiphertextException", "(injected)"),
    "disabled": (400, "DisabledException", "key is disabled (injected)"),
    "not-found": (400, "NotFoundException", "key does not exist (injected)"),
    "invalid-state": (400, "KMSInvalidStateException", "key is pending deletion (injected)"),
}
HTTP_ERRORS = {"http-500": 500, "http-503": 503, "http-403": 403}
OTHER_FAULTS = {"garbage", "delay", "reset"}
HOP_BY_HOP = {"connection", "keep-alive", "transfer-encoding", "content-length", "proxy-connection", "upgrade"}
MOTO_KEY_ID_LEN = 36


class State:
    """Rules, their counters and the request log, shared by the server's threads."""

    def __init__(self):
        self.lock = threading.Lock()
        self.rules = []
        self.log = []

    def add_rules(self, rules):
        if isinstance(rules, dict):
            rules = [rules]
        ids = []
        with self.lock:
            for rule in rules:
                validate(rule)
                rule = dict(rule, _seen=0)
                self.rules.append(rule)
                ids.append(len(self.rules) - 1)
        return ids

    def select(self, target, key_id, ciphertext):
        """The first rule (index, copy) whose window holds this request, if any. Every rule
        whose match selects the request counts it, applied or not: a rule's skip/times are
        ordinals among the requests its match selects."""
        chosen = None, None
        with self.lock:
            for index, rule in enumerate(self.rules):
                if not matches(rule.get("match") or {}, target, key_id, ciphertext):
                    continue
                ordinal = rule["_seen"]
                rule["_seen"] += 1
                skip = rule.get("skip") or 0
                times = rule.get("times")
                in_window = ordinal >= skip and (times is None or ordinal < skip + times)
                if in_window and chosen[0] is None:
                    chosen = index, dict(rule)
        return chosen

    def record(self, entry):
        with self.lock:
            entry["n"] = len(self.log)
            self.log.append(entry)
            return entry

    def set_status(self, entry, status):
        with self.lock:
            entry["status"] = status

    def entries(self):
        with self.lock:
            return [dict(e) for e in self.log]


def validate(rule):
    if not isinstance(rule, dict):
        raise ValueError("a rule is a JSON object")
    fault = rule.get("fault")
    if fault not in KMS_ERRORS and fault not in HTTP_ERRORS and fault not in OTHER_FAULTS:
        raise ValueError(f"unknown fault {fault!r}")
    unknown = set(rule.get("match") or {}) - {"target", "key_id", "ciphertext"}
    if unknown:
        raise ValueError(f"unknown match fields {sorted(unknown)}")


def matches(match, target, key_id, ciphertext):
    if target != match.get("target", "Decrypt"):
        return False
    if "key_id" in match and match["key_id"] != key_id:
        return False
    if "ciphertext" in match and match["ciphertext"] != ciphertext:
        return False
    return True


def request_facts(headers, body):
    """(operation, moto key id, base64 CiphertextBlob) of a KMS JSON request."""
    target = (headers.get("X-Amz-Target") or "").rpartition(".")[2]
    key_id = ciphertext = None
    try:
        payload = json.loads(body or b"{}")
        ciphertext = payload.get("CiphertextBlob")
        if ciphertext:
            blob = base64.b64decode(ciphertext)
            key_id = blob[:MOTO_KEY_ID_LEN].decode("ascii", "replace")
    except (ValueError, AttributeError):
        pass
    return target, key_id, ciphertext


def make_handler(state, upstream, verbose):
    up = urllib.parse.urlsplit(upstream)

    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, fmt, *args):
            if verbose:
                sys.stderr.write("kms-faults: " + (fmt % args) + "\n")

        def read_body(self):
            length = int(self.headers.get("Content-Length") or 0)
            return self.rfile.read(length) if length else b""

        def answer(self, status, body, content_type="application/x-amz-json-1.1", headers=()):
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.send_header("x-amzn-RequestId", "00000000-0000-0000-0000-000000000000")
            for name, value in headers:
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(body)

        def do_GET(self):
            if self.path.startswith("/_faults/log"):
                return self.answer(200, json.dumps(state.entries()).encode(), "application/json")
            return self.forward(b"")

        def do_POST(self):
            body = self.read_body()
            if self.path.startswith("/_faults/rules"):
                try:
                    ids = state.add_rules(json.loads(body))
                except ValueError as e:
                    return self.answer(400, json.dumps({"error": str(e)}).encode(), "application/json")
                return self.answer(200, json.dumps({"ids": ids}).encode(), "application/json")
            target, key_id, ciphertext = request_facts(self.headers, body)
            index, rule = state.select(target, key_id, ciphertext)
            # Logged on arrival (a delayed request shows before its answer); status when sent.
            entry = state.record({"target": target, "key_id": key_id, "ciphertext": ciphertext,
                                  "rule": index, "fault": rule["fault"] if rule else None, "status": None})
            try:
                status = self.fault(rule, body) if rule else self.forward(body)
            except (BrokenPipeError, ConnectionResetError):
                status = None  # the client had gone (after a delay, typically)
            state.set_status(entry, status)

        def fault(self, rule, body):
            fault = rule["fault"]
            if fault in KMS_ERRORS:
                status, code, message = KMS_ERRORS[fault]
                self.answer(status, json.dumps({"__type": code, "message": message}).encode())
                return status
            if fault in HTTP_ERRORS:
                status = HTTP_ERRORS[fault]
                self.answer(status, b"<html><body>Service Unavailable</body></html>", "text/html")
                return status
            if fault == "garbage":
                self.answer(200, b"this is not json")
                return 200
            if fault == "delay":
                time.sleep(float(rule.get("seconds", 5)))
                return self.forward(body)
            if fault == "reset":
                self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                self.connection.close()
                self.close_connection = True
                return None
            raise AssertionError(fault)

        def forward(self, body):
            headers = {k: v for k, v in self.headers.items() if k.lower() not in HOP_BY_HOP}
            conn = http.client.HTTPConnection(up.hostname, up.port, timeout=30)
            try:
                conn.request(self.command, self.path, body=body, headers=headers)
                response = conn.getresponse()
                data = response.read()
                self.send_response(response.status)
                for name, value in response.getheaders():
                    if name.lower() not in HOP_BY_HOP:
                        self.send_header(name, value)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)
                return response.status
            finally:
                conn.close()

    return Handler


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--upstream", required=True, help="the emulator's URL, e.g. http://127.0.0.1:5000")
    parser.add_argument("--port", type=int, default=0, help="loopback port (default: any free one)")
    parser.add_argument("--port-file", help="write the port here once listening")
    parser.add_argument("--rules", help="JSON file: a list of rules")
    parser.add_argument("--rule", action="append", default=[], help="one rule as JSON (repeatable)")
    parser.add_argument("--verbose", action="store_true", help="log every request to stderr")
    args = parser.parse_args()

    state = State()
    try:
        if args.rules:
            with open(args.rules) as f:
                state.add_rules(json.load(f))
        for rule in args.rule:
            state.add_rules(json.loads(rule))
    except (OSError, ValueError) as e:
        sys.exit(f"kms-faults: bad rules: {e}")

    server = http.server.ThreadingHTTPServer(("127.0.0.1", args.port), make_handler(state, args.upstream, args.verbose))
    server.daemon_threads = True
    port = server.server_address[1]
    if args.port_file:
        with open(args.port_file + ".tmp", "w") as f:
            f.write(f"{port}\n")
        os.replace(args.port_file + ".tmp", args.port_file)
    sys.stderr.write(f"kms-faults: listening on http://127.0.0.1:{port}, forwarding to {args.upstream}\n")
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
