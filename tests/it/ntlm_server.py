#!/usr/bin/env python3
"""A loopback EWS GetUserPhoto server that authenticates with pyspnego's NTLM
acceptor: an NTLM implementation independent of ews-photo's.

It behaves like IIS with Windows authentication: a 401 offers `Negotiate` and
`NTLM`; the NTLM handshake (type 1 -> 401 with type 2 -> type 3) must happen on
one keep-alive connection; after a successful type 3 the connection stays
authenticated and later requests on it need no Authorization header. Over TLS
the acceptor checks the channel binding (tls-server-end-point, RFC 5929) like
Extended Protection set to Require: missing, zero or wrong bindings fail.

Usage: ntlm_server.py --users FILE --photo JPEG [--cert PEM --key PEM]
                      [--binding-cert PEM] [--v1] [--schemes Negotiate,NTLM]
                      [--close-after N] [--pox EWS_URL]
With --pox, an authenticated POST to .../autodiscover/autodiscover.xml gets a
POX Autodiscover answer naming EWS_URL (as Exchange's, behind the same
Windows authentication).
Prints "PORT <n>" on stdout once listening on 127.0.0.1. GET /stats returns
the counters as JSON (no authentication needed).
"""

import argparse
import base64
import hashlib
import json
import os
import ssl
import struct
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import spnego
from spnego._ntlm_raw.messages import Authenticate, AvId, NTClientChallengeV2
from spnego.channel_bindings import GssChannelBindings

LOCK = threading.Lock()
STATS = {
    "connections": 0,
    "negotiates": 0,  # type-1 messages received
    "authenticates": 0,  # type-3 messages received
    "handshakes": 0,  # successful type-3s
    "photos": 0,
    "pox": 0,  # Autodiscover answers
    "failures": [],  # why type-3s were rejected
    "per_connection": {},  # id -> {"handshakes": n, "photos": n}
    "bindings": [],  # MsvAvChannelBindings seen in accepted type-3s (hex)
    "target_names": [],
    "mic": [],  # whether each accepted type-3 had MsvAvFlags & 2
    "expected_binding": None,  # MD5 of the bindings struct the acceptor uses (hex)
}

SOAP = (
    '<?xml version="1.0" encoding="utf-8"?>'
    '<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Body>'
    '<GetUserPhotoResponse ResponseClass="Success" '
    'xmlns="http://schemas.microsoft.com/exchange/services/2006/messages">'
    "<ResponseCode>NoError</ResponseCode><HasChanged>true</HasChanged>"
    "<PictureData>{}</PictureData><ContentType>image/jpeg</ContentType>"
    "</GetUserPhotoResponse></s:Body></s:Envelope>"
)

POX = (
    '<?xml version="1.0" encoding="utf-8"?>'
    '<Autodiscover xmlns="http://schemas.microsoft.com/exchange/autodiscover/responseschema/2006">'
    '<Response xmlns="http://schemas.microsoft.com/exchange/autodiscover/outlook/responseschema/2006a">'
    "<Account><AccountType>email</AccountType><Action>settings</Action>"
    "<Protocol><Type>EXCH</Type><EwsUrl>{}</EwsUrl></Protocol>"
    "</Account></Response></Autodiscover>"
)


def v1_challenge():
    """A CHALLENGE without EXTENDED_SESSIONSECURITY or TARGET_INFO: only an
    NTLMv1 (or LM) answer would fit it."""
    flags = 0x00000001 | 0x00000200 | 0x00008000 | 0x00000004  # UNICODE NTLM ALWAYS_SIGN REQUEST_TARGET
    return (
        b"NTLMSSP\x00"
        + struct.pack("<I", 2)
        + struct.pack("<HHI", 0, 0, 48)  # TargetNameFields
        + struct.pack("<I", flags)
        + os.urandom(8)
        + b"\x00" * 8  # Reserved
        + struct.pack("<HHI", 0, 0, 48)  # TargetInfoFields
    )


