#!/usr/bin/env python3
"""A throwaway MIT Kerberos realm on loopback, for tests.

It creates, in a fresh folder, a krb5.conf and a kdc.conf (KDC bound to
127.0.0.1 only, on a free port), a KDC database (`kdb5_util create -s`), the
principals a test needs (`kadmin.local`):

  * `jdoe@EWS.TEST`, password `JdoePassw0rd!`, also in a client keytab;
  * `HTTP/localhost@EWS.TEST` and `HTTP/127.0.0.1@EWS.TEST`, random keys, in
    the service keytab an acceptor uses;

then runs `krb5kdc` in the foreground (as its child) and, with `--kinit`, gets
jdoe a TGT with `kinit` (password on stdin) into the realm's ticket cache.

Once the KDC answers it prints the environment a test needs, one `NAME=value`
a line, then `READY`:

  KRB5_CONFIG, KRB5_KDC_PROFILE   the realm's krb5.conf and kdc.conf
  KRB5CCNAME                      FILE:<dir>/ccache (filled only with --kinit)
  KRB5_KTNAME                     the service keytab (for the acceptor)
  KRB5_CLIENT_KTNAME              jdoe's client keytab
  EWS_KRB_REALM, EWS_KRB_USER, EWS_KRB_PASSWORD, EWS_KRB_KDC_PORT, EWS_KRB_DIR

It stops the KDC and exits when its stdin reaches end of file (the test that
started it ended or dropped the pipe), on SIGTERM or SIGINT. Commands on stdin,
one a line, change the running realm:

  kdc-offset N        restart the KDC with a clock N seconds off (krb5kdc -T N)
  expire-tgt [CACHE]  replace the ticket cache (or CACHE) with a TGT that has expired
  kinit [CACHE]       get a fresh TGT for jdoe into KRB5CCNAME (or CACHE)
  kdestroy            empty the ticket cache

each answered with `OK` or `ERROR <why>` on stdout.

Usage: realm.py [--dir DIR] [--kinit] [--realm NAME]
Without --dir a temporary folder is used and removed on exit. Needs the
Debian packages krb5-kdc, krb5-admin-server (kadmin.local) and krb5-user.
"""

import argparse
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

USER = "jdoe"
PASSWORD = "JdoePassw0rd!"
SERVICES = ["HTTP/localhost", "HTTP/127.0.0.1"]
SBIN = ["/usr/sbin", "/usr/local/sbin", "/sbin"]


def tool(name):
    """The path of a Kerberos tool: PATH first, then the sbin folders Debian uses."""
    found = shutil.which(name)
    if found:
        return found
    for folder in SBIN:
        candidate = os.path.join(folder, name)
        if os.access(candidate, os.X_OK):
            return candidate
    raise SystemExit(
        "realm.py: %s not found: install the Debian packages krb5-kdc, krb5-admin-server and krb5-user" % name
    )


def free_port():
    """A port that was free a moment ago on 127.0.0.1 (TCP and UDP)."""
    for _ in range(20):
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as tcp:
            tcp.bind(("127.0.0.1", 0))
            port = tcp.getsockname()[1]
            with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as udp:
                try:
                    udp.bind(("127.0.0.1", port))
                except OSError:
                    continue
            return port
    raise SystemExit("realm.py: no free port on 127.0.0.1")


