import CECore
import CEFormats
import CETestSupport
import Foundation
import XCTest

/// Path of a committed fixture made by golden/make_torch_fixtures.py.
func torchFixture(_ name: String, file: String = #filePath) -> String {
    URL(fileURLWithPath: file).deletingLastPathComponent().appendingPathComponent("Fixtures/torch/\(name)").path
}

/// A torch.save-shaped archive: `<prefix>/data.pkl`, storages, version and byteorder records.
func torchZip(_ pickle: [UInt8], storages: [(String, [UInt8])] = [], prefix: String = "archive",
              records: [(String, [UInt8])] = [("version", Array("3\n".utf8)), ("byteorder", Array("little".utf8))]) -> [UInt8] {
    var z = ZipBuilder()
    z.add(prefix + "/data.pkl", pickle)
    for (k, d) in storages { z.add(prefix + "/data/" + k, d) }
    for (n, d) in records { z.add(prefix + "/" + n, d) }
    return z.bytes()
}

func floatBytes(_ v: [Float]) -> [UInt8] { v.flatMap { f in withUnsafeBytes(of: f.bitPattern.littleEndian) { Array($0) } } }

final class TorchZipTests: XCTestCase {
    typealias P = PickleOps

    /// The error `TorchZip.File(path:)` throws for a fixture, without the file context.
    func failure(_ name: String, options: TorchZip.Options = .init()) -> TorchZipError? {
        do {
            _ = try TorchZip.File(path: torchFixture(name), options: options)
            return nil
        } catch let e as TorchZipError {
            guard case .inFile(let p, _) = e, p == torchFixture(name) else { return e }
            return e.underlying
        } catch {
            XCTFail("untyped error \(error)")
            return nil
        }
    }

    func checkpoint(_ bytes: [UInt8], options: TorchZip.Options = .init()) throws -> TorchZip.Checkpoint {
        try bytes.withUnsafeBytes { try TorchZip.readCheckpoint($0, options: options) }
    }

    func expect(_ bytes: [UInt8], _ expected: TorchZipError, file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertThrowsError(try checkpoint(bytes), file: file, line: line) {
            XCTAssertEqual($0 as? TorchZipError, expected, file: file, line: line)
        }
    }

    // MARK: same weights, two formats

    func assertSameTensors(_ bin: String, _ st: String, file: StaticString = #filePath, line: UInt = #line) throws {
        let t = try TorchZip.File(path: torchFixture(bin))
        let s = try Safetensors.File(path: torchFixture(st))
        XCTAssertEqual(Set(t.names), Set(s.names), file: file, line: line)
        XCTAssertFalse(t.names.isEmpty, file: file, line: line)
        for name in t.names {
            let a = try t.tensor(name), b = try s.tensor(name)
            XCTAssertEqual(a.dtype, b.dtype, name, file: file, line: line)
            XCTAssertEqual(a.shape, b.shape, name, file: file, line: line)
            XCTAssertEqual(a.storage.bytes.count, a.shape.elementCount * a.dtype.byteSize, name, file: file, line: line)
            XCTAssertTrue(a.storage.bytes.elementsEqual(b.storage.bytes), "\(bin): \(name) differs", file: file, line: line)
        }
    }

    func testTorchSaveMatchesSafetensorsBitForBit() throws {
        try assertSameTensors("tiny.bin", "tiny.safetensors")
        try assertSameTensors("tiny_fp16.bin", "tiny_fp16.safetensors")
        try assertSameTensors("tiny_bf16.bin", "tiny_bf16.safetensors")
        try assertSameTensors("tiny_proto4.bin", "tiny.safetensors")
        try assertSameTensors("tied.bin", "tied.safetensors")
        try assertSameTensors("noncontig.bin", "noncontig.safetensors")
        try assertSameTensors("dtypes.bin", "dtypes.safetensors")
    }

