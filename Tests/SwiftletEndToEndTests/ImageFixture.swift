import Crypto
import Foundation

/// Builds a small OCI image in the test: a busybox-static rootfs whose `httpd` serves
/// `/_/health` and a CGI echo on :8080, as a `docker save` tarball or an OCI image layout.
enum ImageFixture {
    struct Built {
        var archive: String
        var workDirectory: String
    }

    /// Writes the rootfs into `directory/rootfs` and returns the gzip'd layer bytes.
    static func layer(in directory: String, user: String) throws -> Data {
        let root = directory + "/rootfs"
        let fm = FileManager.default
        for dir in ["bin", "etc", "www/_", "www/cgi-bin", "tmp"] {
            try fm.createDirectory(atPath: root + "/" + dir, withIntermediateDirectories: true)
        }
        try fm.copyItem(atPath: "/bin/busybox", toPath: root + "/bin/busybox")
        try fm.setAttributes([.posixPermissions: 0o755], ofItemAtPath: root + "/bin/busybox")
        for tool in ["sh", "cat", "echo", "env", "id"] {
            try fm.createSymbolicLink(atPath: root + "/bin/" + tool, withDestinationPath: "/bin/busybox")
        }
        try "root:x:0:0:root:/root:/bin/sh\napp:x:1000:1000:app:/www:/bin/sh\n".write(toFile: root + "/etc/passwd", atomically: false, encoding: .utf8)
        try "root:x:0:\napp:x:1000:\n".write(toFile: root + "/etc/group", atomically: false, encoding: .utf8)
        try "OK".write(toFile: root + "/www/_/health", atomically: false, encoding: .utf8)
        try "hello from an image\n".write(toFile: root + "/www/index.html", atomically: false, encoding: .utf8)
        let cgi = """
            #!/bin/sh
            printf 'Content-Type: text/plain\r\n\r\n'
            echo "method=$REQUEST_METHOD query=$QUERY_STRING uid=$(id -u) greeting=$GREETING"
            cat
            """
        try cgi.write(toFile: root + "/www/cgi-bin/echo", atomically: false, encoding: .utf8)
        try fm.setAttributes([.posixPermissions: 0o755], ofItemAtPath: root + "/www/cgi-bin/echo")
        try fm.setAttributes([.posixPermissions: 0o1777], ofItemAtPath: root + "/tmp")
        _ = user
        let tar = directory + "/layer.tar"
        try run("/bin/tar", ["--numeric-owner", "--owner=0", "--group=0", "-cf", tar, "-C", root, "."])
        try run("/bin/gzip", ["-kn", tar])
        return try Data(contentsOf: URL(fileURLWithPath: tar + ".gz"))
    }

    static func config(diffID: String, user: String) throws -> Data {
        let config: [String: Any] = [
            "architecture": "amd64", "os": "linux",
            "config": [
                "Cmd": ["/bin/busybox", "httpd", "-f", "-p", "8080", "-h", "/www"],
                "Env": ["PATH=/bin", "GREETING=from-image-env"],
                "WorkingDir": "/www",
                "User": user,
                "ExposedPorts": ["8080/tcp": [String: String]()],
            ],
            "rootfs": ["type": "layers", "diff_ids": [diffID]],
        ]
        return try JSONSerialization.data(withJSONObject: config, options: [.sortedKeys])
    }

    /// A `docker save` tarball named `reference`.
    static func dockerSave(reference: String, user: String = "app") throws -> Built {
        let work = TestPlatform.makeTemporaryDirectory()
        let layerGz = try layer(in: work, user: user)
        let layerTar = try Data(contentsOf: URL(fileURLWithPath: work + "/layer.tar"))
        let config = try self.config(diffID: "sha256:" + hex(layerTar), user: user)
        let out = work + "/save"
        try FileManager.default.createDirectory(atPath: out, withIntermediateDirectories: true)
        let configName = hex(config) + ".json"
        try config.write(to: URL(fileURLWithPath: out + "/" + configName))
        try layerGz.write(to: URL(fileURLWithPath: out + "/layer.tar.gz"))
        let manifest: [[String: Any]] = [["Config": configName, "RepoTags": [reference], "Layers": ["layer.tar.gz"]]]
        try JSONSerialization.data(withJSONObject: manifest).write(to: URL(fileURLWithPath: out + "/manifest.json"))
        let archive = work + "/image.tar"
        try run("/bin/tar", ["-cf", archive, "-C", out, "."])
        return Built(archive: archive, workDirectory: work)
    }

    /// An OCI image-layout tarball whose index names the image `refName`.
    static func ociLayout(refName: String, user: String = "app") throws -> Built {
        let work = TestPlatform.makeTemporaryDirectory()
        let layerGz = try layer(in: work, user: user)
        let layerTar = try Data(contentsOf: URL(fileURLWithPath: work + "/layer.tar"))
        let config = try self.config(diffID: "sha256:" + hex(layerTar), user: user)
        let out = work + "/oci"
        let blobs = out + "/blobs/sha256"
        try FileManager.default.createDirectory(atPath: blobs, withIntermediateDirectories: true)
        try config.write(to: URL(fileURLWithPath: blobs + "/" + hex(config)))
        try layerGz.write(to: URL(fileURLWithPath: blobs + "/" + hex(layerGz)))
        let manifest: [String: Any] = [
            "schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "config": ["mediaType": "application/vnd.oci.image.config.v1+json", "digest": "sha256:" + hex(config), "size": config.count],
            "layers": [["mediaType": "application/vnd.oci.image.layer.v1.tar+gzip", "digest": "sha256:" + hex(layerGz), "size": layerGz.count]],
        ]
        let manifestData = try JSONSerialization.data(withJSONObject: manifest, options: [.sortedKeys])
        try manifestData.write(to: URL(fileURLWithPath: blobs + "/" + hex(manifestData)))
        let index: [String: Any] = [
            "schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json",
            "manifests": [[
                "mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": "sha256:" + hex(manifestData), "size": manifestData.count,
                "platform": ["architecture": "amd64", "os": "linux"],
                "annotations": ["org.opencontainers.image.ref.name": refName],
            ]],
        ]
        try JSONSerialization.data(withJSONObject: index).write(to: URL(fileURLWithPath: out + "/index.json"))
        try #"{"imageLayoutVersion":"1.0.0"}"#.write(toFile: out + "/oci-layout", atomically: false, encoding: .utf8)
        let archive = work + "/image.tar"
        try run("/bin/tar", ["-cf", archive, "-C", out, "."])
        return Built(archive: archive, workDirectory: work)
    }

    static func hex(_ data: Data) -> String {
        SHA256.hash(data: data).map { String(format: "%02x", $0) }.joined()
    }

    static func run(_ tool: String, _ arguments: [String]) throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: tool)
        process.arguments = arguments
        try process.run()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else { throw TestFailure("\(tool) \(arguments) failed") }
    }
}
