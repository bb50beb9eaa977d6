"""A page served from another port of 127.0.0.1, that is, another origin: what a hostile site a
browser also has open can do to patchsync (frame it, call its API)."""
import http.server
import threading


class OtherOrigin:
    def __init__(self, page: str):
        body = page.encode()

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                self.send_response(200)
                self.send_header("Content-Type", "text/html")
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        # A thread per connection: Chromium keeps one open, and a server serving connections one
        # at a time would wait on it until its shutdown (a minute) instead of stopping at once.
        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/"

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()
