import CECore
import CEFormats
import CETestSupport
import Foundation
import XCTest

/// Pickle opcodes as bytes (pickletools names), for hand-written pickles.
enum PickleOps {
    static let proto2: [UInt8] = [0x80, 2]
    static let mark: [UInt8] = [0x28]
    static let stop: [UInt8] = [0x2E]
    static let pop: [UInt8] = [0x30]
    static let tupleOp: [UInt8] = [0x74]
    static let tuple1: [UInt8] = [0x85]
    static let tuple2: [UInt8] = [0x86]
    static let emptyTuple: [UInt8] = [0x29]
    static let emptyDict: [UInt8] = [0x7D]
    static let emptyList: [UInt8] = [0x5D]
    static let setitem: [UInt8] = [0x73]
    static let setitems: [UInt8] = [0x75]
    static let append: [UInt8] = [0x61]
    static let appends: [UInt8] = [0x65]
    static let reduce: [UInt8] = [0x52]
    static let build: [UInt8] = [0x62]
    static let binpersid: [UInt8] = [0x51]
    static let newTrue: [UInt8] = [0x88]
    static let newFalse: [UInt8] = [0x89]
    static let none: [UInt8] = [0x4E]

    static func global(_ module: String, _ name: String) -> [UInt8] { [0x63] + Array("\(module)\n\(name)\n".utf8) }

    static func str(_ s: String) -> [UInt8] {
        var out: [UInt8] = [0x58]
        out.le32(UInt32(s.utf8.count))
        return out + Array(s.utf8)
    }

    static func shortStr(_ s: String) -> [UInt8] { [0x8C, UInt8(s.utf8.count)] + Array(s.utf8) }

    static func int(_ n: Int) -> [UInt8] {
        if (0..<256).contains(n) { return [0x4B, UInt8(n)] }
        var out: [UInt8] = [0x4A]
        out.le32(UInt32(bitPattern: Int32(n)))
        return out
    }

    static func binput(_ i: UInt8) -> [UInt8] { [0x71, i] }
    static func binget(_ i: UInt8) -> [UInt8] { [0x68, i] }

    static func tuple(_ items: [[UInt8]]) -> [UInt8] { mark + items.flatMap { $0 } + tupleOp }
    static func ints(_ v: [Int]) -> [UInt8] { tuple(v.map(int)) }

    static let hooks = global("collections", "OrderedDict") + emptyTuple + reduce

    static func pid(_ type: String = "FloatStorage", key: String = "0", numel: Int, tag: String = "storage", typeModule: String = "torch") -> [UInt8] {
        tuple([str(tag), global(typeModule, type), str(key), str("cpu"), int(numel)])
    }

    /// _rebuild_tensor_v2(storage, offset, size, stride, False, OrderedDict()) plus `extra` arguments.
    static func tensorV2(_ pid: [UInt8], offset: Int = 0, size: [Int], stride: [Int], extra: [[UInt8]] = []) -> [UInt8] {
        global("torch._utils", "_rebuild_tensor_v2")
            + tuple([pid + binpersid, int(offset), ints(size), ints(stride), newFalse, hooks] + extra) + reduce
    }

    static func tensorV3(_ pid: [UInt8], dtype: String, size: [Int], stride: [Int]) -> [UInt8] {
        global("torch._utils", "_rebuild_tensor_v3")
            + tuple([pid + binpersid, int(0), ints(size), ints(stride), newFalse, hooks, global("torch", dtype)]) + reduce
    }

    /// PROTO 2, {name: value, …} (SETITEMS), STOP.
    static func stateDict(_ items: [(String, [UInt8])]) -> [UInt8] {
        proto2 + emptyDict + mark + items.flatMap { str($0.0) + $0.1 } + setitems + stop
    }
}

final class UnpicklerTests: XCTestCase {
    typealias P = PickleOps

    func read(_ bytes: [UInt8], limits: Unpickler.Limits = .default) throws -> Unpickler.Result {
        try bytes.withUnsafeBytes { try Unpickler.read($0, limits: limits) }
    }

