// swift-tools-version:6.1
import PackageDescription

let swiftSettings: [SwiftSetting] = [
    .enableUpcomingFeature("ExistentialAny")
]

let package = Package(
    name: "swiftlet",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "swiftlet", targets: ["swiftlet"])
    ],
    dependencies: [
        .package(url: "https://github.com/hummingbird-project/hummingbird.git", from: "2.28.1", traits: ["FullFoundation"]),
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-nio-extras.git", from: "1.35.2"),
        .package(url: "https://github.com/apple/swift-http-types.git", from: "1.8.0"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", from: "2.13.0"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.2"),
        .package(url: "https://github.com/groue/GRDB.swift.git", from: "7.10.0"),
        .package(url: "https://github.com/swift-server/async-http-client.git", from: "1.37.0"),
        .package(url: "https://github.com/adam-fowler/compress-nio.git", from: "1.5.0"),
        .package(url: "https://github.com/apple/swift-async-algorithms.git", from: "1.1.4"),
        .package(url: "https://github.com/apple/swift-crypto.git", "3.12.3"..<"5.0.0"),
        .package(url: "https://github.com/jpsim/Yams.git", "5.0.1"..<"7.0.0"),
        .package(url: "https://github.com/apple/swift-metrics.git", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus.git", from: "2.4.1"),
        .package(url: "https://github.com/hummingbird-project/hummingbird-websocket.git", from: "2.8.1"),
    ],
    targets: [
        // Linux syscalls Glibc does not export (setns, unshare).
        .target(name: "CSwiftletLinux"),
        // Domain types, validation and errors. No I/O, no NIO.
        .target(
            name: "SwiftletCore",
            swiftSettings: swiftSettings
        ),
        // Store protocol, SQLite implementation and migrations.
        .target(
            name: "SwiftletStore",
            dependencies: [
                "SwiftletCore",
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Crypto", package: "swift-crypto"),
            ],
            swiftSettings: swiftSettings
        ),
        // The language runners shipped with the binary (python3, node), as resources.
        .target(
            name: "SwiftletRunners",
            path: "runners",
            exclude: ["tests"],
            sources: ["SwiftletRunners.swift"],
            resources: [.copy("python3"), .copy("node")],
            swiftSettings: swiftSettings
        ),
        // OCI bundles, the runc driver, network namespaces, code bundles.
        .target(
            name: "SwiftletSandbox",
            dependencies: [
                "SwiftletCore",
                "CSwiftletLinux",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "CompressNIO", package: "compress-nio"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "Crypto", package: "swift-crypto"),
            ],
            swiftSettings: swiftSettings
        ),
        // OCI images: content-addressed store, import, layer unpacking, registry pulls.
        .target(
            name: "SwiftletImages",
            dependencies: [
                "SwiftletCore",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "CompressNIO", package: "compress-nio"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
            ],
            swiftSettings: swiftSettings
        ),
        // The Provider protocol, the native provider and the HTTP data path to instances.
        .target(
            name: "SwiftletProviders",
            dependencies: [
                "SwiftletCore",
                "SwiftletSandbox",
                "SwiftletRunners",
                "SwiftletImages",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOHTTPTypes", package: "swift-nio-extras"),
                .product(name: "NIOHTTPTypesHTTP1", package: "swift-nio-extras"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "AsyncAlgorithms", package: "swift-async-algorithms"),
            ],
            swiftSettings: swiftSettings
        ),
        // The Docker provider: containers through the Engine API (AsyncHTTPClient on the socket).
        .target(
            name: "SwiftletDocker",
            dependencies: [
                "SwiftletCore",
                "SwiftletSandbox",
                "SwiftletRunners",
                "SwiftletImages",
                "SwiftletProviders",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
            ],
            swiftSettings: swiftSettings
        ),
        // Instance pools per function: start, readiness, routing, rolling replacement.
        .target(
            name: "SwiftletScheduler",
            dependencies: [
                "SwiftletCore",
                "SwiftletProviders",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "CoreMetrics", package: "swift-metrics"),
            ],
            swiftSettings: swiftSettings
        ),
        // The durable async queue: workers, retries, dead letters, callbacks.
        .target(
            name: "SwiftletQueue",
            dependencies: [
                "SwiftletCore",
                "SwiftletStore",
                "SwiftletScheduler",
                "SwiftletProviders",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "CoreMetrics", package: "swift-metrics"),
            ],
            swiftSettings: swiftSettings
        ),
        // Per-function instance logs: timestamped, rotated files on disk and live followers.
        .target(
            name: "SwiftletLogs",
            dependencies: [
                "SwiftletSandbox",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: swiftSettings
        ),
        // The Hummingbird application: OpenFaaS routes, proxy, auth.
        .target(
            name: "SwiftletGateway",
            dependencies: [
                "SwiftletCore",
                "SwiftletStore",
                "SwiftletScheduler",
                "SwiftletProviders",
                "SwiftletQueue",
                "SwiftletLogs",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdWebSocket", package: "hummingbird-websocket"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "CoreMetrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
            ],
            swiftSettings: swiftSettings
        ),
        // Command line: one file per command; logic stays in the libraries.
        .target(
            name: "SwiftletCLI",
            dependencies: [
                "SwiftletCore",
                "SwiftletStore",
                "SwiftletSandbox",
                "SwiftletProviders",
                "SwiftletScheduler",
                "SwiftletQueue",
                "SwiftletGateway",
                "SwiftletLogs",
                "SwiftletDocker",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "Yams", package: "Yams"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Prometheus", package: "swift-prometheus"),
            ],
            swiftSettings: swiftSettings
        ),
        .executableTarget(
            name: "swiftlet",
            dependencies: ["SwiftletCLI", .product(name: "Logging", package: "swift-log")],
            swiftSettings: swiftSettings
        ),
        // Helpers shared by the test targets (a Prometheus text parser).
        .target(
            name: "SwiftletTestSupport",
            path: "Tests/SwiftletTestSupport",
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "SwiftletCoreTests",
            dependencies: ["SwiftletCore"],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "SwiftletStoreTests",
            dependencies: ["SwiftletStore", "SwiftletCore"],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "SwiftletSandboxTests",
            dependencies: ["SwiftletSandbox", "SwiftletCore", .product(name: "CompressNIO", package: "compress-nio")],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "SwiftletImagesTests",
            dependencies: [
                "SwiftletImages", "SwiftletCore",
                .product(name: "CompressNIO", package: "compress-nio"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "SwiftletDockerTests",
            dependencies: ["SwiftletDocker", "SwiftletCore", .product(name: "NIOCore", package: "swift-nio")],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "SwiftletLogsTests",
            dependencies: ["SwiftletLogs", "SwiftletSandbox"],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "SwiftletQueueTests",
            dependencies: [
                "SwiftletQueue", "SwiftletStore", "SwiftletCore",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "SwiftletGatewayTests",
            dependencies: [
                "SwiftletGateway", "SwiftletStore", "SwiftletScheduler", "SwiftletProviders", "SwiftletQueue", "SwiftletCore",
                "SwiftletLogs", "SwiftletTestSupport",
                .product(name: "HummingbirdTesting", package: "hummingbird"),
                .product(name: "HummingbirdWSTesting", package: "hummingbird-websocket"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "Yams", package: "Yams"),
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "SwiftletEndToEndTests",
            dependencies: [
                "SwiftletCLI", "SwiftletGateway", "SwiftletStore", "SwiftletScheduler", "SwiftletProviders", "SwiftletDocker",
                "SwiftletSandbox", "SwiftletQueue", "SwiftletCore", "SwiftletLogs", "SwiftletTestSupport",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Prometheus", package: "swift-prometheus"),
            ],
            swiftSettings: swiftSettings
        ),
    ]
)
