// swift-tools-version:6.0
// A program serving a document model of its own with patchsync's libraries (docs/embedding.md).
import PackageDescription

let package = Package(
    name: "embedding",
    dependencies: [
        .package(name: "patchsync", path: "../.."),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
    ],
    targets: [
        .executableTarget(
            name: "Tally",
            dependencies: [
                .product(name: "SyncEngine", package: "patchsync"),
                .product(name: "FileStore", package: "patchsync"),
                .product(name: "SyncAPI", package: "patchsync"),
                .product(name: "SyncServer", package: "patchsync"),
                .product(name: "Logging", package: "swift-log"),
            ]
        )
    ]
)