    func records(_ bytes: [UInt8]) throws -> [(name: String, record: TorchZip.TensorRecord)] {
        try bytes.withUnsafeBytes { try Unpickler.readStateDict($0) }
    }

    func expect(_ bytes: [UInt8], _ expected: UnpicklerError, limits: Unpickler.Limits = .default,
                file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertThrowsError(try bytes.withUnsafeBytes { try Unpickler.readStateDict($0, limits: limits) }, file: file, line: line) {
            XCTAssertEqual($0 as? UnpicklerError, expected, file: file, line: line)
        }
    }

    /// A pickle whose root is `body`'s single value.
    func value(_ body: [UInt8]) -> [UInt8] { P.proto2 + body + P.stop }

    func testStateDictRecords() throws {
        let r = try records(P.stateDict([
            ("a", P.tensorV2(P.pid(numel: 6), offset: 0, size: [2, 3], stride: [3, 1])),
            ("b", P.tensorV2(P.pid("HalfStorage", key: "1", numel: 4), offset: 1, size: [3], stride: [1])),
            ("c", P.tensorV3(P.pid("UntypedStorage", key: "2", numel: 8, typeModule: "torch.storage"), dtype: "uint16", size: [4], stride: [1])),
        ]))
        XCTAssertEqual(r.map(\.name), ["a", "b", "c"])
        XCTAssertEqual(r[0].record, TorchZip.TensorRecord(storageKey: "0", storageDType: .f32, storageNumel: 6, dtype: .f32, offset: 0,
                                                          shape: [2, 3], stride: [3, 1], location: "cpu"))
        XCTAssertEqual(r[1].record.dtype, .f16)
        XCTAssertEqual(r[1].record.offset, 1)
        XCTAssertEqual(r[2].record.storageDType, .u8)
        XCTAssertEqual(r[2].record.dtype, .u16)
        XCTAssertEqual(r[2].record.storageNumel, 8)
    }

    func testScalars() throws {
        func root(_ body: [UInt8]) throws -> Unpickler.Value { try read(value(body)).root }
        XCTAssertEqual(try root(P.int(200)), .int(200))
        XCTAssertEqual(try root(P.int(-5)), .int(-5))
        XCTAssertEqual(try root([0x4D, 0x34, 0x12]), .int(0x1234))
        XCTAssertEqual(try root([0x8A, 0]), .int(0))
        XCTAssertEqual(try root([0x8A, 1, 0xFF]), .int(-1))
        XCTAssertEqual(try root([0x8A, 2, 0x00, 0xFF]), .int(-256))
        XCTAssertEqual(try root([0x8A, 2, 0xFF, 0x00]), .int(255))
        XCTAssertEqual(try root([0x8A, 8, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x7F]), .int(Int.max))
        XCTAssertEqual(try root([0x8A, 8, 0, 0, 0, 0, 0, 0, 0, 0x80]), .int(Int.min))
        XCTAssertEqual(try root([0x47, 0x3F, 0xF8, 0, 0, 0, 0, 0, 0]), .float(1.5))
        XCTAssertEqual(try root(P.shortStr("héllo")), .string("héllo"))
        XCTAssertEqual(try root(P.none), .none)
        XCTAssertEqual(try root(P.newTrue), .bool(true))
        var u8: [UInt8] = [0x8D]
        u8.le64(2)
        XCTAssertEqual(try root(u8 + Array("ok".utf8)), .string("ok"))
        expect(value([0x8A, 9, 0, 0, 0, 0, 0, 0, 0, 0, 1]), .integerTooLarge(offset: 2))
    }

    func testMemoIsSharedByReference() throws {
        // d = {}; l = []; d['k'] = l; l.append('v')  — via the memo, as pickle writes shared objects
        let r = try read(value(P.emptyDict + P.str("k") + P.emptyList + P.binput(1) + P.setitem
                                 + P.binget(1) + P.str("v") + P.append + P.pop))
        guard case .dict(let d)? = r.object(r.root) else { return XCTFail() }
        XCTAssertEqual(d.keys, [.string("k")])
        guard case .list(let l)? = r.object(d.values[0]) else { return XCTFail() }
        XCTAssertEqual(l, [.string("v")])
    }

