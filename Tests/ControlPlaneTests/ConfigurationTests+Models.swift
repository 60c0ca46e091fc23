import Foundation
import Memory
import Testing

extension ConfigurationTests {
    @Test("without PERSONA_MODELS_DIR the embedding model is found beside STORAGE_PATH or above the executable, whatever the working directory")
    func modelsDirectory() throws {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("models-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: root) }
        let fm = FileManager.default
        func placeModel(under folder: String) throws {
            try fm.createDirectory(atPath: "\(folder)/\(MemorySettings.localModelName)", withIntermediateDirectories: true)
            fm.createFile(atPath: "\(folder)/\(MemorySettings.localModelName)/model.safetensors", contents: Data([0]))
        }
        let elsewhere = root + "/elsewhere"
        try fm.createDirectory(atPath: elsewhere, withIntermediateDirectories: true)
        let executable = root + "/repo/.build/x86_64-unknown-linux-gnu/release/persona-control-plane"

        // Nowhere: the working directory's ./models, made absolute, and not found.
        let none = MemorySettings.locateModelsDirectory(storagePath: "storage", executablePath: executable, workingDirectory: elsewhere)
        #expect(none.path == elsewhere + "/models")
        #expect(!none.found)

        // The repository's models/, four folders above a release build, from another directory.
        try placeModel(under: root + "/repo/models")
        let repo = MemorySettings.locateModelsDirectory(storagePath: "storage", executablePath: executable, workingDirectory: elsewhere)
        #expect(repo.path == root + "/repo/models")
        #expect(repo.found)

        // STORAGE_PATH/models comes first (a deployment keeps the weights with its data).
        try placeModel(under: elsewhere + "/storage/models")
        let storage = MemorySettings.locateModelsDirectory(storagePath: "storage", executablePath: executable, workingDirectory: elsewhere)
        #expect(storage.path == elsewhere + "/storage/models")
        var settings = MemorySettings()
        settings.modelsDirectory = storage.path
        #expect(settings.embedderAvailable)
        settings.modelsDirectory = root + "/nothing"
        #expect(!settings.embedderAvailable)
    }
}
