// swift-tools-version:6.0
import PackageDescription

let package = Package(
    name: "patchsync",
    products: [
        .executable(name: "patchsync", targets: ["patchsync"]),
        .library(name: "JSONPatch", targets: ["JSONPatch"]),
        .library(name: "SyncProtocol", targets: ["SyncProtocol"]),
        .library(name: "SyncEngine", targets: ["SyncEngine"]),
        .library(name: "FileStore", targets: ["FileStore"]),
        .library(name: "SyncClient", targets: ["SyncClient"]),
        // Serving a model of one's own (examples/embedding): the HTTP API and the server.
        .library(name: "SyncAPI", targets: ["SyncAPI"]),
        .library(name: "SyncServer", targets: ["SyncServer"]),
        .library(name: "JSONSchema", targets: ["JSONSchema"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-collections", from: "1.6.0"),
    ],
    targets: [
        // C at the edges: libwebsockets (event loop, HTTP, WebSocket) and jansson (JSON text).
        .systemLibrary(
            name: "CLibWebsockets",
            path: "CLibWebsockets",
            pkgConfig: "libwebsockets",
            providers: [.apt(["libwebsockets-dev", "libcap-dev"])]
        ),
        // libpq, loaded with dlopen only when a database is named (see Sources/CLibpq).
        .target(name: "CLibpq", linkerSettings: [.linkedLibrary("dl")]),
        .systemLibrary(
            name: "CJansson",
            pkgConfig: "jansson",
            providers: [.apt(["libjansson-dev"])]
        ),

        // libcrypto (OpenSSL 3): signature checks of signed access tokens. libwebsockets links it already.
        .systemLibrary(name: "COpenSSL", pkgConfig: "libcrypto", providers: [.apt(["libssl-dev"])]),
        // Signed access tokens (JWS): base64url and claims in Swift, signatures through libcrypto.
        .target(name: "AccessTokens", dependencies: ["COpenSSL", "JSONCodec", "JSONPatch"]),

        // zlib, for compressing a large message once for every permessage-deflate session.
        .systemLibrary(name: "CZlib", pkgConfig: "zlib", providers: [.apt(["zlib1g-dev"])]),

        // Threads and system calls: one thread type, one EINTR-retrying wrapper with typed errors.
        .target(name: "SystemSupport", dependencies: ["CMalloc"]),
        // glibc's malloc.h: mallopt and malloc_trim.
        .systemLibrary(name: "CMalloc"),
        // libwebsockets plumbing shared by the server and the client: reassembly, writes,
        // close reasons, wakeups.
        .target(name: "LibWebsocketsSupport", dependencies: ["CLibWebsockets"]),
        // Pure Swift: JSON value, JSON Pointer, apply and diff. Imports no C and no Foundation.
        .target(
            name: "JSONPatch",
            dependencies: [.product(name: "OrderedCollections", package: "swift-collections")]
        ),
        // JSON Schema (draft 2020-12) compiled once and validated over JSONValue. Pure Swift, no
        // Foundation: patterns use the standard library's Regex.
        .target(name: "JSONSchema", dependencies: ["JSONPatch"]),
        // JSON text <-> JSONValue through jansson.
        .target(
            name: "JSONCodec",
            dependencies: ["CJansson", "JSONPatch", .product(name: "OrderedCollections", package: "swift-collections")]
        ),
        // Codable values <-> JSONValue, without Foundation.
        .target(name: "JSONValueCoding", dependencies: ["JSONPatch"]),
        // The wire protocol: the typed messages of both directions (encode and decode), error
        // codes, close codes and roles. Pure Swift over JSONValue; JSON text through JSONCodec.
        .target(name: "SyncProtocol", dependencies: ["JSONPatch", "JSONCodec"]),
        // Generic documents: reducer, actor, fan-out, and the store API
        // (`DocumentStore`) that the stores implement; it depends on no store.
        .target(
            name: "SyncEngine",
            dependencies: [
                "SyncProtocol", "JSONPatch", "JSONCodec", "JSONValueCoding", "SystemSupport",
                .product(name: "DequeModule", package: "swift-collections"),
                .product(name: "OrderedCollections", package: "swift-collections"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        // The file store: one directory per document, an fsynced event log and snapshots, on a
        // thread of its own.
        .target(
            name: "FileStore",
            dependencies: [
                "SyncEngine", "JSONPatch", "JSONCodec", "SystemSupport", .product(name: "Logging", package: "swift-log"),
            ]
        ),
        // The PostgreSQL store and bus: libpq on threads of its own.
        .target(
            name: "PostgresBackend",
            dependencies: [
                "CLibpq", "SyncEngine", "JSONPatch", "JSONCodec", "SystemSupport",
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        // The first application: the shared Todo list.
        .target(name: "TodoModel", dependencies: ["SyncEngine", "JSONPatch"]),
        // The web page, compiled into the binary.
        .target(name: "WebAssets", resources: [.embedInCode("Public")]),
        // The HTTP API (documents, history, revert) and /metrics, as a transport-free handler.
        .target(
            name: "SyncAPI",
            dependencies: ["SyncEngine", "JSONPatch", "JSONCodec", .product(name: "Logging", package: "swift-log")]
        ),
        // libwebsockets server bridge: HTTP, WebSocket sessions, service thread.
        .target(
            name: "SyncServer",
            dependencies: [
                "CLibWebsockets", "CZlib", "LibWebsocketsSupport", "SystemSupport", "SyncProtocol", "SyncEngine", "SyncAPI",
                "JSONCodec", "WebAssets", "AccessTokens",
                .product(name: "DequeModule", package: "swift-collections"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        // libwebsockets client: mirrors a document and sends actions.
        .target(
            name: "SyncClient",
            dependencies: [
                "CLibWebsockets", "LibWebsocketsSupport", "SystemSupport", "SyncProtocol", "JSONPatch", "JSONCodec",
                .product(name: "DequeModule", package: "swift-collections"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .executableTarget(
            name: "patchsync",
            dependencies: [
                "JSONPatch", "JSONCodec", "SyncEngine", "TodoModel", "SyncServer", "SyncClient", "SyncAPI",
                "SystemSupport", "FileStore", "PostgresBackend", "CMalloc", "JSONSchema", "AccessTokens",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .executableTarget(
            name: "PatchsyncBench",
            dependencies: [
                "JSONPatch", "JSONCodec", "SyncEngine", "FileStore", "TodoModel", "SyncClient", "JSONSchema", "AccessTokens",
                .product(name: "Logging", package: "swift-log"),
            ]
        ),

        // What several test targets share (they cannot import each other): the seeded generator
        // and random JSON documents. A plain target, in no product.
        .target(name: "TestSupport", dependencies: ["JSONPatch"], path: "Tests/TestSupport"),
        .testTarget(name: "JSONPatchTests", dependencies: ["JSONPatch", "JSONCodec", "TestSupport"], exclude: ["Fixtures"]),
        .testTarget(
            name: "JSONSchemaTests", dependencies: ["JSONSchema", "JSONPatch", "JSONCodec", "TestSupport"],
            exclude: ["Fixtures"]),
        .testTarget(name: "SyncProtocolTests", dependencies: ["SyncProtocol", "JSONPatch", "JSONCodec"]),
        .testTarget(name: "JSONCodecTests", dependencies: ["JSONCodec", "JSONPatch", "JSONValueCoding", "TestSupport"]),
        // The engine's tests and the file store's share a transport stand-in, temporary data
        // directories and an engine on the file store.
        .target(
            name: "EngineTestSupport",
            dependencies: [
                "SyncEngine", "SyncProtocol", "FileStore", "TodoModel", "JSONPatch", "JSONCodec",
                .product(name: "Logging", package: "swift-log"),
            ],
            path: "Tests/EngineTestSupport"
        ),
        .testTarget(
            name: "SyncEngineTests",
            dependencies: [
                "SyncEngine", "SyncProtocol", "FileStore", "TodoModel", "JSONPatch", "JSONCodec", "JSONValueCoding",
                "SystemSupport", "EngineTestSupport", .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .testTarget(
            name: "FileStoreTests",
            dependencies: ["FileStore", "SyncEngine", "TodoModel", "JSONPatch", "JSONCodec", "EngineTestSupport"]
        ),
        .testTarget(name: "SyncClientTests", dependencies: ["SyncClient", "SyncProtocol", "JSONPatch", "JSONCodec"]),
        .testTarget(
            name: "TodoModelTests", dependencies: ["TodoModel", "SyncEngine", "JSONPatch", "JSONValueCoding", "TestSupport"]),
        .testTarget(name: "AccessTokensTests", dependencies: ["AccessTokens", "SyncAPI"]),
        .testTarget(
            name: "PostgresBackendTests",
            dependencies: [
                "PostgresBackend", "SyncEngine", "JSONPatch", .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .testTarget(name: "SyncAPITests", dependencies: ["SyncAPI", "SyncEngine", "FileStore", "TodoModel", "JSONCodec"]),
        .testTarget(
            name: "ServerTests",
            dependencies: [
                "SyncServer", "SyncClient", "SyncProtocol", "SyncEngine", "FileStore", "SyncAPI", "AccessTokens", "TodoModel", "JSONCodec", "LibWebsocketsSupport", "CZlib",
            ]
        ),
    ]
)

// Fuzz targets (`make fuzz`): libFuzzer entry points without a `main`, so they link only when
// built with `--sanitize=fuzzer`. Declared only then (PATCHSYNC_FUZZ set), keeping them out of
// `swift build` and `swift test`. They reach internal types with `@testable import`, which the
// fuzz build enables with `-enable-testing`.
if Context.environment["PATCHSYNC_FUZZ"] != nil {
    package.targets.append(
        .target(
            name: "FuzzSupport",
            dependencies: ["JSONPatch", "SyncEngine", "FileStore", .product(name: "Logging", package: "swift-log")],
            path: "Fuzz/FuzzSupport"))
    let fuzzTargets: [(name: String, dependencies: [Target.Dependency])] = [
        ("FuzzJSONCodec", ["JSONCodec", "JSONPatch"]),
        ("FuzzJSONPointer", ["JSONPatch"]),
        ("FuzzPatchApply", ["JSONPatch"]),
        ("FuzzDiff", ["JSONPatch"]),
        ("FuzzClientMessage", ["SyncProtocol", "SyncEngine", "TodoModel", "JSONPatch", "JSONCodec"]),
        ("FuzzHTTPRouting", ["SyncAPI", "SyncServer", "SyncEngine", "FileStore", "TodoModel", "JSONCodec", .product(name: "Logging", package: "swift-log")]),
        ("FuzzMessageAssembler", ["LibWebsocketsSupport"]),
        ("FuzzJSONSchema", ["JSONSchema", "JSONCodec", "JSONPatch"]),
        ("FuzzTokenParser", ["AccessTokens", "SyncAPI"]),
        ("FuzzEventLog", ["SyncEngine", "FileStore", "TodoModel", "JSONPatch", "JSONCodec", .product(name: "Logging", package: "swift-log")]),
        ("FuzzIdentifiers", ["SyncProtocol", "SyncEngine", "SyncServer", "JSONPatch", "JSONCodec"]),
    ]
    for target in fuzzTargets {
        package.targets.append(
            .executableTarget(name: target.name, dependencies: ["FuzzSupport"] + target.dependencies, path: "Fuzz/\(target.name)"))
    }
}