    func testLayoutRecords() throws {
        let f = try TorchZip.File(path: torchFixture("tiny.bin"))
        XCTAssertEqual(f.prefix, "tiny")
        XCTAssertEqual(f.checkpoint.version, 3)
        XCTAssertEqual(f.checkpoint.formatVersion, 1)
        XCTAssertEqual(f.checkpoint.storageAlignment, 64)
        XCTAssertEqual(f.checkpoint.byteOrder, "little")
        // state_dict order: the root module's buffers, then each submodule's parameters
        XCTAssertEqual(f.names, ["position_ids", "scale", "embed.weight", "dense.weight", "dense.bias", "norm.weight", "norm.bias"])
        let pos = try XCTUnwrap(f.entry("position_ids"))
        XCTAssertEqual(pos.dtype, .i64)
        XCTAssertEqual(pos.shape, [1, 6])
        XCTAssertEqual(try f.tensor("scale").shape, [])
        XCTAssertEqual(try f.tensor("scale").floatValues(), [0.125])
        XCTAssertEqual(try TorchZip.File(path: torchFixture("buffer_saved.bin")).prefix, "archive")
        XCTAssertEqual(try TorchZip.File(path: torchFixture("renamed.weights.pt")).prefix, "renamed.weights")
        XCTAssertNoThrow(try TorchZip.File(path: torchFixture("tiny.bin"), options: TorchZip.Options(verifyChecksums: true)))
    }

    func testTiedWeightsShareOneZeroCopyStorage() throws {
        let f = try TorchZip.File(path: torchFixture("tied.bin"))
        let entries = f.names.map { f.entry($0)! }
        XCTAssertEqual(Set(entries.map(\.record.storageKey)).count, 1)
        XCTAssertTrue(entries.allSatisfy(\.isContiguous))
        let e = try f.tensor("embed.weight"), h = try f.tensor("lm_head.weight")
        let row1 = try f.tensor("row1"), rows = try f.tensor("rows2to3")
        let base = try XCTUnwrap(e.storage.bytes.baseAddress)
        XCTAssertEqual(h.storage.bytes.baseAddress, base)
        XCTAssertEqual(row1.storage.bytes.baseAddress, base + 16)
        XCTAssertEqual(rows.storage.bytes.baseAddress, base + 32)
        XCTAssertEqual(Int(bitPattern: base) % 64, 0) // the record's data is 64-byte aligned in the file
        XCTAssertEqual(row1.shape, [4])
        XCTAssertEqual(rows.shape, [2, 4])
    }

    func testNonContiguousViewsAreMaterialised() throws {
        let f = try TorchZip.File(path: torchFixture("noncontig.bin"))
        XCTAssertTrue(f.entry("w")!.isContiguous)
        for n in ["w_t", "w_cols", "x_perm", "x_every_other", "h_t", "b_t"] {
            XCTAssertFalse(f.entry(n)!.isContiguous, n)
        }
        XCTAssertEqual(f.entry("w_t")!.record.stride, [1, 5])
        XCTAssertEqual(f.entry("w_cols")!.record.offset, 1)
        let w = try f.tensor("w").floatValues()!, wt = try f.tensor("w_t").floatValues()!
        for i in 0..<3 { for j in 0..<5 { XCTAssertEqual(wt[j * 3 + i], w[i * 5 + j]) } }
        XCTAssertEqual(failure("expanded.bin"), .viewLargerThanStorage(name: "e", bytes: 48, storageBytes: 12))
    }

    func testParameters() throws {
        let f = try TorchZip.File(path: torchFixture("params.bin"))
        XCTAssertEqual(f.names, ["p", "q"])
        XCTAssertEqual(try f.tensor("p").floatValues(), [0, 1, 2, 3])
        XCTAssertEqual(try f.tensor("q").floatValues(), [10, 11, 12])
    }

    func testHandBuiltValidCheckpoint() throws {
        let f = try TorchZip.File(path: torchFixture("hand_valid.bin"))
        XCTAssertEqual(f.names, ["w"])
        XCTAssertEqual(try f.tensor("w").floatValues(), (0..<8).map(Float.init))
        XCTAssertEqual(f.checkpoint.formatVersion, nil)
        XCTAssertThrowsError(try f.tensor("nope")) {
            XCTAssertEqual($0 as? TorchZipError, .tensorMissing(name: "nope", path: torchFixture("hand_valid.bin")))
        }
    }