class Server(ThreadingHTTPServer):
    daemon_threads = True
    tls = None  # ssl.SSLContext
    bindings = None  # GssChannelBindings
    photo_b64 = ""
    v1 = False
    schemes = ["Negotiate", "NTLM"]
    close_after = 0  # close each connection after this many photos (0: never)

    def finish_request(self, request, client_address):
        # The TLS handshake runs in the connection's own thread.
        if self.tls is not None:
            try:
                request = self.tls.wrap_socket(request, server_side=True)
            except (ssl.SSLError, OSError):
                return
        super().finish_request(request, client_address)


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "Microsoft-IIS/10.0"

    def setup(self):
        super().setup()
        with LOCK:
            STATS["connections"] += 1
            self.conn_id = str(STATS["connections"])
            STATS["per_connection"][self.conn_id] = {"handshakes": 0, "photos": 0}
        self.ctx = None
        self.authenticated = False

    def log_message(self, *args):
        pass

    def send(self, status, body=b"", headers=()):
        self.send_response(status)
        for name, value in headers:
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def challenge_fresh(self):
        # Like IIS: a body on the 401 (the client must read it to keep the connection).
        self.send(
            401,
            b"<html><body>401 - Unauthorized</body></html>",
            [("WWW-Authenticate", s) for s in self.server.schemes] + [("Content-Type", "text/html")],
        )

    def do_GET(self):
        if self.path == "/stats":
            with LOCK:
                body = json.dumps(STATS).encode()
            self.send(200, body, [("Content-Type", "application/json")])
            return
        self.ews()

    def do_POST(self):
        length = int(self.headers.get("Content-Length", "0"))
        self.rfile.read(length)
        self.ews()

    def answer(self):
        """What an authenticated request gets: Autodiscover, or the photo."""
        if self.server.pox and self.path.lower().endswith("/autodiscover/autodiscover.xml"):
            with LOCK:
                STATS["pox"] += 1
            body = POX.format(self.server.pox).encode()
            self.send(200, body, [("Content-Type", "text/xml; charset=utf-8")])
            return
        self.photo()

    def photo(self):
        with LOCK:
            STATS["photos"] += 1
            STATS["per_connection"][self.conn_id]["photos"] += 1
            served = STATS["per_connection"][self.conn_id]["photos"]
        body = SOAP.format(self.server.photo_b64).encode()
        headers = [("Content-Type", "text/xml; charset=utf-8")]
        if self.server.close_after and served >= self.server.close_after:
            # The authenticated connection ends: the client must authenticate again.
            headers.append(("Connection", "close"))
            self.close_connection = True
        self.send(200, body, headers)

    def ews(self):
        header = self.headers.get("Authorization")
        if not header:
            if self.authenticated:
                self.answer()
            else:
                self.challenge_fresh()
            return
        scheme, _, token = header.partition(" ")
        if scheme.lower() not in [s.lower() for s in self.server.schemes]:
            self.challenge_fresh()
            return
        try:
            raw = base64.b64decode(token.strip())
        except ValueError:
            self.challenge_fresh()
            return
        kind = raw[8] if len(raw) > 8 and raw.startswith(b"NTLMSSP\x00") else None
        if kind == 1:
            # A new handshake resets the connection's authentication (as IIS does).
            self.authenticated = False
            with LOCK:
                STATS["negotiates"] += 1
            if self.server.v1:
                self.ctx = None
                out = v1_challenge()
            else:
                self.ctx = spnego.server(protocol="ntlm", channel_bindings=self.server.bindings)
                out = self.ctx.step(raw)
            self.send(
                401,
                b"",
                [("WWW-Authenticate", "%s %s" % (scheme, base64.b64encode(out).decode()))],
            )
            return
        if kind == 3:
            with LOCK:
                STATS["authenticates"] += 1
            ctx, self.ctx = self.ctx, None
            try:
                if ctx is None:
                    raise ValueError("type 3 without a challenge on this connection")
                ctx.step(raw)
                if not ctx.complete:
                    raise ValueError("context not complete")
                auth = Authenticate.unpack(raw)
                pairs = NTClientChallengeV2.unpack(auth.nt_challenge_response[16:]).av_pairs
                binding = pairs.get(AvId.channel_bindings)
                if self.server.bindings is not None and (binding is None or binding == b"\x00" * 16):
                    # Extended Protection "Require": no binding is a failure.
                    raise ValueError("Extended Protection: no channel binding")
            except Exception as e:  # noqa: BLE001 - every rejection is reported
                with LOCK:
                    STATS["failures"].append("%s: %s" % (type(e).__name__, e))
                self.authenticated = False
                self.challenge_fresh()
                return
            with LOCK:
                STATS["handshakes"] += 1
                STATS["per_connection"][self.conn_id]["handshakes"] += 1
                STATS["bindings"].append(binding.hex() if binding else None)
                STATS["target_names"].append(pairs.get(AvId.target_name))
                STATS["mic"].append(bool(pairs.get(AvId.flags, 0) & 2))
            self.authenticated = True
            self.answer()
            return
        self.challenge_fresh()


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--users", required=True, help="NTLM_USER_FILE (DOMAIN:user:password lines)")
    parser.add_argument("--photo", required=True, help="the JPEG to serve")
    parser.add_argument("--cert", help="TLS certificate (PEM)")
    parser.add_argument("--key", help="TLS private key (PEM)")
    parser.add_argument(
        "--binding-cert",
        help="compute the expected channel binding from this certificate instead of the served one "
        "(a test switch: the client's binding must then be rejected)",
    )
    parser.add_argument("--v1", action="store_true", help="send an NTLMv1-only challenge")
    parser.add_argument("--schemes", default="Negotiate,NTLM", help="the schemes a 401 offers")
    parser.add_argument("--close-after", type=int, default=0, help="close connections after N photos")
    parser.add_argument("--pox", help="answer POX Autodiscover with this EWS URL")
    args = parser.parse_args()

    os.environ["NTLM_USER_FILE"] = args.users
    server = Server(("127.0.0.1", 0), Handler)
    with open(args.photo, "rb") as f:
        server.photo_b64 = base64.b64encode(f.read()).decode()
    server.v1 = args.v1
    server.schemes = args.schemes.split(",")
    server.close_after = args.close_after
    server.pox = args.pox
    if args.cert:
        tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        tls.load_cert_chain(args.cert, args.key)
        server.tls = tls
        with open(args.binding_cert or args.cert) as f:
            der = ssl.PEM_cert_to_DER_cert(f.read())
        # RFC 5929: SHA-256 for the test certificates (ECDSA/RSA with SHA-256).
        server.bindings = GssChannelBindings(
            application_data=b"tls-server-end-point:" + hashlib.sha256(der).digest()
        )
        STATS["expected_binding"] = hashlib.md5(server.bindings.pack()).hexdigest()
    print("PORT %d" % server.server_address[1], flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
