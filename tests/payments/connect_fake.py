"""A small local HTTP fake of Stripe Connect (accounts, account links, transfers, transfer reversals).

localstripe has none of these. The fake answers in Stripe's JSON shapes (``object``: "account",
"account_link", "transfer", "transfer_reversal"; ids acct_/tr_/trr_) so the official library parses
them, honours ``Idempotency-Key`` like Stripe (same key, same answer), refuses a reversal above the
transfer, and keeps every request for the tests to read.
"""

from __future__ import annotations

import json
import threading
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs


class ConnectFake:
    def __init__(self) -> None:
        self.accounts: dict[str, dict] = {}
        self.transfers: dict[str, dict] = {}
        self.reversals: list[dict] = []
        self.by_key: dict[str, tuple[int, dict]] = {}
        self.lock = threading.Lock()
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def start(self) -> ConnectFake:
        self.thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def reset(self) -> None:
        with self.lock:
            self.accounts.clear()
            self.transfers.clear()
            self.reversals.clear()
            self.by_key.clear()

    def _answer(self, path: str, form: dict) -> tuple[int, dict]:
        parts = path.strip("/").split("/")
        if parts == ["v1", "accounts"]:
            account = {"id": f"acct_{uuid.uuid4().hex[:16]}", "object": "account", "type": form.get("type", "")}
            self.accounts[account["id"]] = account
            return 200, account
        if parts == ["v1", "account_links"]:
            if form.get("account") not in self.accounts:
                return 404, _error("No such account", "resource_missing")
            return 200, {"object": "account_link", "url": f"https://connect.example/setup/{form['account']}"}
        if parts == ["v1", "transfers"]:
            if form.get("destination") not in self.accounts:
                return 400, _error("No such destination account", "resource_missing")
            transfer = {
                "id": f"tr_{uuid.uuid4().hex[:16]}",
                "object": "transfer",
                "amount": int(form["amount"]),
                "amount_reversed": 0,
                "currency": form.get("currency", "usd"),
                "destination": form["destination"],
                "source_transaction": form.get("source_transaction"),
                "transfer_group": form.get("transfer_group"),
            }
            self.transfers[transfer["id"]] = transfer
            return 200, transfer
        if len(parts) == 4 and parts[:2] == ["v1", "transfers"] and parts[3] == "reversals":
            transfer = self.transfers.get(parts[2])
            if transfer is None:
                return 404, _error("No such transfer", "resource_missing")
            amount = int(form.get("amount", transfer["amount"] - transfer["amount_reversed"]))
            if transfer["amount_reversed"] + amount > transfer["amount"]:
                return 400, _error("Reversal exceeds the transfer", "parameter_invalid_integer")
            transfer["amount_reversed"] += amount
            reversal = {"id": f"trr_{uuid.uuid4().hex[:16]}", "object": "transfer_reversal", "amount": amount}
            reversal["transfer"] = transfer["id"]
            self.reversals.append(reversal)
            return 200, reversal
        return 404, _error(f"Unrecognized request URL ({path})", "resource_missing")

    def _handler(self):
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 (http.server's name)
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0)).decode()
                form = {k: v[0] for k, v in parse_qs(body).items()}
                key = self.headers.get("Idempotency-Key")
                with fake.lock:
                    if key and key in fake.by_key:
                        status, answer = fake.by_key[key]
                    else:
                        status, answer = fake._answer(self.path, form)
                        if key:
                            fake.by_key[key] = (status, answer)
                data = json.dumps(answer).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args):
                pass

        return Handler


def _error(message: str, code: str) -> dict:
    return {"error": {"type": "invalid_request_error", "message": message, "code": code}}
