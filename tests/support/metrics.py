"""The server's /metrics read strictly (the Prometheus text format) and one sample looked up."""
import re
import urllib.request


def parse_exposition(text):
    """A strict reader of the Prometheus text format: {(name, frozenset(labels)): value}, {family: type}."""
    sample_line = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})? (\S+)$')
    label_pair = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)",?')
    samples, types, helps = {}, {}, set()
    assert text.endswith("\n")
    for line in text.splitlines():
        if line.startswith("# HELP "):
            helps.add(line.split(" ")[2])
            continue
        if line.startswith("# TYPE "):
            _, _, name, kind = line.split(" ")
            assert kind in ("counter", "gauge", "histogram", "summary", "untyped"), line
            assert name in helps and name not in types, line
            types[name] = kind
            continue
        match = sample_line.match(line)
        assert match, f"malformed line: {line!r}"
        name, _, label_text, value = match.groups()
        labels = {}
        if label_text:
            consumed = 0
            for pair in label_pair.finditer(label_text):
                assert pair.start() == consumed, f"malformed labels: {line!r}"
                labels[pair.group(1)] = re.sub(r'\\(.)', lambda m: "\n" if m.group(1) == "n" else m.group(1), pair.group(2))
                consumed = pair.end()
            assert consumed == len(label_text), f"malformed labels: {line!r}"
        family = re.sub(r'_(bucket|sum|count)$', "", name) if name not in types else name
        assert family in types, f"sample without TYPE: {line!r}"
        samples[(name, frozenset(labels.items()))] = float(value)
    return samples, types


def metric(samples, name, **labels):
    return samples.get((name, frozenset(labels.items())))


def metrics(server):
    """The samples of the server's /metrics now: {(name, frozenset(labels)): value}."""
    with urllib.request.urlopen(server.http + "/metrics", timeout=30) as response:
        return parse_exposition(response.read().decode())[0]