    // MARK: other formats

    func testOtherFormatsAreRefusedByName() throws {
        XCTAssertEqual(failure("legacy.bin"), .legacyPickleCheckpoint)
        let message = TorchZipError.legacyPickleCheckpoint.description
        for part in ["legacy", "torch.save(torch.load(p), p2)", "_use_new_zipfile_serialization=True", "safetensors"] {
            XCTAssertTrue(message.contains(part), message)
        }
        XCTAssertTrue(TorchZipError.legacyTarCheckpoint.description.contains("torch.save(torch.load(p), p2)"))
        XCTAssertEqual(failure("legacy_tar.tar"), .legacyTarCheckpoint)
        XCTAssertEqual(failure("bare.pkl"), .barePickle)
        XCTAssertEqual(failure("scripted.pt"), .torchScriptArchive(entry: "scripted/code/__torch__/torch/nn/modules/linear.py"))
        XCTAssertEqual(failure("tiny.safetensors"), .notACheckpoint(firstBytes: Array(try Data(contentsOf: URL(fileURLWithPath: torchFixture("tiny.safetensors"))).prefix(8))))
        XCTAssertThrowsError(try TorchZip.File(path: torchFixture("absent.bin"))) {
            XCTAssertEqual($0 as? TorchZipError, .fileMissing(path: torchFixture("absent.bin")))
        }
    }

    // MARK: the malicious corpus

    /// Asserts a malicious fixture's exact error, and that the command the pickle names never ran.
    func assertRefused(_ name: String, _ expected: TorchZipError, file: StaticString = #filePath, line: UInt = #line) {
        let marker = "/tmp/cetool-pwned"
        try? FileManager.default.removeItem(atPath: marker)
        XCTAssertEqual(failure(name), expected, name, file: file, line: line)
        XCTAssertFalse(FileManager.default.fileExists(atPath: marker), "\(name) ran a command", file: file, line: line)
    }

    func testReduceOfOsSystem() { assertRefused("mal_reduce_os_system.bin", .pickle(.disallowedGlobal(module: "os", name: "system"))) }
    func testReduceOfBuiltinsEval() { assertRefused("mal_reduce_builtins_eval.bin", .pickle(.disallowedGlobal(module: "builtins", name: "eval"))) }
    func testReduceOfPosixSystem() { assertRefused("mal_reduce_posix_system.bin", .pickle(.disallowedGlobal(module: "posix", name: "system"))) }
    func testStackGlobal() { assertRefused("mal_stack_global.bin", .pickle(.disallowedGlobal(module: "os", name: "system"))) }
    func testInst() { assertRefused("mal_inst.bin", .pickle(.unsupportedOpcode(opcode: 0x69, offset: 12))) }
    func testObj() { assertRefused("mal_obj.bin", .pickle(.unsupportedOpcode(opcode: 0x6F, offset: 28))) }
    func testNonStoragePersistentID() {
        assertRefused("mal_persid_not_storage.bin", .pickle(.invalidPersistentID(reason: "tag 'module', not 'storage'")))
    }
    func testAllowedGlobalWithWrongArity() {
        assertRefused("mal_wrong_arity.bin", .pickle(.wrongArgumentCount(callable: "torch._utils._rebuild_tensor_v2", count: 3, expected: 6...7)))
    }
    func testBillionLaughs() { assertRefused("mal_billion_laughs.bin", .pickle(.notATensor(name: "x", found: "list"))) }
    func testTruncatedPickle() { assertRefused("mal_truncated.bin", .pickle(.truncated(opcode: 0x4B, offset: 91))) }
    func testBytesAfterStop() { assertRefused("mal_after_stop.bin", .pickle(.bytesAfterStop(offset: 141, count: 4))) }
    func testViewPastItsStorage() { assertRefused("mal_view_past_storage.bin", .tensorOutOfBounds(name: "w", neededBytes: 64, storageBytes: 32)) }
    func testStorageRecordShorterThanDeclared() { assertRefused("mal_storage_short.bin", .storageSizeMismatch(key: "0", expected: 64, actual: 32)) }
    func testOverlappingZipEntries() { assertRefused("zip_overlap.bin", .zip(.overlappingEntries("archive/data.pkl", "archive/data/0"))) }
    func testDuplicateZipEntries() { assertRefused("zip_duplicate.bin", .zip(.duplicateName("archive/data/0"))) }
    func testDotDotZipEntry() {
        assertRefused("zip_dotdot.bin", .zip(.invalidName(name: "archive/../evil", reason: "contains a \"..\" component")))
    }
    func testDeflatedStorage() { assertRefused("zip_deflate.bin", .compressedRecord(name: "archive/data/0", method: 8)) }

