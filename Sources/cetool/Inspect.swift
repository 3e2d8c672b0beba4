import ArgumentParser
import CECore
import CEFormats
import CEGraph
import CEImport
#if canImport(FoundationEssentials)
import FoundationEssentials
import Glibc
#else
import Foundation
#endif

struct Inspect: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "inspect",
        abstract: "Show what a checkpoint or cetool artifact holds: format, tensors, dtypes, shapes, bytes, canonical names; an artifact's plan and scales.")

    enum Format: String, ExpressibleByArgument, CaseIterable { case table, json }

    @Argument(help: "A model directory, model.safetensors, pytorch_model.bin, a shard index (*.index.json), a cetool artifact (folder or its cetool-model.safetensors), or ORG/NAME[@REVISION] in the HuggingFace cache.")
    var path: String

    @Option(help: "table or json.")
    var format: Format = .table

    struct Row { var name: String; var dtype: DType; var shape: Shape; var bytes: Int; var canonical: String }

    func run() throws {
        let path = try resolveModelPath(self.path)
        let url = URL(fileURLWithPath: path)
        var isDir: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDir) else { throw FileError.notFound(path: path) }
        if let weights = ArtifactInspection.weightsFile(url, isDirectory: isDir.boolValue) {
            let a = try ArtifactInspection(file: weights)
            write(format == .json ? JSONWriter.write(a.json) + "\n" : a.table)
            return
        }
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
            out += formatTable(header: ["name", "dtype", "shape", "bytes", "canonical"],
                               rows: rows.map { [$0.name, $0.dtype.rawValue, $0.shape.description, String($0.bytes), $0.canonical] },
                               right: [3])
            write(out)
        }
    }
}

/// A cetool artifact's weights file (formats/artifact.md) as `inspect` shows it: the metadata, and every tensor but
/// the `__pad__.` fillers, each weight with its `_scale` (int8) and `_smooth` companions.
struct ArtifactInspection {
    struct Row {
        var name: String
        var dtype: DType
        var shape: Shape
        var bytes: Int
        /// `weight`, `scale` or `smooth`.
        var role: String
        /// For a scale: its least and greatest value.
        var range: (Float, Float)?
    }

    var file: String
    var metadata: [(String, String)]
    var rows: [Row]
    var paddingBytes: Int

    /// The artifact weights file of `url`: the folder's `cetool-model.safetensors`, or `url` itself when it is a
    /// safetensors file whose metadata says `format: cetool`. Nil for anything else.
    static func weightsFile(_ url: URL, isDirectory: Bool) -> String? {
        if isDirectory { return ArtifactFormat.isArtifact(url) ? url.appendingPathComponent(ArtifactFormat.weightsFile).path : nil }
        guard url.pathExtension == "safetensors", let f = try? Safetensors.File(path: url.path) else { return nil }
        return f.header.metadata.contains { $0 == ("format", "cetool") } ? url.path : nil
    }

    init(file: String) throws {
        let f = try Safetensors.File(path: file)
        self.file = file
        metadata = f.header.metadata
        paddingBytes = 0
        rows = []
        for e in f.header.entries {
            if e.name.hasPrefix(Safetensors.paddingPrefix) { paddingBytes += e.end - e.begin; continue }
            let role = e.name.hasSuffix("_scale") ? "scale" : e.name.hasSuffix("_smooth") ? "smooth" : "weight"
            var range: (Float, Float)?
            if role == "scale", let v = try f.tensor(e.name).floatValues(), let lo = v.min(), let hi = v.max() { range = (lo, hi) }
            rows.append(Row(name: e.name, dtype: e.dtype, shape: e.shape, bytes: e.end - e.begin, role: role, range: range))
        }
    }

    func meta(_ key: String) -> String? { metadata.first { $0.0 == key }?.1 }

    /// A metadata value that is JSON (plan, hyperparameters, labels, provenance), as it is when it does not parse.
    func metaJSON(_ key: String) -> JSONValue {
        guard let v = meta(key) else { return .null }
        return (try? JSONParser.parse(Array(v.utf8), maxDepth: 16)) ?? .string(v)
    }

    var totalBytes: Int { rows.reduce(0) { $0 + $1.bytes } }

    /// Tensor count and bytes per dtype, in DType's order.
    var byDType: [(DType, Int, Int)] {
        DType.allCases.compactMap { d in
            let r = rows.filter { $0.dtype == d }
            return r.isEmpty ? nil : (d, r.count, r.reduce(0) { $0 + $1.bytes })
        }
    }

    var json: JSONValue {
        func shape(_ s: Shape) -> JSONValue { .array(s.dims.map { .int(Int64($0)) }) }
        let tensors = rows.map { r -> JSONValue in
            var m: [(String, JSONValue)] = [("name", .string(r.name)), ("dtype", .string(r.dtype.rawValue)), ("shape", shape(r.shape)),
                                            ("bytes", .int(Int64(r.bytes))), ("role", .string(r.role))]
            if let (lo, hi) = r.range { m += [("min", .double(Double(lo))), ("max", .double(Double(hi)))] }
            return .object(m)
        }
        return .object([
            ("format", .string("cetool-artifact")), ("file", .string(file)),
            ("format_version", .string(meta("cetool.format_version") ?? "")), ("architecture", .string(meta("cetool.architecture") ?? "")),
            ("precision", .string(meta("cetool.precision") ?? "")), ("plan", metaJSON("cetool.plan")),
            ("activation", .string(meta("cetool.activation") ?? "")), ("activation_source", .string(meta("cetool.activation_source") ?? "")),
            ("max_length", .string(meta("cetool.max_length") ?? "")), ("labels", metaJSON("cetool.labels")),
            ("hyperparameters", metaJSON("cetool.hyperparameters")),
            ("tensor_count", .int(Int64(rows.count))), ("total_bytes", .int(Int64(totalBytes))), ("padding_bytes", .int(Int64(paddingBytes))),
            ("dtypes", .object(byDType.map { ($0.0.rawValue, .object([("tensors", .int(Int64($0.1))), ("bytes", .int(Int64($0.2)))])) })),
            ("tensors", .array(tensors)),
        ])
    }

    var table: String {
        var out = "format: cetool-artifact, version \(meta("cetool.format_version") ?? "?")\nfile: \(file)\n"
        out += "architecture: \(meta("cetool.architecture") ?? "?")\nprecision: \(meta("cetool.precision") ?? "?")\n"
        out += "plan: \(meta("cetool.plan") ?? "(none)")\n"
        out += "activation: \(meta("cetool.activation") ?? "?") (\(meta("cetool.activation_source") ?? "?")), max length \(meta("cetool.max_length") ?? "?")\n"
        out += "tensors: \(rows.count), \(totalBytes) bytes (+ \(paddingBytes) bytes of alignment padding): "
        out += byDType.map { "\($0.1) \($0.0.rawValue) (\($0.2) bytes)" }.joined(separator: ", ") + "\n\n"
        out += formatTable(header: ["name", "dtype", "shape", "bytes", "role"],
                           rows: rows.map { r in
                               [r.name, r.dtype.rawValue, r.shape.description, String(r.bytes),
                                r.role + (r.range.map { String(format: " %.4g…%.4g", $0.0, $0.1) } ?? "")]
                           },
                           right: [3])
        return out
    }
}
