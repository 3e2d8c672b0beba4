import ArgumentParser
import CECore
import CEFormats
import CEGraph
import CEImport
import Foundation

struct Inspect: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "inspect",
        abstract: "Show what a checkpoint holds: format, tensors, dtypes, shapes, bytes, canonical names.")

    enum Format: String, ExpressibleByArgument, CaseIterable { case table, json }

    @Argument(help: "A model directory, model.safetensors, pytorch_model.bin, a shard index (*.index.json), or ORG/NAME[@REVISION] in the HuggingFace cache.")
    var path: String

    @Option(help: "table or json.")
    var format: Format = .table

    struct Row { var name: String; var dtype: DType; var shape: Shape; var bytes: Int; var canonical: String }

    func run() throws {
        let path = try resolveModelPath(self.path)
        let url = URL(fileURLWithPath: path)
        var isDir: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDir) else { throw FileError.notFound(path: path) }
        let checkpoint: Checkpoint
        var architecture: Architecture = .bert
        var architectureName = "BertForSequenceClassification (assumed: no config.json)"
        if isDir.boolValue {
            checkpoint = try Checkpoint.load(directory: url)
            if let cfg = try JSONFile.loadIfPresent(path: url.appendingPathComponent("config.json").path) {
                let c = try ModelConfig(json: cfg)
                architecture = c.architecture
                architectureName = c.architectureName
            }
        } else {
            // A single file: open it as the directory would, from a temporary view of its folder.
            checkpoint = try Checkpoint.load(file: url)
        }
        var rows: [Row] = []
        for n in checkpoint.names {
            let t = try checkpoint.tensor(n)
            let canonical: String
            do {
                canonical = try ModelDirectory.canonicalName(for: n, architecture: architecture) ?? "(ignored)"
            } catch {
                canonical = "(unmapped: import refuses)"
            }
            rows.append(Row(name: n, dtype: t.dtype, shape: t.shape, bytes: t.storage.bytes.count, canonical: canonical))
        }
        let total = rows.reduce(0) { $0 + $1.bytes }
        switch format {
        case .json:
            let tensors = rows.map { r -> JSONValue in
                .object([("name", .string(r.name)), ("dtype", .string(r.dtype.rawValue)), ("shape", .array(r.shape.dims.map { .int(Int64($0)) })),
                         ("bytes", .int(Int64(r.bytes))), ("canonical", .string(r.canonical))])
            }
            let doc = JSONValue.object([("format", .string(checkpoint.format.rawValue)), ("files", .array(checkpoint.files.map { .string($0) })),
                                        ("architecture", .string(architectureName)), ("tensor_count", .int(Int64(rows.count))),
                                        ("total_bytes", .int(Int64(total))), ("tensors", .array(tensors))])
            write(JSONWriter.write(doc) + "\n")
        case .table:
            var out = "format: \(checkpoint.format.rawValue)\nfiles: \(checkpoint.files.joined(separator: ", "))\narchitecture: \(architectureName)\n"
            out += "tensors: \(rows.count), \(total) bytes\n\n"
            let w = max(4, rows.map(\.name.count).max() ?? 0)
            out += "name".padding(toLength: w, withPad: " ", startingAt: 0) + "  dtype  shape                 bytes       canonical\n"
            for r in rows {
                out += r.name.padding(toLength: w, withPad: " ", startingAt: 0) + "  "
                    + r.dtype.rawValue.padding(toLength: 5, withPad: " ", startingAt: 0) + "  "
                    + r.shape.description.padding(toLength: 20, withPad: " ", startingAt: 0) + "  "
                    + String(r.bytes).padding(toLength: 10, withPad: " ", startingAt: 0) + "  " + r.canonical + "\n"
            }
            write(out)
        }
    }
}