    func testBillionLaughsStaysSmall() throws {
        var p = P.proto2 + P.emptyDict + P.str("x") + P.emptyList + P.binput(1) + P.mark
        for _ in 0..<10 { p += P.str("lol") }
        p += P.appends
        for level in 1..<30 {
            p += P.pop + P.emptyList + P.binput(UInt8(level + 1)) + P.mark
            for _ in 0..<10 { p += P.binget(UInt8(level)) }
            p += P.appends
        }
        p += P.setitem + P.stop
        let r = try read(p)
        XCTAssertLessThanOrEqual(r.objects.count, 31) // 10^30 leaves if expanded
        expect(p, .notATensor(name: "x", found: "list"))
    }

    func testLargeContainersGrowInPlace() throws {
        // 100,000 single SETITEMs and APPENDs: linear time, no copy per item.
        var p = P.proto2 + P.emptyDict
        for i in 0..<100_000 { p += P.str("k\(i)") + P.int(i % 256) + P.setitem }
        p += P.str("list") + P.emptyList
        for _ in 0..<100_000 { p += P.none + P.append }
        p += P.setitem + P.stop
        let r = try read(p)
        guard case .dict(let d)? = r.object(r.root) else { return XCTFail() }
        XCTAssertEqual(d.keys.count, 100_001)
        XCTAssertEqual(d.keys[99_999], .string("k99999"))
    }

    func testLengthsAreCheckedBeforeAllocation() {
        var four: [UInt8] = P.proto2 + [0x58]
        four.le32(0xFFFF_FFFF)
        expect(four + Array("abc".utf8) + P.stop, .lengthBeyondEnd(opcode: 0x58, offset: 2, length: 0xFFFF_FFFF, remaining: 4))
        var eight: [UInt8] = P.proto2 + [0x8D]
        eight.le64(UInt64.max)
        expect(eight + P.stop, .lengthBeyondEnd(opcode: 0x8D, offset: 2, length: UInt64.max, remaining: 1))
        var frame: [UInt8] = [0x80, 4, 0x95]
        frame.le64(1 << 40)
        expect(frame + P.stop, .lengthBeyondEnd(opcode: 0x95, offset: 2, length: 1 << 40, remaining: 1))
        expect(value(P.str(String(repeating: "a", count: 100))), .stringTooLong(offset: 2, length: 100, limit: 10),
               limits: Unpickler.Limits(maxStringLength: 10))
        expect(value([0x58, 1, 0, 0, 0, 0xFF]), .invalidUTF8(offset: 2))
    }

    func testLimits() {
        expect(value(P.none), .tooLarge(size: 4, limit: 3), limits: Unpickler.Limits(maxPickleBytes: 3))
        expect(value(P.emptyList + Array(repeating: 0x4E, count: 10) + [0x30]), .tooManyOpcodes(limit: 5),
               limits: Unpickler.Limits(maxOpcodes: 5))
        expect(value(Array(repeating: 0x4E, count: 10)), .stackTooDeep(limit: 8), limits: Unpickler.Limits(maxStackDepth: 8))
        expect(value(Array(repeating: 0x28, count: 10)), .marksTooDeep(limit: 4), limits: Unpickler.Limits(maxMarkDepth: 4))
        expect(value(P.none + (0..<10).flatMap { P.binput(UInt8($0)) }), .memoTooLarge(limit: 3), limits: Unpickler.Limits(maxMemoEntries: 3))
        expect(value(Array(repeating: 0x5D, count: 10)), .tooManyObjects(limit: 6), limits: Unpickler.Limits(maxObjects: 6))
        let rank3 = P.stateDict([("a", P.tensorV2(P.pid(numel: 1), size: [1, 1, 1], stride: [1, 1, 1]))])
        expect(rank3, .invalidArgument(callable: "torch._utils._rebuild_tensor_v2", index: 2,
                                       expected: "a tuple of at most 2 non-negative ints", found: "tuple"),
               limits: Unpickler.Limits(maxRank: 2))
    }

