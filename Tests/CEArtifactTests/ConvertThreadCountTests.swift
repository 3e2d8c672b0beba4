import CECore
import CEConvert
import CEImport
import CEQuant
import CERuntime
import CETestSupport
import Foundation
import XCTest
@testable import CEArtifact

/// convert --dtype int8 writes the same bytes at any thread count (formats/quantization.md, "Determinism"): the
/// calibration forward passes, the smoothing maxima, the Gram sums and GPTQ's rounding do not depend on how the work
/// is split. Before the fixed sgemm row grid, tiny-roberta's codes at 1 thread differed from those at 2 and 3.
final class ConvertThreadCountTests: XCTestCase {
    /// An encoder (RoBERTa) and a decoder (Qwen3), each converted with convert's defaults at 1, 2 and 3 threads.
    func testInt8ArtifactBytesDoNotDependOnTheThreadCount() throws {
        let before = Kernels.threads
        defer { Kernels.setThreads(before) }
        let dir = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        for model in ["tiny-roberta", "tiny-qwen3"] {
            let source = repositoryRoot().appendingPathComponent("golden/models/\(model)")
            var digests: [Int: String] = [:]
            for threads in [1, 2, 3] {
                var options = Conversion.Options(precision: .int8)
                options.threads = threads
                let target = dir.appendingPathComponent("\(model)-\(threads)")
                try Conversion.run(source: source, to: target, options: options)
                digests[threads] = SHA256.hex(try Data(contentsOf: target.appendingPathComponent(ArtifactFormat.weightsFile)))
            }
            XCTAssertEqual(digests[2], digests[1], "\(model): 2 threads against 1")
            XCTAssertEqual(digests[3], digests[1], "\(model): 3 threads against 1")
        }
    }
}
