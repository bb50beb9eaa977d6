import JSONPatch
import SyncEngine
import Testing

@testable import SyncAPI

/// One sample line of the exposition format: `name{label="value",...} number`.
struct Sample: Hashable {
    let name: String
    let labels: [String: String]
    let value: Double
}

/// A strict reader of the text format as Prometheus documents it; throws on any malformed line.
struct Exposition {
    struct Malformed: Error, CustomStringConvertible {
        let line: String
        var description: String { "malformed line: \(line)" }
    }

    var types: [String: String] = [:]
    var helps: [String: String] = [:]
    var samples: [Sample] = []

    init(_ text: String) throws {
        #expect(text.hasSuffix("\n"))
        for line in text.split(separator: "\n", omittingEmptySubsequences: false).dropLast() {
            if line.hasPrefix("# ") {
                let parts = line.split(separator: " ", maxSplits: 3)
                guard parts.count >= 3, parts[1] == "HELP" || parts[1] == "TYPE" else { throw Malformed(line: String(line)) }
                let name = String(parts[2])
                guard Self.isMetricName(name), types[name] == nil else { throw Malformed(line: String(line)) }
                if parts[1] == "TYPE" {
                    guard parts.count == 4, ["counter", "gauge", "histogram", "summary", "untyped"].contains(parts[3])
                    else { throw Malformed(line: String(line)) }
                    types[name] = String(parts[3])
                } else {
                    helps[name] = parts.count == 4 ? String(parts[3]) : ""
                }
                continue
            }
            samples.append(try Self.sample(String(line)))
        }
        // Every sample belongs to a family with HELP and TYPE lines.
        for sample in samples {
            let family = family(of: sample.name)
            guard let family, helps[family] != nil else { throw Malformed(line: sample.name) }
        }
    }

    func family(of sampleName: String) -> String? {
        if types[sampleName] != nil { return sampleName }
        for suffix in ["_bucket", "_sum", "_count"] where sampleName.hasSuffix(suffix) {
            let base = String(sampleName.dropLast(suffix.count))
            if types[base] == "histogram" || types[base] == "summary" { return base }
        }
        return nil
    }

    func value(_ name: String, _ labels: [String: String] = [:]) -> Double? {
        samples.first(where: { $0.name == name && $0.labels == labels })?.value
    }

    private static func isMetricName(_ name: String) -> Bool {
        guard let first = name.unicodeScalars.first, first == "_" || first == ":" || first.properties.isAlphabetic else {
            return false
        }
        return name.unicodeScalars.allSatisfy { $0.isASCII && ($0 == "_" || $0 == ":" || $0.properties.isAlphabetic || ("0"..."9").contains($0)) }
    }

    private static func sample(_ line: String) throws -> Sample {
        var rest = Substring(line)
        let nameEnd = rest.firstIndex(where: { $0 == "{" || $0 == " " }) ?? rest.endIndex
        let name = String(rest[..<nameEnd])
        guard isMetricName(name) else { throw Malformed(line: line) }
        rest = rest[nameEnd...]
        var labels: [String: String] = [:]
        if rest.first == "{" {
            rest.removeFirst()
            while rest.first != "}" {
                guard let equals = rest.firstIndex(of: "=") else { throw Malformed(line: line) }
                let label = String(rest[..<equals])
                rest = rest[rest.index(after: equals)...]
                guard rest.first == "\"" else { throw Malformed(line: line) }
                rest.removeFirst()
                var value = ""
                while let character = rest.first, character != "\"" {
                    rest.removeFirst()
                    if character == "\\" {
                        guard let escaped = rest.popFirst() else { throw Malformed(line: line) }
                        switch escaped {
                        case "n": value.append("\n")
                        case "\\", "\"": value.append(escaped)
                        default: throw Malformed(line: line)
                        }
                    } else {
                        value.append(character)
                    }
                }
                guard rest.popFirst() == "\"" else { throw Malformed(line: line) }
                labels[label] = value
                if rest.first == "," { rest.removeFirst() }
                guard !rest.isEmpty else { throw Malformed(line: line) }
            }
            rest.removeFirst()
        }
        guard rest.popFirst() == " " else { throw Malformed(line: line) }
        let number: Double? =
            switch rest {
            case "+Inf": .infinity
            case "-Inf": -.infinity
            case "NaN": .nan
            default: Double(rest)
            }
        guard let number else { throw Malformed(line: line) }
        return Sample(name: name, labels: labels, value: number)
    }
}