class Realm:
    def __init__(self, folder, realm):
        self.dir = os.path.abspath(folder)
        self.realm = realm
        self.port = free_port()
        self.kdc = None
        self.offset = 0
        self.krb5_conf = os.path.join(self.dir, "krb5.conf")
        self.kdc_conf = os.path.join(self.dir, "kdc.conf")
        self.ccache = "FILE:" + os.path.join(self.dir, "ccache")
        self.service_keytab = os.path.join(self.dir, "http.keytab")
        self.client_keytab = os.path.join(self.dir, "client.keytab")

    def env(self):
        env = dict(os.environ)
        env.update(
            KRB5_CONFIG=self.krb5_conf,
            KRB5_KDC_PROFILE=self.kdc_conf,
            KRB5CCNAME=self.ccache,
            KRB5_KTNAME=self.service_keytab,
            KRB5_CLIENT_KTNAME=self.client_keytab,
        )
        # Tools must not read the machine's own realm settings or trace files.
        env.pop("KRB5_TRACE", None)
        return env

    def write_config(self):
        with open(self.krb5_conf, "w") as f:
            # No DNS at all: names stay as given (the tests use localhost and
            # 127.0.0.1), realms come from the mapping below.
            f.write(
                "[libdefaults]\n"
                "  default_realm = {realm}\n"
                "  dns_lookup_kdc = false\n"
                "  dns_lookup_realm = false\n"
                "  dns_canonicalize_hostname = false\n"
                "  rdns = false\n"
                "  qualify_shortname = \"\"\n"
                "  udp_preference_limit = 1\n"
                "  default_ccache_name = {ccache}\n"
                "  default_client_keytab_name = FILE:{client_keytab}\n"
                "  default_keytab_name = FILE:{service_keytab}\n"
                "[realms]\n"
                "  {realm} = {{\n"
                "    kdc = 127.0.0.1:{port}\n"
                "  }}\n"
                "[domain_realm]\n"
                "  localhost = {realm}\n"
                "  127.0.0.1 = {realm}\n"
                "[logging]\n"
                "  kdc = FILE:{dir}/kdc.log\n"
                "  default = FILE:{dir}/krb5.log\n".format(
                    realm=self.realm,
                    ccache=self.ccache,
                    client_keytab=self.client_keytab,
                    service_keytab=self.service_keytab,
                    port=self.port,
                    dir=self.dir,
                )
            )
        with open(self.kdc_conf, "w") as f:
            f.write(
                "[kdcdefaults]\n"
                "  kdc_listen = 127.0.0.1:{port}\n"
                "  kdc_tcp_listen = 127.0.0.1:{port}\n"
                "[realms]\n"
                "  {realm} = {{\n"
                "    database_name = {dir}/principal\n"
                "    key_stash_file = {dir}/stash\n"
                "    acl_file = {dir}/kadm5.acl\n"
                "    kdc_listen = 127.0.0.1:{port}\n"
                "    kdc_tcp_listen = 127.0.0.1:{port}\n"
                "    max_life = 10h\n"
                "    max_renewable_life = 1d\n"
                "  }}\n".format(realm=self.realm, port=self.port, dir=self.dir)
            )
        with open(os.path.join(self.dir, "kadm5.acl"), "w") as f:
            f.write("*/admin@%s *\n" % self.realm)

    def run(self, argv, stdin=None):
        result = subprocess.run(
            argv,
            input=stdin,
            env=self.env(),
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        if result.returncode != 0:
            raise RuntimeError("%s failed (%d): %s" % (" ".join(argv), result.returncode, result.stdout.strip()))
        return result.stdout

    def create(self):
        self.write_config()
        self.run([tool("kdb5_util"), "-r", self.realm, "create", "-s", "-P", "master-key-for-tests"])
        # kadmin.local reads its commands from stdin: one process for all.
        commands = ["addprinc -pw %s %s" % (PASSWORD, USER)]
        for service in SERVICES:
            commands.append("addprinc -randkey %s" % service)
            commands.append("ktadd -k %s %s" % (self.service_keytab, service))
        # -norandkey keeps the password valid next to the client keytab.
        commands.append("ktadd -k %s -norandkey %s" % (self.client_keytab, USER))
        self.run([tool("kadmin.local"), "-r", self.realm], stdin="\n".join(commands) + "\n")
        for keytab in (self.service_keytab, self.client_keytab):
            if not os.path.exists(keytab):
                raise RuntimeError("kadmin.local wrote no %s" % keytab)

    def start_kdc(self):
        argv = [tool("krb5kdc"), "-n", "-r", self.realm, "-P", os.path.join(self.dir, "kdc.pid")]
        if self.offset:
            argv += ["-T", str(self.offset)]
        log = open(os.path.join(self.dir, "krb5kdc.out"), "ab")
        self.kdc = subprocess.Popen(
            argv,
            env=self.env(),
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            preexec_fn=die_with_parent,
        )
        log.close()
        # Ready when the TCP listener accepts (the UDP one opens with it).
        deadline = time.monotonic() + 10
        while True:
            if self.kdc.poll() is not None:
                raise RuntimeError("krb5kdc exited with %d: %s" % (self.kdc.returncode, self.kdc_output()))
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=1):
                    return
            except OSError:
                if time.monotonic() > deadline:
                    raise RuntimeError("krb5kdc did not listen on 127.0.0.1:%d: %s" % (self.port, self.kdc_output()))
                time.sleep(0.01)

    def kdc_output(self):
        try:
            with open(os.path.join(self.dir, "krb5kdc.out"), errors="replace") as f:
                return f.read().strip()[-2000:]
        except OSError:
            return ""

    def stop_kdc(self):
        if self.kdc is not None and self.kdc.poll() is None:
            self.kdc.terminate()
            try:
                self.kdc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.kdc.kill()
                self.kdc.wait()
        self.kdc = None

    def kinit(self, lifetime=None, cache=None):
        argv = [tool("kinit"), "-c", cache or self.ccache]
        if lifetime:
            argv += ["-l", lifetime]
        argv.append("%s@%s" % (USER, self.realm))
        # kinit reads the password from stdin when it is not a terminal.
        self.run(argv, stdin=PASSWORD + "\n")

    def expire_tgt(self, cache=None):
        # A TGT that ends 1 second after it starts, then a wait past that end:
        # the cache then holds a ticket MIT reports as "Ticket expired".
        self.kinit(lifetime="1s", cache=cache)
        time.sleep(2.2)

    def kdestroy(self):
        subprocess.run([tool("kdestroy"), "-q", "-c", self.ccache], env=self.env(), stderr=subprocess.DEVNULL)

    def describe(self):
        env = self.env()
        lines = ["%s=%s" % (name, env[name]) for name in
                 ("KRB5_CONFIG", "KRB5_KDC_PROFILE", "KRB5CCNAME", "KRB5_KTNAME", "KRB5_CLIENT_KTNAME")]
        lines += [
            "EWS_KRB_REALM=%s" % self.realm,
            "EWS_KRB_USER=%s@%s" % (USER, self.realm),
            "EWS_KRB_PASSWORD=%s" % PASSWORD,
            "EWS_KRB_KDC_PORT=%d" % self.port,
            "EWS_KRB_DIR=%s" % self.dir,
        ]
        return "\n".join(lines)


