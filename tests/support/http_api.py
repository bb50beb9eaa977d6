"""One HTTP request to a test's server, the way the API tests make them."""
import json
import urllib.error
import urllib.request


def http(server, method, path, body=None, token=None, raw=False):
    """(status, JSON body) of one request; error statuses are returned, not raised."""
    data = None if body is None else (body if isinstance(body, bytes) else json.dumps(body).encode())
    request = urllib.request.Request(server.http + path, data=data, method=method)
    if data is not None:
        request.add_header("Content-Type", "application/json")
    if token:
        request.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            status, content_type, payload = response.status, response.headers["Content-Type"], response.read()
    except urllib.error.HTTPError as error:
        status, content_type, payload = error.code, error.headers["Content-Type"], error.read()
    if raw:
        return status, content_type, payload.decode()
    return status, json.loads(payload)


def healthz(server):
    try:
        with urllib.request.urlopen(server.http + "/healthz", timeout=30) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()
