import Foundation
import NIOCore
import NIOPosix
import Testing

extension EndToEnd {
    /// The isolation attack suite (issue 8): real attacks from inside a deployed function against
    /// the real platform, in each isolation tier. Every row goes to ``AttackTable`` (printed after
    /// each test and written to `.build/security-report.md`) and is expected, so an attack that
    /// works, or fails in an unexpected way, fails the test. A bystander function is checked
    /// after every destructive attack. Nothing sends traffic beyond 127.0.0.1.
    @Suite("Security: AttackSuite", .serialized)
    struct AttackSuiteTests {
        static let table = AttackTable.shared

        @Test("reading, writing, privileged calls, setuid, network and other instances", arguments: AttackTier.allCases)
        func escapes(tier: AttackTier) async throws {
            // A listener on the host's loopback that the attacker must not reach.
            let listener = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton).bind(host: "127.0.0.1", port: 0).get()
            defer { listener.close(promise: nil) }
            let hostPort = try #require(listener.localAddress?.port)
            try await TestPlatform.with { platform in
                try await Self.table.collecting("escapes, \(tier)") {
                    guard try await Self.deploy(platform, "attacker", Attacker.source, tier: tier) else { return }
                    let victim = try await Victim.start(on: platform, tier: tier)
                    try await Self.deploy(platform, "bystander", Handlers.version("fine"), tier: tier)
                    #expect(try await platform.call("attacker").text == "calm")
                    #expect(try await platform.call("bystander").text == "fine")

                    let query = [
                        "data": platform.dataDirectory, "code": victim.codeDirectory, "secret": victim.secretHostPath,
                        "secretname": Victim.secretName, "gwport": String(platform.port), "hostport": String(hostPort),
                        "hostpid": String(victim.hostPID), "marker": victim.marker,
                    ]
                    let answer = try await platform.call("attacker", path: "/escape?" + Self.encode(query), timeout: .seconds(120))
                    #expect(answer.status == 200, "\(answer.text)")
                    let json = try answer.json()
                    let results = try #require(json["results"] as? [String: String], "\(answer.text)")
                    let notes = json["notes"] as? [String: String] ?? [:]
                    print("attacker notes (\(tier)): \(notes)")
                    for attack in EscapeAttack.all {
                        Self.table.check(attack.attack, tier: tier, result: results[attack.key] ?? "no answer", oneOf: attack.expected(in: tier))
                    }
                    try await Self.hostUIDs(platform, victim: victim, tier: tier)
                    let after = try await victim.check(on: platform)
                    Self.table.record(
                        "victim after the attacks", tier: tier, expected: "answers 200, same instance, sees its secret and marker", result: after,
                        passed: after == "same instance, secret and marker"
                    )
                    try await Self.bystander(platform, tier: tier, after: "the escape attempts")
                }
            }
        }

