"""Test-only webhook receiver written from the Standard Webhooks spec alone, with the standard
library's hmac (not Posthaste's signer). Usage: python3 receiver.py SECRET_FILE (read at each
request, so the receiver can listen before the subscription and its secret exist)

Prints {"port": N} once listening, then one JSON line per request; answers 204 to a request
with a valid signature and a timestamp within 5 minutes, 400 otherwise."""
import base64, hashlib, hmac, json, sys, threading, time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

out_lock = threading.Lock()


def emit(obj):
    # One write per line under a lock: requests are handled on several threads.
    with out_lock:
        sys.stdout.write(json.dumps(obj) + "\n")
        sys.stdout.flush()


def verify(msg_id, ts, body, header):
    key = base64.b64decode(open(sys.argv[1]).read().strip().removeprefix("whsec_"))
    if abs(time.time() - int(ts)) > 300:
        return False
    signed = msg_id.encode() + b"." + ts.encode() + b"." + body
    expected = base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()
    for part in header.split(" "):
        version, _, sig = part.partition(",")
        if version == "v1" and hmac.compare_digest(sig, expected):
            return True
    return False


class Handler(BaseHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("content-length", "0")))
        msg_id = self.headers.get("webhook-id", "")
        ok = verify(msg_id, self.headers.get("webhook-timestamp", "0"), body, self.headers.get("webhook-signature", ""))
        kind = json.loads(body).get("type") if ok else None
        emit({"ok": ok, "id": msg_id, "type": kind})
        self.send_response(204 if ok else 400)
        self.end_headers()

    def log_message(self, *args):
        pass


srv = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
emit({"port": srv.server_address[1]})
srv.serve_forever()
