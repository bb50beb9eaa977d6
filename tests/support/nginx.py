"""nginx in the foreground with a shipped site file (deploy/), in front of test servers."""
import re
import shutil
import socket
import ssl
import subprocess
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent.parent

NGINX = shutil.which("nginx") or "/usr/sbin/nginx"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Nginx:
    """nginx in the foreground with a shipped site file (deploy/nginx.conf) pointed at the
    patchsync upstreams, one for each `server 127.0.0.1:333N;` line of the file."""

    def __init__(self, scratch, *upstreams, site_file="nginx.conf", tls=None):
        """`tls`: a (certificate, key) pair of PEM files; nginx then terminates TLS."""
        self.port = free_port()
        self.scheme = "https" if tls else "http"
        site = (ROOT / "deploy" / site_file).read_text()
        servers = iter(upstreams)
        site, replaced = re.subn(r"server 127\.0\.0\.1:333\d;", lambda _: f"server {next(servers)};", site)
        assert replaced == len(upstreams), f"deploy/{site_file} names {replaced} upstreams, not {len(upstreams)}"
        listen = f"listen 127.0.0.1:{self.port};"
        if tls:
            listen = f"listen 127.0.0.1:{self.port} ssl; ssl_certificate {tls[0]}; ssl_certificate_key {tls[1]};"
        site, replaced = re.subn(r"listen 80;", listen, site)
        assert replaced == 1, f"deploy/{site_file} no longer listens on port 80"
        (scratch / "patchsync.conf").write_text(site)
        temp = {name: scratch / name for name in ("body", "proxy", "fastcgi", "uwsgi", "scgi")}
        (scratch / "nginx.conf").write_text(f"""
user root;
worker_processes 1;
pid {scratch}/nginx.pid;
error_log {scratch}/error.log;
events {{ worker_connections 256; }}
http {{
    access_log {scratch}/access.log;
    client_body_temp_path {temp['body']};
    proxy_temp_path {temp['proxy']};
    fastcgi_temp_path {temp['fastcgi']};
    uwsgi_temp_path {temp['uwsgi']};
    scgi_temp_path {temp['scgi']};
    include {scratch}/patchsync.conf;
}}
""")
        self.process = subprocess.Popen(
            [NGINX, "-p", str(scratch), "-c", str(scratch / "nginx.conf"), "-g", "daemon off;"],
            stderr=subprocess.PIPE, text=True)
        # Readiness only: the tests themselves check certificates.
        unverified = None
        if tls:
            unverified = ssl.create_default_context()
            unverified.check_hostname = False
            unverified.verify_mode = ssl.CERT_NONE
        deadline = time.monotonic() + 60  # a bound on waiting for start-up, not a speed
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"nginx exited: {self.process.stderr.read()}")
            try:
                urllib.request.urlopen(self.url("/healthz"), timeout=1, context=unverified).read()
                return
            except OSError:
                time.sleep(0.1)
        raise RuntimeError("nginx did not answer")

    def url(self, path, scheme=None):
        """`scheme` http or ws (https or wss when nginx terminates TLS)."""
        scheme = scheme or "http"
        if self.scheme == "https":
            scheme += "s"
        return f"{scheme}://127.0.0.1:{self.port}{path}"

    def stop(self):
        self.process.terminate()
        self.process.wait(timeout=10)
