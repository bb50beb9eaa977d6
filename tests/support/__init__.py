"""Helpers shared by the test modules, bench/ and soak.py: not tests themselves. Test modules
import from here, never from each other; fixtures shared by several modules are in conftest.py.

waiting (poll until something holds, with a generous deadline; the scenario runner), protocol (a
small independent client), http_api and metrics (one request, /metrics read strictly), browser
(the page in headless Chromium), postgres (a private cluster), postgres_proxy (a socket the test
can cut), nginx and tls (a real nginx in front, a private CA), deploy_unit (the systemd unit as
systemd reads it), json_files and random_json (the JSON Patch fixtures, random documents),
sample_history (a short history to browse), large_documents (data directories written directly),
inbox_storm, dropping_relay, page_probe (figures measured inside the page)."""