    func testFraming() {
        expect([], .missingStop(offset: 0))
        expect([0x4E, 0x2E], .missingProto(found: 0x4E))
        expect(P.proto2 + [0x80, 2] + P.none + P.stop, .protoNotFirst(offset: 2))
        expect([0x80, 1] + P.none + P.stop, .unsupportedProtocol(version: 1))
        expect([0x80, 6] + P.none + P.stop, .unsupportedProtocol(version: 6))
        expect(P.proto2 + P.none, .missingStop(offset: 3))
        expect(P.proto2 + [0x4B], .truncated(opcode: 0x4B, offset: 2))
        expect(P.proto2 + [0x4A, 1, 2], .truncated(opcode: 0x4A, offset: 2))
        expect(value(P.none) + [0], .bytesAfterStop(offset: 4, count: 1))
        expect(value(P.none + P.none), .unbalancedStop(stackCount: 2, markCount: 0))
        expect(value(P.mark + P.none), .unbalancedStop(stackCount: 1, markCount: 1))
        expect(value([]), .unbalancedStop(stackCount: 0, markCount: 0))
    }

    func testRefusedOpcodes() {
        // INST, OBJ, NEWOBJ, NEWOBJ_EX, PERSID, EXT1, BINBYTES, STRING, DICT, LIST, GET, PUT, DUP, EMPTY_SET, BYTEARRAY8
        for op: UInt8 in [0x69, 0x6F, 0x81, 0x92, 0x50, 0x82, 0x42, 0x53, 0x64, 0x6C, 0x67, 0x70, 0x32, 0x8F, 0x96, 0x00, 0xFF] {
            expect(P.proto2 + [op] + P.stop, .unsupportedOpcode(opcode: op, offset: 2))
        }
        XCTAssertEqual(Unpickler.opcodeName(0x69), "INST")
        XCTAssertEqual(Unpickler.opcodeName(0x00), "0x0")
    }

    func testStackDiscipline() {
        expect(value(P.setitem), .stackUnderflow(opcode: 0x73, offset: 2))
        expect(value(P.emptyDict + P.mark + P.str("k") + P.setitem), .stackUnderflow(opcode: 0x73, offset: 10))
        expect(value(P.none + P.tupleOp), .missingMark(opcode: 0x74, offset: 3))
        expect(value(P.none + P.mark + P.tuple2), .stackUnderflow(opcode: 0x86, offset: 4))
        expect(value(P.binget(3)), .memoMissing(index: 3, offset: 2))
        expect(value(P.binput(0)), .stackUnderflow(opcode: 0x71, offset: 2))
        expect(value(P.emptyDict + P.mark + P.str("k") + P.setitems), .oddSetItems(offset: 10, count: 1))
        expect(value(P.emptyList + P.str("k") + P.none + P.setitem), .wrongType(opcode: 0x73, offset: 10, expected: "dict", found: "list"))
        expect(value(P.emptyDict + P.none + P.append), .wrongType(opcode: 0x61, offset: 4, expected: "list", found: "dict"))
        expect(value(P.emptyDict + P.emptyTuple + P.none + P.setitem), .unhashableKey(offset: 5, found: "tuple"))
        expect(value(P.emptyDict + P.mark + P.str("k") + P.none + P.str("k") + P.none + P.setitems), .duplicateKey(offset: 18, key: "k"))
        expect(value(P.emptyDict + P.int(1) + P.none + P.setitem), .nonStringKey(found: "int"))
    }