    func testFourGiBStringFailsBeforeAllocating() throws {
        // The declared length is compared with the bytes that remain before a String is made: the
        // error carries both, and the whole file is smaller than a page.
        let m = try MappedFile(path: torchFixture("mal_huge_string.bin"))
        XCTAssertLessThan(m.count, 4096)
        assertRefused("mal_huge_string.bin", .pickle(.lengthBeyondEnd(opcode: 0x8D, offset: 2, length: 1 << 32, remaining: 4)))
    }

    func testBillionLaughsFixtureStaysSmall() throws {
        let m = try MappedFile(path: torchFixture("mal_billion_laughs.bin"))
        let d = try ZipArchive.readDirectory(m.bytes)
        let pkl = try ZipArchive.storedData(of: d.entry(named: "archive/data.pkl")!, in: m.bytes)
        let r = try Unpickler.read(pkl)
        XCTAssertEqual(r.objects.count, 11) // the dict and ten lists; 10^10 leaves if expanded
    }

    // MARK: layout checks on built archives

    var goodPickle: [UInt8] { P.stateDict([("w", P.tensorV2(P.pid(numel: 4), size: [2, 2], stride: [2, 1]))]) }
    var goodStorage: (String, [UInt8]) { ("0", floatBytes([1, 2, 3, 4])) }

    func testBuiltCheckpoint() throws {
        let c = try checkpoint(torchZip(goodPickle, storages: [goodStorage], prefix: "x"))
        XCTAssertEqual(c.prefix, "x")
        XCTAssertEqual(c.byteOrder, "little")
        XCTAssertEqual(c.entries.map(\.name), ["w"])
        XCTAssertEqual(c.entries[0].storageEntryName, "x/data/0")
        // No byteorder record: little-endian, as torch assumes.
        XCTAssertNil(try checkpoint(torchZip(goodPickle, storages: [goodStorage], records: [("version", [0x33])])).byteOrder)
    }

