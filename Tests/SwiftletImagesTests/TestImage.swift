import Foundation
@testable import SwiftletImages

/// An image built in memory: layer blobs, a config and an OCI manifest, all content-addressed.
struct TestImage {
    struct Blob {
        var bytes: [UInt8]
        var digest: Digest { Digest.sha256(of: bytes) }
    }

    var layers: [Blob] = []
    /// The uncompressed tars, for the config's diff_ids.
    var diffIDs: [Digest] = []
    var layerMediaTypes: [String] = []
    var configJSON: [String: Any] = [
        "architecture": "amd64", "os": "linux", "created": "2024-05-06T07:08:09.123456789Z",
        "config": [
            "Entrypoint": ["/usr/bin/tool"], "Cmd": ["--serve"], "Env": ["PATH=/usr/bin:/bin", "MODE=test"],
            "WorkingDir": "/srv", "User": "1000:1000", "ExposedPorts": ["8080/tcp": [String: String](), "9090/udp": [String: String]()],
        ] as [String: Any],
    ]

    /// Adds a layer built from `tar` (a finished archive), gzip'd unless `compressed` is false.
    mutating func addLayer(_ tar: [UInt8], compressed: Bool = true) throws {
        layers.append(Blob(bytes: compressed ? try gzip(tar) : tar))
        diffIDs.append(Digest.sha256(of: tar))
        layerMediaTypes.append(compressed ? ImageMediaType.ociLayerGzip : ImageMediaType.ociLayer)
    }

    var config: Blob {
        var json = configJSON
        if json["rootfs"] == nil { json["rootfs"] = ["type": "layers", "diff_ids": diffIDs.map(\.description)] }
        return Blob(bytes: Array(try! JSONSerialization.data(withJSONObject: json, options: [.sortedKeys])))
    }

    var manifest: Blob {
        let config = self.config
        let layerList: [[String: Any]] = zip(layers, layerMediaTypes).map { layer, type in
            ["mediaType": type, "digest": layer.digest.description, "size": layer.bytes.count]
        }
        let json: [String: Any] = [
            "schemaVersion": 2, "mediaType": ImageMediaType.ociManifest,
            "config": ["mediaType": ImageMediaType.ociConfig, "digest": config.digest.description, "size": config.bytes.count],
            "layers": layerList,
        ]
        return Blob(bytes: Array(try! JSONSerialization.data(withJSONObject: json, options: [.sortedKeys])))
    }

    /// A `docker save` archive: manifest.json, `<hex>.json` config, `<n>/layer.tar` layers.
    func dockerSave(repoTags: [String]?, layerNames: [String]? = nil) -> [UInt8] {
        var tar = TarBuilder()
        let config = self.config
        let names = layerNames ?? layers.indices.map { "layer\($0)/layer.tar" }
        for (name, layer) in zip(names, layers) where !name.hasPrefix("missing") {
            tar.file(name, layer.bytes)
        }
        tar.file(config.digest.hex + ".json", config.bytes)
        var entry: [String: Any] = ["Config": config.digest.hex + ".json", "Layers": names]
        if let repoTags { entry["RepoTags"] = repoTags }
        tar.file("manifest.json", Array(try! JSONSerialization.data(withJSONObject: [entry])))
        return tar.finished
    }

    /// An OCI image layout: oci-layout, index.json (annotated with `annotations`), blobs/sha256/….
    /// With `platformIndex`, index.json points at an index of linux/amd64 (this image) and
    /// linux/arm64 (whose blobs are missing, as in a single-platform export).
    func ociLayout(
        annotations: [String: String]?, platformIndex: Bool = false, skipping: Set<Digest> = [], replacing: [Digest: [UInt8]] = [:]
    ) -> [UInt8] {
        var tar = TarBuilder()
        tar.file("oci-layout", #"{"imageLayoutVersion":"1.0.0"}"#)
        let manifest = self.manifest
        var blobs = [manifest, config] + layers
        var top: [String: Any] = ["mediaType": ImageMediaType.ociManifest, "digest": manifest.digest.description, "size": manifest.bytes.count]
        if platformIndex {
            let missing = Digest.sha256(of: Array("arm64".utf8))
            let index: [String: Any] = [
                "schemaVersion": 2, "mediaType": ImageMediaType.ociIndex,
                "manifests": [
                    [
                        "mediaType": ImageMediaType.ociManifest, "digest": missing.description, "size": 5,
                        "platform": ["os": "linux", "architecture": "arm64"],
                    ],
                    top.merging(["platform": ["os": "linux", "architecture": "amd64"]]) { $1 },
                    [
                        "mediaType": ImageMediaType.ociManifest, "digest": missing.description, "size": 5,
                        "platform": ["os": "unknown", "architecture": "unknown"], "annotations": ["vnd.docker.reference.type": "attestation-manifest"],
                    ],
                ],
            ]
            let indexBlob = Blob(bytes: Array(try! JSONSerialization.data(withJSONObject: index, options: [.sortedKeys])))
            blobs.append(indexBlob)
            top = ["mediaType": ImageMediaType.ociIndex, "digest": indexBlob.digest.description, "size": indexBlob.bytes.count]
        }
        if let annotations { top["annotations"] = annotations }
        tar.file("index.json", Array(try! JSONSerialization.data(withJSONObject: ["schemaVersion": 2, "manifests": [top]])))
        tar.directory("blobs/")
        tar.directory("blobs/sha256/")
        for blob in blobs where !skipping.contains(blob.digest) {
            tar.file("blobs/sha256/" + blob.digest.hex, replacing[blob.digest] ?? blob.bytes)
        }
        return tar.finished
    }
}