def die_with_parent():
    """In the child: get SIGTERM when realm.py dies, however it dies (Linux)."""
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        PR_SET_PDEATHSIG = 1
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM)
    except (OSError, AttributeError):
        pass


def serve(realm):
    """Answers commands on stdin until it ends."""
    for line in sys.stdin:
        words = line.split()
        if not words:
            continue
        try:
            if words[0] == "kdc-offset" and len(words) == 2:
                realm.stop_kdc()
                realm.offset = int(words[1])
                realm.start_kdc()
            elif words[0] == "expire-tgt" and len(words) <= 2:
                realm.expire_tgt(cache=words[1] if len(words) == 2 else None)
            elif words[0] == "kinit" and len(words) <= 2:
                realm.kinit(cache=words[1] if len(words) == 2 else None)
            elif words == ["kdestroy"]:
                realm.kdestroy()
            else:
                raise ValueError("unknown command %r" % line.strip())
            print("OK", flush=True)
        except (RuntimeError, ValueError) as e:
            print("ERROR %s" % str(e).replace("\n", " "), flush=True)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--dir", help="the folder for the realm (default: a temporary one, removed on exit)")
    parser.add_argument("--realm", default="EWS.TEST")
    parser.add_argument("--kinit", action="store_true", help="get jdoe a TGT into KRB5CCNAME")
    args = parser.parse_args()

    temporary = args.dir is None
    folder = tempfile.mkdtemp(prefix="ews-krb-") if temporary else args.dir
    os.makedirs(folder, exist_ok=True)
    realm = Realm(folder, args.realm)

    def stop(signum, frame):
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    status = 0
    try:
        realm.create()
        # A port taken between free_port() and krb5kdc's bind: try another.
        for attempt in range(3):
            try:
                realm.start_kdc()
                break
            except RuntimeError:
                if attempt == 2:
                    raise
                realm.port = free_port()
                realm.write_config()
        if args.kinit:
            realm.kinit()
        print(realm.describe(), flush=True)
        print("READY", flush=True)
        serve(realm)
    except KeyboardInterrupt:
        pass
    except RuntimeError as e:
        print("realm.py: %s" % e, file=sys.stderr, flush=True)
        status = 1
    finally:
        realm.stop_kdc()
        if temporary:
            shutil.rmtree(folder, ignore_errors=True)
    return status


if __name__ == "__main__":
    sys.exit(main())
