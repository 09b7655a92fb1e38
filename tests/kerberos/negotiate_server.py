#!/usr/bin/env python3
"""A loopback EWS GetUserPhoto server that authenticates HTTP Negotiate
(RFC 4559) with python-gssapi's acceptor: MIT Kerberos' SPNEGO, a GSS-API
implementation independent of ews-photo's client code.

It behaves like IIS with Windows authentication and Kerberos:

* a request without credentials gets 401 with `WWW-Authenticate: Negotiate`
  (and `NTLM` if --schemes says so; NTLM tokens themselves are refused);
* `Authorization: Negotiate <SPNEGO token>` is accepted with the service
  keytab from KRB5_KTNAME (any principal in it); a context that needs another
  leg gets 401 with `WWW-Authenticate: Negotiate <token>` on the same
  keep-alive connection;
* on success the 200 (SOAP GetUserPhoto with a real JPEG) carries the final
  mutual-authentication token in `WWW-Authenticate: Negotiate <token>`, and the
  connection stays authenticated: later requests on it need no Authorization
  (a new Authorization starts a new handshake, as IIS does);
* over TLS (--cert/--key) it passes channel bindings for its own certificate
  (RFC 5929 tls-server-end-point, SHA-256 for the test certificates) and, with
  --extended-protection require (the default over TLS), also demands
  GSS_C_CHANNEL_BOUND_FLAG (0x800) on the accepted context: MIT accepts a
  token without bindings even when the acceptor passes some, so only the flag
  shows the client sent them. `allow` passes bindings without demanding the
  flag; `none` passes none. --binding-cert computes the bindings from another
  certificate: the client's then mismatch (GSS_S_BAD_BINDINGS).
* --final-token send|omit|corrupt: send the final token, leave it out, or
  flip the last byte of its Kerberos AP-REP (the client must then fail with
  "Decrypt integrity check failed").

GET /stats (no authentication) returns the counters as JSON. Prints
"PORT <n>" on stdout once listening on 127.0.0.1.

Usage: negotiate_server.py [--photo JPEG] [--cert PEM --key PEM]
         [--binding-cert PEM] [--extended-protection require|allow|none]
         [--final-token send|omit|corrupt] [--schemes Negotiate[,NTLM]]
         [--close-after N]
Needs python3-gssapi (Debian) and KRB5_KTNAME/KRB5_CONFIG for the realm
(see realm.py).
"""

import argparse
import base64
import hashlib
import json
import os
import ssl
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import gssapi
import gssapi.raw