    func testLayoutRefusals() {
        let st = [goodStorage]
        var empty = ZipBuilder()
        empty.zip64End = false
        expect(empty.bytes(), .emptyArchive)
        var flat = ZipBuilder()
        flat.add("data.pkl", goodPickle)
        expect(flat.bytes(), .noPrefixFolder(name: "data.pkl"))
        var outside = ZipBuilder()
        outside.add("a/data.pkl", goodPickle)
        outside.add("b/version", [0x33])
        expect(outside.bytes(), .entryOutsidePrefix(name: "b/version", prefix: "a"))
        expect(torchZip(goodPickle, storages: st, records: [("version", [0x33]), ("constants.pkl", [])]),
               .torchScriptArchive(entry: "archive/constants.pkl"))
        expect(torchZip(goodPickle, storages: st, records: [("version", [0x33]), ("byteorder", Array("big".utf8))]),
               .unsupportedByteOrder("big"))
        expect(torchZip(goodPickle, storages: st, records: [("byteorder", Array("little".utf8))]), .recordMissing(name: "archive/version"))
        expect(torchZip(goodPickle, storages: st, records: [("version", Array("11".utf8))]), .unsupportedVersion(11))
        expect(torchZip(goodPickle, storages: st, records: [("version", Array("x".utf8))]),
               .invalidRecord(name: "archive/version", reason: "\"x\" is not an integer"))
        expect(torchZip(goodPickle, storages: st, records: [("version", [0x33]), (".storage_alignment", Array("-64".utf8))]),
               .invalidRecord(name: "archive/.storage_alignment", reason: "\"-64\" is not an integer in 1...1073741824"))
        expect(torchZip(goodPickle, storages: [], records: [("version", [0x33])]), .storageMissing(key: "0"))
        var noPickle = ZipBuilder()
        noPickle.add("archive/version", [0x33])
        expect(noPickle.bytes(), .recordMissing(name: "archive/data.pkl"))
        var deflated = ZipBuilder()
        deflated.add("archive/data.pkl", goodPickle, method: 8)
        expect(deflated.bytes(), .compressedRecord(name: "archive/data.pkl", method: 8))
        expect([0x1F, 0x8B, 8, 0, 0, 0, 0, 0, 0], .notACheckpoint(firstBytes: [0x1F, 0x8B, 8, 0, 0, 0, 0, 0]))
        expect([], .notACheckpoint(firstBytes: []))
        expect([0x80], .barePickle)
        expect(Array("version https://git-lfs.github.com/spec/v1\noid sha256:00\nsize 1\n".utf8), .gitLFSPointer)
    }

    func testTensorBoundsAgainstStorage() {
        func sd(_ t: [UInt8]) -> [UInt8] { torchZip(P.stateDict([("w", t)]), storages: [goodStorage]) }
        // offset 1, [2, 2] contiguous: needs elements 1...4 of 4
        expect(sd(P.tensorV2(P.pid(numel: 4), offset: 1, size: [2, 2], stride: [2, 1])),
               .tensorOutOfBounds(name: "w", neededBytes: 20, storageBytes: 16))
        // a transposed view reaching past the end
        expect(sd(P.tensorV2(P.pid(numel: 4), size: [2, 2], stride: [1, 3])), .tensorOutOfBounds(name: "w", neededBytes: 20, storageBytes: 16))
        // strides that overflow
        var big: [UInt8] = [0x8A, 8]
        big.le64(UInt64(Int.max / 2))
        let call = P.global("torch._utils", "_rebuild_tensor_v2")
        let huge = call + P.tuple([P.pid(numel: 4) + P.binpersid, P.int(0), P.ints([3]), P.tuple([big]), P.newFalse, P.hooks]) + P.reduce
        expect(sd(huge), .tensorOutOfBounds(name: "w", neededBytes: Int.max, storageBytes: 16))
        // shape overflow
        let overflowing = call + P.tuple([P.pid(numel: 4) + P.binpersid, P.int(0), P.tuple([big, big, big]), P.ints([0, 0, 0]), P.newFalse, P.hooks]) + P.reduce
        expect(sd(overflowing), .shapeOverflow(name: "w", shape: [Int.max / 2, Int.max / 2, Int.max / 2]))
        // empty tensors: the offset must still lie in the storage
        XCTAssertNoThrow(try checkpoint(sd(P.tensorV2(P.pid(numel: 4), offset: 4, size: [0, 3], stride: [3, 1]))))
        expect(sd(P.tensorV2(P.pid(numel: 4), offset: 5, size: [0], stride: [1])), .tensorOutOfBounds(name: "w", neededBytes: 20, storageBytes: 16))
        // a stride-0 view no larger than its storage is copied
        XCTAssertNoThrow(try checkpoint(sd(P.tensorV2(P.pid(numel: 4), offset: 3, size: [4], stride: [0]))))
    }

