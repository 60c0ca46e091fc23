import DockerEngine
import Foundation
import Testing

@Suite("images against the real engine")
struct ImageTests {
    @Test("an image builds from a tar context with streamed progress, runs, and is removed")
    func buildFromTar() async throws {
        try await TestEngine.withClient { client in
            let tag = "persona-test/build:\(UUID().uuidString.prefix(8).lowercased())"
            var context = Docker.TarWriter()
            try context.addFile("Dockerfile", text: "FROM \(TestEngine.baseImage)\nCOPY greeting.txt /greeting.txt\n")
            try context.addFile("greeting.txt", text: "built by the Engine API\n")
            var progress: [Docker.ProgressMessage] = []
            let imageID = try await client.buildImage(
                context: context.finish(),
                options: Docker.BuildOptions(tags: [tag], labels: [TestEngine.testLabel: "1"])
            ) { progress.append($0) }
            do {
                #expect(imageID.hasPrefix("sha256:"))
                let steps = progress.compactMap(\.stream).filter { $0.hasPrefix("Step ") }
                // The classic builder turns the `labels` option into a third step, `LABEL`.
                #expect(steps.count == 3, "one progress line per step: \(steps)")
                #expect(steps.first?.hasPrefix("Step 1/3 : FROM \(TestEngine.baseImage)") == true)
                let image = try await client.inspectImage(tag)
                #expect(image.id == imageID)
                #expect(image.config?.labels?[TestEngine.testLabel] == "1")
                #expect(image.repoTags?.contains(tag) == true)
                let listed = try await client.listImages(filters: .label(TestEngine.testLabel, "1").adding("reference", tag))
                #expect(listed.map(\.id) == [imageID])
                try await TestEngine.withContainer(client, command: ["cat", "/greeting.txt"]) { spec in
                    spec.image = tag
                } _: { id in
                    try await client.startContainer(id)
                    #expect(try await client.waitContainer(id).statusCode == 0)
                    #expect(try await client.collectLogs(id).stdoutText == "built by the Engine API\n")
                }
            } catch {
                _ = try? await client.removeImage(tag, force: true)
                throw error
            }
            let removed = try await client.removeImage(tag)
            #expect(removed.contains { $0.untagged == tag })
            let error = await #expect(throws: DockerError.self) { try await client.inspectImage(tag) }
            #expect(error?.code == .noSuchImage)
        }
    }

    @Test("a failing build step throws buildFailed with the builder's message")
    func failingBuild() async throws {
        try await TestEngine.withClient { client in
            var context = Docker.TarWriter()
            try context.addFile("Dockerfile", text: "FROM \(TestEngine.baseImage)\nRUN echo about-to-fail && exit 9\n")
            let error = await #expect(throws: DockerError.self) {
                try await client.buildImage(context: context.finish(), options: Docker.BuildOptions(labels: [TestEngine.testLabel: "1"]))
            }
            #expect(error?.code == .buildFailed)
            #expect(error?.message.contains("9") == true)
        }
    }

    @Test("a root file system tarball imports as a tagged image")
    func importTarball() async throws {
        try await TestEngine.withClient { client in
            let tag = "persona-test/import:\(UUID().uuidString.prefix(8).lowercased())"
            var rootfs = Docker.TarWriter()
            try rootfs.addDirectory("etc")
            try rootfs.addFile("etc/persona-release", text: "imported\n")
            let imageID = try await client.importImage(tarball: rootfs.finish(), as: tag)
            #expect(imageID.hasPrefix("sha256:"))
            #expect(try await client.inspectImage(tag).id == imageID)
            try await client.removeImage(tag)
        }
    }
}
