import CECore
#if canImport(FoundationEssentials)
import FoundationEssentials
import Glibc
#else
import Foundation
#endif

extension ImportedModel {
    /// The sha256 (hex) naming the weights this model was read from, as `cetool verify` records it in its report
    /// (`summary.model_weights_sha256`) and `save-pretrained --report` matches it: of the one weights file (an
    /// artifact's cetool-model.safetensors, model.safetensors, pytorch_model.bin); for a checkpoint in shards, of
    /// the text `<sha256>  <file name>\n` per shard in file-name byte order.
    public func weightsSHA256() throws -> String {
        if weightFiles.count == 1 { return try SHA256.hex(ofFile: weightFiles[0]) }
        var lines = ""
        for p in weightFiles.sorted(by: { Array(PathText.lastComponent($0).utf8).lexicographicallyPrecedes(Array(PathText.lastComponent($1).utf8)) }) {
            lines += "\(try SHA256.hex(ofFile: p))  \(PathText.lastComponent(p))\n"
        }
        return SHA256.hex(Array(lines.utf8))
    }
}