    func testStridedCopyMatchesIndexing() throws {
        // [3, 2, 2] view of a 24-element storage with offset 1 and strides (8, 1, 4)
        let values = (0..<24).map(Float.init)
        let bytes = torchZip(P.stateDict([("v", P.tensorV2(P.pid(numel: 24), offset: 1, size: [3, 2, 2], stride: [8, 1, 4]))]),
                             storages: [("0", floatBytes(values))])
        let dir = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let path = dir.appendingPathComponent("v.bin").path
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        let f = try TorchZip.File(path: path)
        var expected: [Float] = []
        for i in 0..<3 { for j in 0..<2 { for k in 0..<2 { expected.append(values[1 + 8 * i + j + 4 * k]) } } }
        XCTAssertEqual(try f.tensor("v").floatValues(), expected)
        XCTAssertFalse(f.entry("v")!.isContiguous)
    }

    func testHugeStridesOnSizeOneDimensions() throws {
        // Size-1 dimensions may carry any stride; stepping over them must not overflow.
        let values: [Float] = [10, 11, 12, 13]
        let call = P.global("torch._utils", "_rebuild_tensor_v2")
        var maxInt: [UInt8] = [0x8A, 8]
        maxInt.le64(UInt64(Int.max))
        func view(_ size: [Int], _ stride: [[UInt8]]) -> [UInt8] {
            call + P.tuple([P.pid(numel: 4) + P.binpersid, P.int(0), P.ints(size), P.tuple(stride), P.newFalse, P.hooks]) + P.reduce
        }
        let bytes = torchZip(P.stateDict([("a", view([2, 1, 2], [P.int(1), maxInt, P.int(2)])),
                                          ("b", view([2, 2, 1], [P.int(1), P.int(2), maxInt]))]),
                             storages: [("0", floatBytes(values))])
        let dir = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let path = dir.appendingPathComponent("s.bin").path
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        let f = try TorchZip.File(path: path)
        XCTAssertFalse(f.entry("a")!.isContiguous)
        XCTAssertFalse(f.entry("b")!.isContiguous)
        XCTAssertEqual(try f.tensor("a").floatValues(), [10, 12, 11, 13])
        XCTAssertEqual(try f.tensor("b").floatValues(), [10, 12, 11, 13])
    }

    func testChecksumsWhenAsked() throws {
        var bytes = try Array(Data(contentsOf: URL(fileURLWithPath: torchFixture("hand_valid.bin"))))
        let d = try bytes.withUnsafeBytes { try ZipArchive.readDirectory($0) }
        let s = d.entry(named: "archive/data/0")!
        bytes[s.dataOffset] ^= 0x40
        XCTAssertNoThrow(try checkpoint(bytes))
        XCTAssertThrowsError(try checkpoint(bytes, options: TorchZip.Options(verifyChecksums: true))) {
            guard case .zip(.checksumMismatch(let name, _, _))? = $0 as? TorchZipError else { return XCTFail("\($0)") }
            XCTAssertEqual(name, "archive/data/0")
        }
    }

    func testCorruptedCheckpointsGiveTypedErrors() throws {
        var rng = SeededRNG(seed: 2024)
        for name in ["tiny.bin", "noncontig.bin", "dtypes.bin", "hand_valid.bin"] {
            let original = try Array(Data(contentsOf: URL(fileURLWithPath: torchFixture(name))))
            for n in stride(from: 0, to: original.count, by: 7) {
                XCTAssertThrowsError(try checkpoint(Array(original.prefix(n)))) {
                    XCTAssertNotNil($0 as? TorchZipError, "\(name) cut at \(n): \($0)")
                }
            }
            for _ in 0..<1_500 {
                var b = original
                for _ in 0..<Int.random(in: 1...4, using: &rng) {
                    b[Int.random(in: 0..<b.count, using: &rng)] = UInt8.random(in: 0...255, using: &rng)
                }
                do {
                    let c = try checkpoint(b)
                    let owner = OwnedBytes(count: 0, alignment: 8)
                    for e in c.entries {
                        let s = c.directory.entry(named: e.storageEntryName)!
                        b.withUnsafeBytes { raw in
                            _ = TorchZip.tensor(e, storage: UnsafeRawBufferPointer(rebasing: raw[s.dataRange]), owner: owner)
                        }
                    }
                } catch {
                    XCTAssertNotNil(error as? TorchZipError, "\(name): \(error)")
                }
            }
        }
    }