    func testGlobalsOutsideTheAllowListAreRefusedByName() {
        let refused: [(String, String)] = [
            ("os", "system"), ("posix", "system"), ("builtins", "eval"), ("builtins", "exec"), ("__builtin__", "eval"),
            ("subprocess", "Popen"), ("torch", "load"), ("torch._utils", "_rebuild_from_type_v2"),
            ("torch._utils", "_rebuild_device_tensor_from_numpy"), ("numpy.core.multiarray", "_reconstruct"),
            ("collections", "defaultdict"), ("torch", "Tensor"), ("torch.nn.modules.linear", "Linear"), ("torch", "TypedStorage"),
        ]
        for (m, n) in refused {
            expect(value(P.global(m, n)), .disallowedGlobal(module: m, name: n))
            expect([0x80, 4] + P.shortStr(m) + [0x94] + P.shortStr(n) + [0x94, 0x93] + P.stop, .disallowedGlobal(module: m, name: n))
        }
        expect(value(P.global("torch", "ComplexFloatStorage")), .unsupportedStorageType(name: "torch.ComplexFloatStorage"))
        expect(value(P.global("torch", "float8_e4m3fn")), .unsupportedDType(name: "torch.float8_e4m3fn"))
        expect(value([0x63] + Array("os".utf8)), .invalidGlobalLine(offset: 2))
        expect(value([0x63] + Array(repeating: 0x61, count: 2_000) + [0x0A, 0x61, 0x0A]), .invalidGlobalLine(offset: 2))
        expect(value(P.int(1) + P.str("x") + [0x93]), .wrongType(opcode: 0x93, offset: 10, expected: "str", found: "int"))
    }

    func testAllowedGlobalsResolve() throws {
        XCTAssertEqual(try Unpickler.resolve(module: "collections", name: "OrderedDict"), .orderedDict)
        XCTAssertEqual(try Unpickler.resolve(module: "torch", name: "BFloat16Storage"), .typedStorage(.bf16))
        XCTAssertEqual(try Unpickler.resolve(module: "torch", name: "BoolStorage"), .typedStorage(.bool))
        XCTAssertEqual(try Unpickler.resolve(module: "torch", name: "UntypedStorage"), .untypedStorage)
        XCTAssertEqual(try Unpickler.resolve(module: "torch", name: "bfloat16"), .dtype(.bf16))
        XCTAssertEqual(try Unpickler.resolve(module: "torch._utils", name: "_rebuild_parameter_with_state"), .rebuildParameterWithState)
        for d in DType.allCases {
            XCTAssertEqual(TorchZip.dtype(named: TorchZip.name(of: d)), d)
            if let s = TorchZip.storageTypeName(of: d) { XCTAssertEqual(TorchZip.dtype(storageType: s), d) }
        }
    }