@Suite struct MetricsTests {
    @Test func metricsParseAndCountActions() async throws {
        let fixture = try await APIFixture()
        let shop = try #require(DocumentName("shop"))
        try await fixture.act(#"{"type":"ChangeName","name":"a"}"#)
        try await fixture.act(#"{"type":"Add","row":{"name":"milk","completed":false}}"#)
        try await fixture.act(#"{"type":"Nonsense"}"#)
        try await fixture.act(#"{"type":"ChangeName","name":"s"}"#, on: shop)

        let response = await fixture.request(.get, "/metrics")
        #expect(response.status == 200)
        #expect(response.contentType.hasPrefix("text/plain; version=0.0.4"))
        let metrics = try Exposition(String(decoding: response.body, as: UTF8.self))

        #expect(metrics.samples.allSatisfy { $0.name.hasPrefix("patchsync_") })
        #expect(metrics.types["patchsync_actions_applied_total"] == "counter")
        #expect(metrics.value("patchsync_actions_applied_total") == 3)
        #expect(metrics.value("patchsync_actions_rejected_total", ["code": "unknown_type"]) == 1)
        #expect(metrics.value("patchsync_actions_rejected_total", ["code": "invalid_json"]) == 0)
        #expect(metrics.value("patchsync_patches_broadcast_total") == 3)
        #expect((metrics.value("patchsync_sent_bytes_total") ?? 0) > 0)
        #expect(metrics.value("patchsync_document_version", ["document": "default"]) == 2)
        #expect(metrics.value("patchsync_document_version", ["document": "shop"]) == 1)
        #expect(metrics.value("patchsync_documents") == 2)
        #expect(metrics.value("patchsync_sessions") == 2)

        #expect(metrics.types["patchsync_log_fsync_seconds"] == "histogram")
        let buckets = metrics.samples.filter { $0.name == "patchsync_log_fsync_seconds_bucket" }
        #expect(buckets.count == SyncMetrics.syncBucketBounds.count + 1)
        #expect(zip(buckets, buckets.dropFirst()).allSatisfy { $0.value <= $1.value })
        #expect(buckets.last?.labels == ["le": "+Inf"])
        let count = try #require(metrics.value("patchsync_log_fsync_seconds_count"))
        #expect(count >= 1)
        #expect(buckets.last?.value == count)
        #expect((metrics.value("patchsync_log_fsync_seconds_sum") ?? -1) >= 0)

        // Without a transport there are no connection series.
        #expect(metrics.value("patchsync_connections_open") == nil)
        await fixture.shutdown()
    }

    @Test func transportCountersAreRenderedWhenTheServerSuppliesThem() async throws {
        let transport = FixedTransport(
            metrics: TransportMetrics(connectionsOpen: 3, connectionsTotal: 10, slowClientDisconnects: 2))
        let fixture = try await APIFixture(transport: transport)
        let response = await fixture.request(.get, "/metrics")
        let metrics = try Exposition(String(decoding: response.body, as: UTF8.self))
        #expect(metrics.value("patchsync_connections_open") == 3)
        #expect(metrics.types["patchsync_connections_open"] == "gauge")
        #expect(metrics.value("patchsync_connections_total") == 10)
        #expect(metrics.value("patchsync_slow_client_disconnects_total") == 2)
        await fixture.shutdown()
    }

    @Test func labelValuesAreEscaped() throws {
        var text = PrometheusText()
        text.family("patchsync_x", "gauge", help: "a \\ help\nline")
        text.sample("patchsync_x", labels: ["a": "quote\" back\\ newline\n"], 1.5)
        #expect(text.text == "# HELP patchsync_x a \\\\ help\\nline\n# TYPE patchsync_x gauge\npatchsync_x{a=\"quote\\\" back\\\\ newline\\n\"} 1.5\n")
        let parsed = try Exposition(text.text)
        #expect(parsed.samples == [Sample(name: "patchsync_x", labels: ["a": "quote\" back\\ newline\n"], value: 1.5)])
    }

    @Test func specialFloatsUseGoSyntax() {
        #expect(PrometheusText.format(.infinity) == "+Inf")
        #expect(PrometheusText.format(-.infinity) == "-Inf")
        #expect(PrometheusText.format(.nan) == "NaN")
        #expect(PrometheusText.format(0.25) == "0.25")
    }
}