    // MARK: sharded checkpoints

    func testShardIndexes() throws {
        for (index, open) in [("pytorch_model.bin.index.json", "bin"), ("model.safetensors.index.json", "safetensors")] {
            let i = try ShardIndex.load(path: torchFixture("sharded/" + index))
            XCTAssertEqual(i.tensorNames, ["a", "b", "c"])
            XCTAssertEqual(i.shards.count, 2)
            XCTAssertEqual(i.totalSize, 44)
            XCTAssertEqual(i.shard(for: "c"), i.shards[1])
            XCTAssertNil(i.shard(for: "z"))
            for (tensor, shard) in i.weightMap {
                let t: Tensor
                if open == "bin" {
                    t = try TorchZip.File(path: i.path(ofShard: shard)).tensor(tensor)
                } else {
                    t = try Safetensors.File(path: i.path(ofShard: shard)).tensor(tensor)
                }
                XCTAssertEqual(t.dtype, .f32)
            }
        }
    }

    func testShardIndexRefusals() throws {
        let dir = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let path = dir.appendingPathComponent("pytorch_model.bin.index.json").path
        try Data().write(to: dir.appendingPathComponent("s1.bin"))
        func load(_ json: String) throws -> ShardIndex {
            try Data(json.utf8).write(to: URL(fileURLWithPath: path))
            return try ShardIndex.load(path: path)
        }
        func expect(_ json: String, _ e: ShardIndexError, line: UInt = #line) {
            XCTAssertThrowsError(try load(json), line: line) {
                XCTAssertEqual(($0 as? ShardIndexError)?.underlying, e, line: line)
            }
        }
        XCTAssertEqual(try load(#"{"weight_map": {"a": "s1.bin"}}"#).shards, ["s1.bin"])
        for (shard, reason) in [("../s1.bin", "contains '/' (not a plain file name)"), ("/etc/passwd", "contains '/' (not a plain file name)"),
                                ("a\\\\b.bin", "contains a backslash"), ("..", "a dot path"), ("", "empty"),
                                ("s\\u0000.bin", "contains NUL"), ("C:evil.bin", "a drive path")] {
            let decoded = try JSONParser.parse("\"\(shard)\"").stringValue!
            expect(#"{"weight_map": {"a": "\#(shard)"}}"#, .invalidShardName(tensor: "a", shard: decoded, reason: reason))
        }
        expect(#"{"weight_map": {"a": "s2.bin"}}"#, .shardMissing(shard: "s2.bin", path: dir.path + "/s2.bin"))
        expect(#"{"metadata": {}}"#, .weightMapMissing)
        expect(#"{"weight_map": []}"#, .invalidWeightMap(reason: "not an object"))
        expect(#"{"weight_map": {"a": 1}}"#, .invalidWeightMap(reason: "shard of \"a\" is not a string"))
        expect(#"{"metadata": 3, "weight_map": {}}"#, .invalidMetadata(reason: "not an object"))
        expect(#"{"metadata": {"total_size": -1}, "weight_map": {}}"#, .invalidMetadata(reason: "total_size is not a non-negative integer"))
        expect(#"[1]"#, .notAnObject)
        XCTAssertThrowsError(try load(#"{"weight_map": {"a": "s1.bin", "a": "s1.bin"}}"#)) {
            guard case .invalidJSON(let why)? = ($0 as? ShardIndexError)?.underlying else { return XCTFail("\($0)") }
            XCTAssertTrue(why.contains("duplicate"), why)
        }
        XCTAssertThrowsError(try ShardIndex.load(path: dir.appendingPathComponent("none.json").path)) {
            XCTAssertEqual($0 as? ShardIndexError, .fileMissing(path: dir.appendingPathComponent("none.json").path))
        }
    }
}