LOCK = threading.Lock()
STATS = {
    "connections": 0,
    "tokens": 0,  # Authorization: Negotiate headers received
    "handshakes": 0,  # contexts accepted (complete, and bound when required)
    "photos": 0,
    "unauthenticated": 0,  # requests answered with a fresh 401
    "failures": [],  # why tokens or contexts were rejected
    "per_connection": {},  # id -> {"tokens", "handshakes", "photos"}
    "bindings": [],  # per accepted context: whether CHANNEL_BOUND was set
    "initiators": [],  # per accepted context: the client principal
    "targets": [],  # per accepted context: the service principal the ticket was for
    "final_tokens": [],  # per accepted context: "sent", "omitted", "corrupted", "none"
    "extended_protection": "none",
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


def der_item(data, at):
    """(tag, start of contents, end of contents) of the DER item at `at`."""
    tag = data[at]
    first = data[at + 1]
    if first < 0x80:
        return tag, at + 2, at + 2 + first
    n = first & 0x7F
    length = int.from_bytes(data[at + 2 : at + 2 + n], "big")
    return tag, at + 2 + n, at + 2 + n + length


def corrupt(token):
    """The SPNEGO NegTokenResp with the last byte of its responseToken (the
    end of the AP-REP's encrypted part, inside its checksum) flipped. The DER
    stays valid, so only the cryptographic check can catch it."""
    data = bytearray(token)
    tag, start, end = der_item(data, 0)  # [1] NegTokenResp
    tag, start, end = der_item(data, start)  # SEQUENCE
    at = start
    while at < end:
        tag, inner, stop = der_item(data, at)
        if tag == 0xA2:  # [2] responseToken
            _, octets, octets_end = der_item(data, inner)  # OCTET STRING
            data[octets_end - 1] ^= 0x01
            return bytes(data)
        at = stop
    raise ValueError("no responseToken in the final token")


class Server(ThreadingHTTPServer):
    daemon_threads = True
    tls = None  # ssl.SSLContext
    bindings = None  # gssapi.raw.ChannelBindings
    extended_protection = "none"
    photo_b64 = ""
    schemes = ["Negotiate"]
    final_token = "send"
    close_after = 0

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
            STATS["per_connection"][self.conn_id] = {"tokens": 0, "handshakes": 0, "photos": 0}
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
        with LOCK:
            STATS["unauthenticated"] += 1
        # Like IIS: a body on the 401 (the client must read it to keep the connection).
        self.send(
            401,
            b"<html><body>401 - Unauthorized</body></html>",
            [("WWW-Authenticate", s) for s in self.server.schemes] + [("Content-Type", "text/html")],
        )

    def fail(self, why):
        with LOCK:
            STATS["failures"].append(why)
        self.ctx = None
        self.authenticated = False
        self.challenge_fresh()

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

    def photo(self, extra_headers=()):
        with LOCK:
            STATS["photos"] += 1
            STATS["per_connection"][self.conn_id]["photos"] += 1
            served = STATS["per_connection"][self.conn_id]["photos"]
        body = SOAP.format(self.server.photo_b64).encode()
        headers = list(extra_headers) + [("Content-Type", "text/xml; charset=utf-8")]
        if self.server.close_after and served >= self.server.close_after:
            # The authenticated connection ends: the client must authenticate again.
            headers.append(("Connection", "close"))
            self.close_connection = True
        self.send(200, body, headers)

    def ews(self):
        header = self.headers.get("Authorization")
        if not header:
            if self.authenticated:
                self.photo()
            else:
                self.challenge_fresh()
            return
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "negotiate":
            self.fail("scheme %s is not accepted" % scheme)
            return
        with LOCK:
            STATS["tokens"] += 1
            STATS["per_connection"][self.conn_id]["tokens"] += 1
        try:
            raw = base64.b64decode(token.strip(), validate=True)
        except ValueError:
            self.fail("the Negotiate token is not base64")
            return
        if raw.startswith(b"NTLMSSP\x00"):
            self.fail("a raw NTLM token in Negotiate: this acceptor speaks Kerberos only")
            return
        # An Authorization on an authenticated connection starts over (IIS does).
        if self.authenticated:
            self.authenticated = False
            self.ctx = None
        if self.ctx is None:
            self.ctx = gssapi.SecurityContext(usage="accept", channel_bindings=self.server.bindings)
        try:
            out = self.ctx.step(raw)
            # python-gssapi keeps an error that came with an error token for
            # the peer and raises it on the next use of the context.
            complete = self.ctx.complete
        except gssapi.exceptions.GSSError as e:
            self.fail("%s: %s" % (type(e).__name__, e.gen_message()))
            return
        if not complete:
            # Another leg on this connection.
            self.send(401, b"", [("WWW-Authenticate", "Negotiate " + base64.b64encode(out or b"").decode())])
            return
        bound = gssapi.RequirementFlag.channel_bound in self.ctx.actual_flags
        if self.server.extended_protection == "require" and not bound:
            self.fail("Extended Protection: the token carries no channel binding (GSS_C_CHANNEL_BOUND_FLAG not set)")
            return
        initiator = str(self.ctx.initiator_name)
        target = str(self.ctx.target_name)
        self.ctx = None
        self.authenticated = True
        headers = []
        if not out:
            final = "none"
        elif self.server.final_token == "omit":
            final = "omitted"
        elif self.server.final_token == "corrupt":
            headers.append(("WWW-Authenticate", "Negotiate " + base64.b64encode(corrupt(out)).decode()))
            final = "corrupted"
        else:
            headers.append(("WWW-Authenticate", "Negotiate " + base64.b64encode(out).decode()))
            final = "sent"
        with LOCK:
            STATS["handshakes"] += 1
            STATS["per_connection"][self.conn_id]["handshakes"] += 1
            STATS["bindings"].append(bound)
            STATS["initiators"].append(initiator)
            STATS["targets"].append(target)
            STATS["final_tokens"].append(final)
        self.photo(headers)


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    parser = argparse.ArgumentParser()
    parser.add_argument("--photo", default=os.path.join(here, "photo.jpg"), help="the JPEG to serve")
    parser.add_argument("--cert", help="TLS certificate (PEM)")
    parser.add_argument("--key", help="TLS private key (PEM)")
    parser.add_argument(
        "--binding-cert",
        help="compute the channel bindings from this certificate instead of the served one "
        "(a test switch: the client's bindings must then be refused)",
    )
    parser.add_argument(
        "--extended-protection",
        choices=["require", "allow", "none"],
        help="require: pass bindings and demand GSS_C_CHANNEL_BOUND_FLAG (default over TLS); "
        "allow: pass bindings only; none: pass none (default over plain http)",
    )
    parser.add_argument("--final-token", choices=["send", "omit", "corrupt"], default="send")
    parser.add_argument("--schemes", default="Negotiate", help="the schemes a 401 offers, e.g. Negotiate,NTLM")
    parser.add_argument("--close-after", type=int, default=0, help="close connections after N photos")
    args = parser.parse_args()
    if not os.environ.get("KRB5_KTNAME"):
        parser.error("KRB5_KTNAME must name the service keytab (see realm.py)")

    server = Server(("127.0.0.1", 0), Handler)
    with open(args.photo, "rb") as f:
        server.photo_b64 = base64.b64encode(f.read()).decode()
    server.schemes = args.schemes.split(",")
    server.final_token = args.final_token
    server.close_after = args.close_after
    protection = args.extended_protection or ("require" if args.cert else "none")
    if args.cert:
        tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        tls.load_cert_chain(args.cert, args.key)
        server.tls = tls
    if protection != "none":
        source = args.binding_cert or args.cert
        if not source:
            parser.error("--extended-protection %s needs --cert (or --binding-cert)" % protection)
        with open(source) as f:
            der = ssl.PEM_cert_to_DER_cert(f.read())
        # Address types None are GSS_C_AF_UNSPEC with empty addresses, as
        # Windows sends them.
        server.bindings = gssapi.raw.ChannelBindings(
            application_data=b"tls-server-end-point:" + hashlib.sha256(der).digest()
        )
    server.extended_protection = protection
    STATS["extended_protection"] = protection
    print("PORT %d" % server.server_address[1], flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
