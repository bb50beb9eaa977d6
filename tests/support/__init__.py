"""Helpers shared by the test modules, bench/ and soak.py: not tests themselves.

protocol (a small independent client), postgres (a private cluster), postgres_proxy (a socket
the test can cut), large_documents (data directories written directly), page_probe (figures
measured inside the page)."""