        @Test("fork bomb, file descriptors, /tmp fill and memory hog hit their limits", arguments: AttackTier.allCases)
        func exhaustion(tier: AttackTier) async throws {
            try await TestPlatform.with { platform in
                try await Self.table.collecting("exhaustion, \(tier)") {
                    guard try await Self.deploy(platform, "attacker", Attacker.source, tier: tier) else { return }
                    try await Self.deploy(platform, "hog", Attacker.source, tier: tier, extra: ["limits": ["memory": "64Mi"]])
                    try await Self.deploy(platform, "bystander", Handlers.version("fine"), tier: tier)
                    #expect(try await platform.call("attacker").text == "calm")
                    #expect(try await platform.call("hog").text == "calm")
                    #expect(try await platform.call("bystander").text == "fine")

                    let bomb = try await Self.exhaust(platform, "/bomb")
                    let bombRecovered = try await eventually(timeout: .seconds(30)) { try await platform.call("attacker").text == "calm" }
                    // gVisor (ptrace platform) backs every process of the function with a host
                    // process of its sandbox, so the host pids limit can stop the sentry itself:
                    // the whole instance dies (502) and is replaced. Still only that instance.
                    let bombOK =
                        (bomb.error == "EAGAIN" && bomb.count > 10 && bomb.count < 256) || (tier == .hardened && bomb.error.hasPrefix("status 502"))
                    Self.table.record(
                        "fork bomb: fork and exec /bin/sleep until fork fails", tier: tier,
                        expected: tier == .standard
                            ? "EAGAIN before 256 processes (pids limit), then the attacker serves again"
                            : "EAGAIN before 256 processes, or the sandbox dies at the pids limit (502); then the attacker serves again",
                        result: (bomb.error.hasPrefix("status ")
                            ? "\(bomb.error.prefix(10)) (the instance died)" : "\(bomb.error) after \(bomb.count) children")
                            + (bombRecovered ? ", serves again" : ", does not serve"),
                        passed: bombOK && bombRecovered
                    )
                    try await Self.bystander(platform, tier: tier, after: "the fork bomb")

                    let fds = try await Self.exhaust(platform, "/fds")
                    Self.table.record(
                        "exhaust file descriptors: open /dev/null until open fails", tier: tier, expected: "EMFILE at most 4096 fds (RLIMIT_NOFILE)",
                        result: "\(fds.error) after \(fds.count) fds", passed: fds.error == "EMFILE" && fds.count <= 4096
                    )
                    try await Self.bystander(platform, tier: tier, after: "the fd exhaustion")

                    let fill = try await Self.exhaust(platform, "/fill")
                    let mib = fill.count / (1024 * 1024)
                    Self.table.record(
                        "fill /tmp: write 1 MiB chunks until write fails", tier: tier, expected: "ENOSPC at most 64 MiB (the tmpfs size)",
                        result: "\(fill.error) after \(mib) MiB", passed: fill.error == "ENOSPC" && fill.count <= 64 * 1024 * 1024
                    )
                    try await Self.bystander(platform, tier: tier, after: "the /tmp fill")

                    let hog = try await platform.call("hog", path: "/hog", timeout: .seconds(90))
                    let attackerFine = try await platform.call("attacker").text == "calm"
                    let replaced = try await eventually(timeout: .seconds(30)) { try await platform.call("hog").text == "calm" }
                    Self.table.record(
                        "memory hog: allocate 4 GiB with limits.memory 64Mi", tier: tier,
                        expected: "502 for that call (instance OOM-killed), other functions unaffected, the hog replaced and serving",
                        result: "\(hog.status)" + (attackerFine ? ", attacker fine" : ", ATTACKER DOWN")
                            + (replaced ? ", hog serves again" : ", hog does not serve"),
                        passed: hog.status == 502 && attackerFine && replaced
                    )
                    try await Self.bystander(platform, tier: tier, after: "the memory hog")
                }
            }
        }

        @Test("a CPU spin does not stop others from serving", arguments: AttackTier.allCases)
        func cpuSpin(tier: AttackTier) async throws {
            try await TestPlatform.with { platform in
                try await Self.table.collecting("CPU spin, \(tier)") {
                    guard try await Self.deploy(platform, "attacker", Attacker.source, tier: tier) else { return }
                    try await Self.deploy(platform, "bystander", Handlers.version("fine"), tier: tier)
                    #expect(try await platform.call("attacker").text == "calm")
                    let baseline = try await Self.latencies(platform, calls: 50)
                    let spinSeconds = 5.0
                    let spin = Task { try await platform.call("attacker", path: "/spin?s=\(spinSeconds)", timeout: .seconds(60)) }
                    try await Task.sleep(for: .milliseconds(500))
                    let clock = ContinuousClock()
                    let started = clock.now
                    let loaded = try await Self.latencies(platform, calls: 50)
                    let measuredWithin = clock.now - started < .seconds(spinSeconds - 0.5)
                    let spinAnswer = try await spin.value
                    let spinners = (try? spinAnswer.json()["count"] as? Int) ?? 0
                    let result =
                        "\(spinners) spinning processes; bystander p50/max \(Self.ms(baseline.p50))/\(Self.ms(baseline.max)) ms before, "
                        + "\(Self.ms(loaded.p50))/\(Self.ms(loaded.max)) ms during, \(loaded.failures) failed"
                        + (measuredWithin ? "" : " (measurement outlasted the spin)")
                    Self.table.record(
                        "CPU spin: every thread of the attacker busy for \(Int(spinSeconds)) s", tier: tier,
                        expected: "bystander answers 200 throughout, p50 under 100 ms", result: result,
                        passed: spinAnswer.status == 200 && spinners >= 4 && loaded.failures == 0 && loaded.p50 < .milliseconds(100)
                    )
                    try await Self.bystander(platform, tier: tier, after: "the CPU spin")
                }
            }
        }