    func testCallsAreInterpretedOnlyForAllowedShapes() {
        let v2 = "torch._utils._rebuild_tensor_v2"
        func sd(_ t: [UInt8]) -> [UInt8] { P.stateDict([("w", t)]) }
        let pid = P.pid(numel: 4)
        let call = P.global("torch._utils", "_rebuild_tensor_v2")

        expect(sd(call + P.tuple([pid + P.binpersid, P.int(0), P.ints([4])]) + P.reduce),
               .wrongArgumentCount(callable: v2, count: 3, expected: 6...7))
        expect(value(P.global("collections", "OrderedDict") + P.tuple([P.none]) + P.reduce),
               .wrongArgumentCount(callable: "collections.OrderedDict", count: 1, expected: 0...0))
        expect(sd(call + P.tuple([P.none, P.int(0), P.ints([4]), P.ints([1]), P.newFalse, P.hooks]) + P.reduce),
               .invalidArgument(callable: v2, index: 0, expected: "a storage", found: "None"))
        expect(sd(call + P.tuple([pid + P.binpersid, P.int(-1), P.ints([4]), P.ints([1]), P.newFalse, P.hooks]) + P.reduce),
               .invalidArgument(callable: v2, index: 1, expected: "a non-negative int", found: "int"))
        expect(sd(P.tensorV2(pid, size: [2, 2], stride: [2])),
               .invalidArgument(callable: v2, index: 3, expected: "a tuple of 2 non-negative ints", found: "tuple"))
        expect(sd(P.tensorV2(pid, size: [2, -2], stride: [2, 1])),
               .invalidArgument(callable: v2, index: 2, expected: "a tuple of at most 32 non-negative ints", found: "tuple containing a int"))
        expect(sd(call + P.tuple([pid + P.binpersid, P.int(0), P.ints([4]), P.ints([1]), P.none, P.hooks]) + P.reduce),
               .invalidArgument(callable: v2, index: 4, expected: "a bool", found: "None"))
        let hooks = P.global("collections", "OrderedDict") + P.emptyTuple + P.reduce + P.str("h") + P.none + P.setitem
        expect(sd(call + P.tuple([pid + P.binpersid, P.int(0), P.ints([4]), P.ints([1]), P.newFalse, hooks]) + P.reduce),
               .invalidArgument(callable: v2, index: 5, expected: "an empty OrderedDict of backward hooks", found: "OrderedDict"))
        let conj = P.emptyDict + P.str("conj") + P.newTrue + P.setitem
        expect(sd(P.tensorV2(pid, size: [4], stride: [1], extra: [conj])),
               .invalidArgument(callable: v2, index: 6, expected: "tensor metadata without conj/neg bits set", found: "dict"))
        let noBits = P.emptyDict + P.str("conj") + P.newFalse + P.setitem
        XCTAssertNoThrow(try records(sd(P.tensorV2(pid, size: [4], stride: [1], extra: [noBits]))))
        expect(sd(P.global("torch._utils", "_rebuild_tensor_v3")
                  + P.tuple([pid + P.binpersid, P.int(0), P.ints([4]), P.ints([1]), P.newFalse, P.hooks, P.global("torch", "FloatStorage")]) + P.reduce),
               .invalidArgument(callable: "torch._utils._rebuild_tensor_v3", index: 6, expected: "a torch dtype", found: "global torch.FloatStorage"))
        // Storage types and dtypes are symbols, not callables; strings are not callables either.
        expect(value(P.global("torch", "FloatStorage") + P.emptyTuple + P.reduce), .notCallable(offset: 23, found: "global torch.FloatStorage"))
        expect(value(P.str("os.system") + P.emptyTuple + P.reduce), .notCallable(offset: 17, found: "str"))
        expect(value(P.global("collections", "OrderedDict") + P.none + P.reduce),
               .wrongType(opcode: 0x52, offset: 28, expected: "tuple", found: "None"))
        // Parameters
        let param = P.global("torch._utils", "_rebuild_parameter")
        expect(sd(param + P.tuple([P.tensorV2(pid, size: [4], stride: [1]), P.newFalse]) + P.reduce),
               .wrongArgumentCount(callable: "torch._utils._rebuild_parameter", count: 2, expected: 3...3))
        expect(sd(param + P.tuple([P.none, P.newFalse, P.hooks]) + P.reduce),
               .invalidArgument(callable: "torch._utils._rebuild_parameter", index: 0, expected: "a tensor", found: "None"))
    }

    func testPersistentIDs() {
        func sd(_ pid: [UInt8]) -> [UInt8] { P.stateDict([("w", P.tensorV2(pid, size: [4], stride: [1]))]) }
        func bad(_ reason: String) -> UnpicklerError { .invalidPersistentID(reason: reason) }
        expect(sd(P.str("storage")), bad("a str, not a tuple"))
        expect(sd(P.tuple([P.str("storage"), P.global("torch", "FloatStorage"), P.str("0"), P.str("cpu")])), bad("a tuple of 4 items, not 5"))
        expect(sd(P.pid(numel: 4, tag: "module")), bad("tag 'module', not 'storage'"))
        expect(sd(P.tuple([P.int(1), P.global("torch", "FloatStorage"), P.str("0"), P.str("cpu"), P.int(4)])), bad("tag is a int, not 'storage'"))
        expect(sd(P.tuple([P.str("storage"), P.str("FloatStorage"), P.str("0"), P.str("cpu"), P.int(4)])), bad("storage type is a str"))
        expect(sd(P.tuple([P.str("storage"), P.global("torch", "float32"), P.str("0"), P.str("cpu"), P.int(4)])), bad("storage type is a global torch.float32"))
        expect(sd(P.pid(key: "../0", numel: 4)), bad("key \"../0\": contains '/', '\\\\' or NUL"))
        expect(sd(P.pid(key: "..", numel: 4)), bad("key \"..\": a dot path"))
        expect(sd(P.pid(key: "", numel: 4)), bad("key \"\": empty"))
        expect(sd(P.tuple([P.str("storage"), P.global("torch", "FloatStorage"), P.int(0), P.str("cpu"), P.int(4)])), bad("key is a int, not a str"))
        expect(sd(P.tuple([P.str("storage"), P.global("torch", "FloatStorage"), P.str("0"), P.none, P.int(4)])), bad("location is a None, not a str"))
        expect(sd(P.pid(numel: -1)), bad("numel is not a non-negative int"))
        var huge: [UInt8] = [0x8A, 8]
        huge.le64(UInt64(Int.max))
        expect(sd(P.tuple([P.str("storage"), P.global("torch", "FloatStorage"), P.str("0"), P.str("cpu"), huge])), bad("numel \(Int.max) overflows"))
        // One key, two descriptions.
        expect(P.stateDict([("a", P.tensorV2(P.pid(numel: 4), size: [4], stride: [1])),
                            ("b", P.tensorV2(P.pid("HalfStorage", numel: 4), size: [4], stride: [1]))]),
               .storageConflict(key: "0"))
    }