        @Test("the attack table")
        func report() {
            Self.table.publish(title: "Swiftlet attack table (written to \(AttackTable.reportPath))")
            #expect(!Self.table.all.contains { $0.verdict == .fail })
        }

        // MARK: - Helpers

        /// Deploys `name` in `tier`; false (and a skipped row) when the platform refuses the tier
        /// with 501, as a native provider without gVisor does.
        @discardableResult
        static func deploy(_ platform: TestPlatform, _ name: String, _ source: String, tier: AttackTier, extra: [String: Any] = [:]) async throws -> Bool {
            let answer = try await platform.deploy(name, runtime: "python3", code: Data(source.utf8), extra: extra.merging(tier.deployFields) { a, _ in a })
            if tier == .hardened, answer.status == 501 {
                table.skip("every attack", tier: tier, expected: "the deploy accepted", reason: "tier unavailable: 501 \(answer.text.prefix(120))")
                return false
            }
            #expect(answer.status == 202, "deploy of \(name) (\(tier)) answered \(answer.status): \(answer.text)")
            return answer.status == 202
        }

        /// Checks the bystander answers 200 and records the row.
        static func bystander(_ platform: TestPlatform, tier: AttackTier, after attack: String) async throws {
            let answer = try await platform.call("bystander", timeout: .seconds(30))
            table.record(
                "bystander after \(attack)", tier: tier, expected: "200 fine", result: "\(answer.status) \(answer.text.prefix(60))",
                passed: answer.status == 200 && answer.text == "fine"
            )
        }

        /// Records whether the attacker's and the victim's processes share a host uid (user
        /// namespaces give each standard instance its own block of unprivileged host ids).
        static func hostUIDs(_ platform: TestPlatform, victim: Victim, tier: AttackTier) async throws {
            let attack = "share a host uid with another function (host view of both instances)"
            guard tier == .standard else {
                table.skip(attack, tier: tier, expected: "different host uids", reason: "gVisor: the host processes are the sandboxes', not the function's")
                return
            }
            func hostUID(_ pid: Int) -> Int? {
                let status = (try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8)) ?? ""
                return status.split(separator: "\n").first { $0.hasPrefix("Uid:") }.flatMap { Int($0.split(separator: "\t")[2]) }
            }
            let attackerPID = try await platform.container(of: "attacker").asyncFlatMap { try await platform.hostPID(ofContainer: $0) }
            let attackerUID = attackerPID.flatMap(hostUID)
            let victimUID = hostUID(victim.hostPID)
            let distinct = attackerUID != nil && victimUID != nil && attackerUID != victimUID && attackerUID != 0 && victimUID != 0
            table.record(
                attack, tier: tier, expected: "different unprivileged host uids",
                result: "attacker \(attackerUID.map(String.init) ?? "?"), victim \(victimUID.map(String.init) ?? "?")", passed: distinct
            )
        }

        /// Calls one exhaustion path of the attacker: what stopped it and how far it got.
        static func exhaust(_ platform: TestPlatform, _ path: String) async throws -> (error: String, count: Int) {
            let answer = try await platform.call("attacker", path: path, timeout: .seconds(120))
            guard answer.status == 200, let json = try? answer.json() else { return ("status \(answer.status): \(answer.text.prefix(80))", 0) }
            return (json["error"] as? String ?? "?", json["count"] as? Int ?? 0)
        }

        /// Sequential bystander calls: median, maximum and failed calls.
        static func latencies(_ platform: TestPlatform, calls: Int) async throws -> (p50: Duration, max: Duration, failures: Int) {
            let clock = ContinuousClock()
            var samples: [Duration] = []
            var failures = 0
            for _ in 0..<calls {
                let start = clock.now
                let answer = try await platform.call("bystander", timeout: .seconds(30))
                samples.append(clock.now - start)
                if answer.status != 200 { failures += 1 }
            }
            samples.sort()
            return (samples[samples.count / 2], samples.last ?? .zero, failures)
        }

        static func ms(_ duration: Duration) -> String {
            String(format: "%.1f", Double(duration.components.seconds) * 1000 + Double(duration.components.attoseconds) / 1e15)
        }

        static func encode(_ query: [String: String]) -> String {
            var allowed = CharacterSet.alphanumerics
            allowed.insert(charactersIn: "-._~/")
            return query.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value.addingPercentEncoding(withAllowedCharacters: allowed) ?? $0.value)" }
                .joined(separator: "&")
        }
    }
}