    func testBuildOnlyOnOrderedDict() throws {
        // state_dict(): OrderedDict, SETITEMS, then BUILD with {'_metadata': OrderedDict(...)}
        let od = P.global("collections", "OrderedDict") + P.emptyTuple + P.reduce
        let meta = P.emptyDict + P.str("_metadata") + od + P.str("") + P.emptyDict + P.str("version") + P.int(1) + P.setitem + P.setitem + P.setitem
        let p = P.proto2 + od + P.mark + P.str("w") + P.tensorV2(P.pid(numel: 4), size: [4], stride: [1]) + P.setitems + meta + P.build + P.stop
        XCTAssertEqual(try records(p).map(\.name), ["w"])
        XCTAssertEqual(try records(P.proto2 + od + P.none + P.build + P.stop).count, 0)
        expect(value(P.emptyDict + P.emptyDict + P.build), .buildNotAllowed(target: "dict"))
        expect(value(P.emptyList + P.emptyDict + P.build), .buildNotAllowed(target: "list"))
        expect(value(od + P.int(3) + P.build), .wrongType(opcode: 0x62, offset: 31, expected: "dict or None", found: "int"))
    }

    func testStateDictShape() {
        expect(value(P.emptyList), .rootNotADict(found: "list"))
        expect(value(P.none), .rootNotADict(found: "None"))
        expect(P.stateDict([("epoch", P.int(3))]), .notATensor(name: "epoch", found: "int"))
        expect(P.stateDict([("state_dict", P.emptyDict)]), .nestedStateDict(key: "state_dict"))
        expect(P.stateDict([("model", P.emptyDict)]), .nestedStateDict(key: "model"))
        expect(P.stateDict([("w", P.global("torch", "FloatStorage"))]), .notATensor(name: "w", found: "global torch.FloatStorage"))
    }

    func testParametersAndTiedStorages() throws {
        let t = P.tensorV2(P.pid(numel: 4), size: [4], stride: [1])
        let param = P.global("torch._utils", "_rebuild_parameter") + P.tuple([t, P.newTrue, P.hooks]) + P.reduce
        let withState = P.global("torch._utils", "_rebuild_parameter_with_state")
            + P.tuple([P.tensorV2(P.pid(numel: 4), offset: 2, size: [2], stride: [1]), P.newTrue, P.hooks, P.emptyDict]) + P.reduce
        let r = try records(P.stateDict([("p", param), ("q", withState)]))
        XCTAssertEqual(r.map(\.record.storageKey), ["0", "0"])
        XCTAssertEqual(r[1].record.offset, 2)
    }

    func testEveryTruncationAndCorruptionIsATypedError() {
        let p = P.stateDict([("w", P.tensorV2(P.pid(numel: 6), size: [2, 3], stride: [3, 1]))])
        for n in 0..<p.count {
            XCTAssertThrowsError(try records(Array(p.prefix(n)))) { XCTAssertNotNil($0 as? UnpicklerError, "\(n): \($0)") }
        }
        var rng = SeededRNG(seed: 11)
        for i in p.indices {
            var q = p
            q[i] = UInt8.random(in: 0...255, using: &rng)
            do { _ = try records(q) } catch { XCTAssertNotNil(error as? UnpicklerError, "\(error)") }
        }
    }
}
