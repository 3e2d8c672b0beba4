import CECore

/// A closed pickle machine for the `data.pkl` record of torch.save checkpoints (formats/torch-zip.md).
///
/// It interprets the protocol 2–5 opcodes torch.save emits and nothing else; it never imports, resolves or
/// calls anything. Globals are matched by name against a fixed allow-list and become inert symbols; REDUCE
/// and BUILD are interpreted only for those symbols with the argument shapes torch writes. Persistent ids
/// must be torch's storage tuples. Containers live in `Result.objects` and are referenced by index, so memo
/// entries are shared by reference (as in Python) and repeated references cost one `Value`, never a copy.
///
/// Every length is checked against the bytes that remain before anything is allocated for it; opcodes,
/// stack depth, marks, memo entries, objects and string lengths are capped by `Limits`.
public enum Unpickler {
    public struct Limits: Sendable, Equatable {
        public var maxPickleBytes: Int
        public var maxOpcodes: Int
        public var maxStackDepth: Int
        public var maxMarkDepth: Int
        public var maxMemoEntries: Int
        /// Tuples, lists, dicts, globals, storages and tensors created.
        public var maxObjects: Int
        /// Bytes of one string (tensor names, storage keys, locations).
        public var maxStringLength: Int
        /// Dimensions of one tensor.
        public var maxRank: Int

        public init(maxPickleBytes: Int = 256 << 20, maxOpcodes: Int = 8_000_000, maxStackDepth: Int = 1_000_000,
                    maxMarkDepth: Int = 1_000, maxMemoEntries: Int = 4_000_000, maxObjects: Int = 2_000_000,
                    maxStringLength: Int = 1 << 20, maxRank: Int = 32) {
            self.maxPickleBytes = maxPickleBytes
            self.maxOpcodes = maxOpcodes
            self.maxStackDepth = maxStackDepth
            self.maxMarkDepth = maxMarkDepth
            self.maxMemoEntries = maxMemoEntries
            self.maxObjects = maxObjects
            self.maxStringLength = maxStringLength
            self.maxRank = maxRank
        }

        public static let `default` = Limits()
    }

    /// A stack value. Containers and symbols are `.object(i)`, an index into `Result.objects`.
    public enum Value: Hashable, Sendable {
        case none
        case bool(Bool)
        /// BININT, BININT1, BININT2, LONG1 of at most 8 bytes.
        case int(Int)
        case float(Double)
        case string(String)
        case object(Int)
    }

    /// An allow-listed global: a name, never a resolved object.
    public enum Global: Hashable, Sendable {
        /// collections.OrderedDict
        case orderedDict
        /// torch._utils._rebuild_tensor_v2
        case rebuildTensorV2
        /// torch._utils._rebuild_tensor_v3
        case rebuildTensorV3
        /// torch._utils._rebuild_parameter
        case rebuildParameter
        /// torch._utils._rebuild_parameter_with_state
        case rebuildParameterWithState
        /// torch.FloatStorage, torch.HalfStorage, … (inside persistent ids only).
        case typedStorage(DType)
        /// torch.UntypedStorage or torch.storage.UntypedStorage (inside persistent ids only).
        case untypedStorage
        /// torch.float32, torch.uint16, … (as the dtype argument of _rebuild_tensor_v3 only).
        case dtype(DType)

        public var qualifiedName: String {
            switch self {
            case .orderedDict: return "collections.OrderedDict"
            case .rebuildTensorV2: return "torch._utils._rebuild_tensor_v2"
            case .rebuildTensorV3: return "torch._utils._rebuild_tensor_v3"
            case .rebuildParameter: return "torch._utils._rebuild_parameter"
            case .rebuildParameterWithState: return "torch._utils._rebuild_parameter_with_state"
            case .typedStorage(let d): return "torch." + (TorchZip.storageTypeName(of: d) ?? "UntypedStorage")
            case .untypedStorage: return "torch.UntypedStorage"
            case .dtype(let d): return "torch." + TorchZip.name(of: d)
            }
        }
    }

    /// A storage named by a persistent id ('storage', type, key, location, numel).
    public struct Storage: Equatable, Sendable {
        public var key: String
        /// Element type of the storage; `.u8` for UntypedStorage.
        public var dtype: DType
        public var isUntyped: Bool
        /// Elements of `dtype` (bytes for UntypedStorage).
        public var numel: Int
        public var location: String
    }

    /// A dict or OrderedDict; keys (str or int) are unique and keep insertion order.
    public struct Dict: Equatable, Sendable {
        public var isOrdered: Bool
        public var keys: [Value] = []
        public var values: [Value] = []
    }

    public enum Object: Equatable, Sendable {
        case tuple([Value])
        case list([Value])
        case dict(Dict)
        case global(Global)
        indirect case storage(Storage)
        indirect case tensor(TorchZip.TensorRecord)
    }

    /// The unpickled value graph.
    public struct Result: Sendable {
        public var root: Value
        public var objects: [Object]
        public var opcodeCount: Int

        /// The object `v` refers to, or nil for scalars.
        public func object(_ v: Value) -> Object? {
            if case .object(let i) = v { return objects[i] }
            return nil
        }

        /// A short name of `v`'s kind for error messages: "int", "str", "list", "OrderedDict", "tensor", …
        public func kind(of v: Value) -> String { Unpickler.kind(of: v, in: objects) }
    }

    /// Runs the machine over a whole pickle. The bytes must end exactly after STOP.
    public static func read(_ bytes: UnsafeRawBufferPointer, limits: Limits = .default) throws -> Result {
        guard bytes.count <= limits.maxPickleBytes else { throw UnpicklerError.tooLarge(size: bytes.count, limit: limits.maxPickleBytes) }
        var m = Machine(bytes: bytes, limits: limits)
        let root = try m.run()
        return Result(root: root, objects: m.objects, opcodeCount: m.opcodeCount)
    }

    /// The state dict of an unpickled checkpoint: the root dict or OrderedDict's (name, tensor) items in
    /// order. Every key must be a str and every value a tensor; a dict nested under "state_dict" or "model"
    /// (training checkpoints) is refused with `nestedStateDict`.
    public static func stateDict(_ r: Result) throws -> [(name: String, record: TorchZip.TensorRecord)] {
        guard case .dict(let d)? = r.object(r.root) else { throw UnpicklerError.rootNotADict(found: r.kind(of: r.root)) }
        var out: [(name: String, record: TorchZip.TensorRecord)] = []
        out.reserveCapacity(d.keys.count)
        for (k, v) in zip(d.keys, d.values) {
            guard case .string(let name) = k else { throw UnpicklerError.nonStringKey(found: r.kind(of: k)) }
            switch r.object(v) {
            case .tensor(let t)?:
                out.append((name, t))
            case .dict? where name == "state_dict" || name == "model":
                throw UnpicklerError.nestedStateDict(key: name)
            default:
                throw UnpicklerError.notATensor(name: name, found: r.kind(of: v))
            }
        }
        return out
    }

    /// `read` then `stateDict`.
    public static func readStateDict(_ bytes: UnsafeRawBufferPointer, limits: Limits = .default) throws -> [(name: String, record: TorchZip.TensorRecord)] {
        try stateDict(read(bytes, limits: limits))
    }

    static func kind(of v: Value, in objects: [Object]) -> String {
        switch v {
        case .none: return "None"
        case .bool: return "bool"
        case .int: return "int"
        case .float: return "float"
        case .string: return "str"
        case .object(let i): return kind(of: objects[i])
        }
    }

    static func kind(of o: Object) -> String {
        switch o {
        case .tuple: return "tuple"
        case .list: return "list"
        case .dict(let d): return d.isOrdered ? "OrderedDict" : "dict"
        case .global(let g): return "global " + g.qualifiedName
        case .storage: return "storage"
        case .tensor: return "tensor"
        }
    }

    /// Maps an allow-listed (module, name) to its symbol; everything else is refused by name.
    public static func resolve(module: String, name: String) throws -> Global {
        switch (module, name) {
        case ("collections", "OrderedDict"): return .orderedDict
        case ("torch._utils", "_rebuild_tensor_v2"): return .rebuildTensorV2
        case ("torch._utils", "_rebuild_tensor_v3"): return .rebuildTensorV3
        case ("torch._utils", "_rebuild_parameter"): return .rebuildParameter
        case ("torch._utils", "_rebuild_parameter_with_state"): return .rebuildParameterWithState
        case ("torch", "UntypedStorage"), ("torch.storage", "UntypedStorage"): return .untypedStorage
        default: break
        }
        if module == "torch" {
            if let d = TorchZip.dtype(storageType: name) { return .typedStorage(d) }
            if let d = TorchZip.dtype(named: name) { return .dtype(d) }
            if TorchZip.knownUnsupportedStorageTypes.contains(name) { throw UnpicklerError.unsupportedStorageType(name: "torch." + name) }
            if TorchZip.knownUnsupportedDTypes.contains(name) { throw UnpicklerError.unsupportedDType(name: "torch." + name) }
        }
        throw UnpicklerError.disallowedGlobal(module: module, name: name)
    }

    /// The pickletools name of an opcode byte, or its hex value.
    public static func opcodeName(_ op: UInt8) -> String {
        switch op {
        case 0x28: return "MARK"
        case 0x2E: return "STOP"
        case 0x30: return "POP"
        case 0x31: return "POP_MARK"
        case 0x32: return "DUP"
        case 0x46: return "FLOAT"
        case 0x49: return "INT"
        case 0x4A: return "BININT"
        case 0x4B: return "BININT1"
        case 0x4C: return "LONG"
        case 0x4D: return "BININT2"
        case 0x4E: return "NONE"
        case 0x50: return "PERSID"
        case 0x51: return "BINPERSID"
        case 0x52: return "REDUCE"
        case 0x53: return "STRING"
        case 0x54: return "BINSTRING"
        case 0x55: return "SHORT_BINSTRING"
        case 0x56: return "UNICODE"
        case 0x58: return "BINUNICODE"
        case 0x61: return "APPEND"
        case 0x62: return "BUILD"
        case 0x63: return "GLOBAL"
        case 0x64: return "DICT"
        case 0x7D: return "EMPTY_DICT"
        case 0x65: return "APPENDS"
        case 0x67: return "GET"
        case 0x68: return "BINGET"
        case 0x69: return "INST"
        case 0x6A: return "LONG_BINGET"
        case 0x6C: return "LIST"
        case 0x5D: return "EMPTY_LIST"
        case 0x6F: return "OBJ"
        case 0x70: return "PUT"
        case 0x71: return "BINPUT"
        case 0x72: return "LONG_BINPUT"
        case 0x73: return "SETITEM"
        case 0x74: return "TUPLE"
        case 0x29: return "EMPTY_TUPLE"
        case 0x75: return "SETITEMS"
        case 0x47: return "BINFLOAT"
        case 0x80: return "PROTO"
        case 0x81: return "NEWOBJ"
        case 0x82: return "EXT1"
        case 0x83: return "EXT2"
        case 0x84: return "EXT4"
        case 0x85: return "TUPLE1"
        case 0x86: return "TUPLE2"
        case 0x87: return "TUPLE3"
        case 0x88: return "NEWTRUE"
        case 0x89: return "NEWFALSE"
        case 0x8A: return "LONG1"
        case 0x8B: return "LONG4"
        case 0x42: return "BINBYTES"
        case 0x43: return "SHORT_BINBYTES"
        case 0x8C: return "SHORT_BINUNICODE"
        case 0x8D: return "BINUNICODE8"
        case 0x8E: return "BINBYTES8"
        case 0x8F: return "EMPTY_SET"
        case 0x90: return "ADDITEMS"
        case 0x91: return "FROZENSET"
        case 0x92: return "NEWOBJ_EX"
        case 0x93: return "STACK_GLOBAL"
        case 0x94: return "MEMOIZE"
        case 0x95: return "FRAME"
        case 0x96: return "BYTEARRAY8"
        case 0x97: return "NEXT_BUFFER"
        case 0x98: return "READONLY_BUFFER"
        default: return "0x" + String(op, radix: 16)
        }
    }
}

/// The opcode interpreter. `stack[fence...]` is the part above the innermost MARK.
private struct Machine {
    let b: UnsafeRawBufferPointer
    let limits: Unpickler.Limits
    var pos = 0
    var stack: [Unpickler.Value] = []
    var marks: [Int] = []
    var memo: [Int: Unpickler.Value] = [:]
    var objects: [Unpickler.Object] = []
    /// Key sets of dict objects, for duplicate detection while unpickling.
    var dictKeys: [Int: Set<Unpickler.Value>] = [:]
    var storages: [String: Unpickler.Storage] = [:]
    var opcodeCount = 0
    /// Offset and byte of the opcode being run.
    var at = 0
    var op: UInt8 = 0

    typealias Value = Unpickler.Value
    typealias E = UnpicklerError

    init(bytes: UnsafeRawBufferPointer, limits: Unpickler.Limits) {
        self.b = bytes
        self.limits = limits
    }

    var fence: Int { marks.last ?? 0 }
    var remaining: Int { b.count - pos }

    // MARK: reading arguments

    func need(_ n: Int) throws {
        guard n <= remaining else { throw E.truncated(opcode: op, offset: at) }
    }

    mutating func u8() throws -> UInt8 {
        try need(1)
        defer { pos += 1 }
        return b[pos]
    }

    mutating func le<T: FixedWidthInteger>(_: T.Type) throws -> T {
        try need(MemoryLayout<T>.size)
        defer { pos += MemoryLayout<T>.size }
        return T(littleEndian: b.loadUnaligned(fromByteOffset: pos, as: T.self))
    }

    /// `length` UTF-8 bytes: checked against the remaining bytes, then the cap, before any allocation.
    mutating func utf8(length: UInt64) throws -> String {
        guard length <= UInt64(remaining) else {
            throw E.lengthBeyondEnd(opcode: op, offset: at, length: length, remaining: remaining)
        }
        let n = Int(length)
        guard n <= limits.maxStringLength else { throw E.stringTooLong(offset: at, length: n, limit: limits.maxStringLength) }
        let raw = UnsafeRawBufferPointer(rebasing: b[pos..<(pos + n)])
        guard let s = String(validating: raw, as: UTF8.self) else { throw E.invalidUTF8(offset: at) }
        pos += n
        return s
    }

    /// A GLOBAL argument line: at most 1,024 bytes of UTF-8 ended by '\n'.
    mutating func line() throws -> String {
        let end = min(b.count, pos + 1025)
        var i = pos
        while i < end, b[i] != 0x0A { i += 1 }
        guard i < end else { throw E.invalidGlobalLine(offset: at) }
        guard let s = String(validating: UnsafeRawBufferPointer(rebasing: b[pos..<i]), as: UTF8.self) else {
            throw E.invalidGlobalLine(offset: at)
        }
        pos = i + 1
        return s
    }

    // MARK: stack, memo, objects

    mutating func push(_ v: Value) throws {
        guard stack.count < limits.maxStackDepth else { throw E.stackTooDeep(limit: limits.maxStackDepth) }
        stack.append(v)
    }

    mutating func pop() throws -> Value {
        guard stack.count > fence else { throw E.stackUnderflow(opcode: op, offset: at) }
        return stack.removeLast()
    }

    func top() throws -> Value {
        guard stack.count > fence else { throw E.stackUnderflow(opcode: op, offset: at) }
        return stack[stack.count - 1]
    }

    mutating func popMark() throws -> [Value] {
        guard let m = marks.popLast() else { throw E.missingMark(opcode: op, offset: at) }
        let items = Array(stack[m...])
        stack.removeSubrange(m...)
        return items
    }

    mutating func new(_ o: Unpickler.Object) throws -> Value {
        guard objects.count < limits.maxObjects else { throw E.tooManyObjects(limit: limits.maxObjects) }
        objects.append(o)
        return .object(objects.count - 1)
    }

    mutating func memoize(_ index: Int) throws {
        let v = try top()
        if memo[index] == nil, memo.count >= limits.maxMemoEntries { throw E.memoTooLarge(limit: limits.maxMemoEntries) }
        memo[index] = v
    }

    func kind(_ v: Value) -> String { Unpickler.kind(of: v, in: objects) }

    func wrongType(_ expected: String, _ v: Value) -> UnpicklerError {
        .wrongType(opcode: op, offset: at, expected: expected, found: kind(v))
    }

    func tuple(_ v: Value) -> [Value]? {
        if case .object(let i) = v, case .tuple(let items) = objects[i] { return items }
        return nil
    }

    func dict(_ v: Value) -> Unpickler.Dict? {
        if case .object(let i) = v, case .dict(let d) = objects[i] { return d }
        return nil
    }

    /// Adds key → value to the dict object `target`; keys are str or int and unique.
    mutating func setItems(_ target: Value, _ pairs: ArraySlice<Value>) throws {
        guard case .object(let i) = target, case .dict(var d) = objects[i] else { throw wrongType("dict", target) }
        objects[i] = .tuple([]) // `d` is now the only reference, so appends below do not copy
        var k = pairs.startIndex
        while k < pairs.endIndex {
            let key = pairs[k], value = pairs[k + 1]
            switch key {
            case .string, .int: break
            default: throw E.unhashableKey(offset: at, found: kind(key))
            }
            guard dictKeys[i, default: []].insert(key).inserted else {
                let shown: String
                if case .string(let s) = key { shown = s } else if case .int(let n) = key { shown = String(n) } else { shown = "?" }
                throw E.duplicateKey(offset: at, key: shown)
            }
            d.keys.append(key)
            d.values.append(value)
            k += 2
        }
        objects[i] = .dict(d)
    }

    mutating func append(_ target: Value, _ items: [Value]) throws {
        guard case .object(let i) = target, case .list(var l) = objects[i] else { throw wrongType("list", target) }
        objects[i] = .tuple([])
        l.append(contentsOf: items)
        objects[i] = .list(l)
    }

    // MARK: the loop

    mutating func run() throws -> Value {
        while true {
            guard pos < b.count else { throw E.missingStop(offset: pos) }
            opcodeCount += 1
            guard opcodeCount <= limits.maxOpcodes else { throw E.tooManyOpcodes(limit: limits.maxOpcodes) }
            at = pos
            op = b[pos]
            pos += 1
            if at == 0, op != 0x80 { throw E.missingProto(found: op) }
            switch op {
            case 0x80: // PROTO
                let v = try u8()
                guard at == 0 else { throw E.protoNotFirst(offset: at) }
                guard (2...5).contains(v) else { throw E.unsupportedProtocol(version: Int(v)) }
            case 0x95: // FRAME: a buffering hint; its length must fit
                let n = try le(UInt64.self)
                guard n <= UInt64(remaining) else { throw E.lengthBeyondEnd(opcode: op, offset: at, length: n, remaining: remaining) }
            case 0x2E: // STOP
                guard marks.isEmpty, stack.count == 1 else { throw E.unbalancedStop(stackCount: stack.count, markCount: marks.count) }
                guard pos == b.count else { throw E.bytesAfterStop(offset: pos, count: b.count - pos) }
                return stack[0]
            case 0x28: // MARK
                guard marks.count < limits.maxMarkDepth else { throw E.marksTooDeep(limit: limits.maxMarkDepth) }
                marks.append(stack.count)
            case 0x30: // POP: the top item, else the innermost mark
                if stack.count > fence { stack.removeLast() } else if marks.popLast() == nil { throw E.stackUnderflow(opcode: op, offset: at) }
            case 0x31: // POP_MARK
                _ = try popMark()
            case 0x4E: try push(.none)
            case 0x88: try push(.bool(true))
            case 0x89: try push(.bool(false))
            case 0x4A: try push(.int(Int(try le(Int32.self))))
            case 0x4B: try push(.int(Int(try u8())))
            case 0x4D: try push(.int(Int(try le(UInt16.self))))
            case 0x8A: // LONG1: n-byte two's complement, little-endian
                let n = Int(try u8())
                guard n <= 8 else { throw E.integerTooLarge(offset: at) }
                try need(n)
                var v: UInt64 = 0
                for k in 0..<n { v |= UInt64(b[pos + k]) << (8 * UInt64(k)) }
                if n > 0, n < 8, b[pos + n - 1] & 0x80 != 0 { v |= ~0 << (8 * UInt64(n)) }
                pos += n
                try push(.int(Int(Int64(bitPattern: v))))
            case 0x47: // BINFLOAT: big-endian binary64
                try need(8)
                let bits = UInt64(bigEndian: b.loadUnaligned(fromByteOffset: pos, as: UInt64.self))
                pos += 8
                try push(.float(Double(bitPattern: bits)))
            case 0x58: try push(.string(try utf8(length: UInt64(try le(UInt32.self)))))
            case 0x8C: try push(.string(try utf8(length: UInt64(try u8()))))
            case 0x8D: try push(.string(try utf8(length: try le(UInt64.self))))
            case 0x7D: try push(try new(.dict(Unpickler.Dict(isOrdered: false))))
            case 0x5D: try push(try new(.list([])))
            case 0x29: try push(try new(.tuple([])))
            case 0x74: // TUPLE
                let items = try popMark()
                try push(try new(.tuple(items)))
            case 0x85, 0x86, 0x87: // TUPLE1, TUPLE2, TUPLE3
                let n = Int(op - 0x84)
                guard stack.count - fence >= n else { throw E.stackUnderflow(opcode: op, offset: at) }
                let items = Array(stack.suffix(n))
                stack.removeLast(n)
                try push(try new(.tuple(items)))
            case 0x71: try memoize(Int(try u8()))
            case 0x72: try memoize(Int(try le(UInt32.self)))
            case 0x94: try memoize(memo.count)
            case 0x68, 0x6A: // BINGET, LONG_BINGET
                let i = op == 0x68 ? Int(try u8()) : Int(try le(UInt32.self))
                guard let v = memo[i] else { throw E.memoMissing(index: i, offset: at) }
                try push(v)
            case 0x73: // SETITEM
                let value = try pop()
                let key = try pop()
                try setItems(try top(), [key, value][...])
            case 0x75: // SETITEMS
                let items = try popMark()
                guard items.count % 2 == 0 else { throw E.oddSetItems(offset: at, count: items.count) }
                try setItems(try top(), items[...])
            case 0x61: // APPEND
                let v = try pop()
                try append(try top(), [v])
            case 0x65: // APPENDS
                let items = try popMark()
                try append(try top(), items)
            case 0x63: // GLOBAL
                let module = try line()
                let name = try line()
                try push(try new(.global(try Unpickler.resolve(module: module, name: name))))
            case 0x93: // STACK_GLOBAL
                let name = try pop()
                let module = try pop()
                guard case .string(let n) = name else { throw wrongType("str", name) }
                guard case .string(let m) = module else { throw wrongType("str", module) }
                try push(try new(.global(try Unpickler.resolve(module: m, name: n))))
            case 0x51: // BINPERSID
                let pid = try pop()
                try push(try new(.storage(try persistentStorage(pid))))
            case 0x52: // REDUCE
                let args = try pop()
                let callable = try pop()
                guard case .object(let ci) = callable, case .global(let g) = objects[ci] else {
                    throw E.notCallable(offset: at, found: kind(callable))
                }
                guard let a = tuple(args) else { throw wrongType("tuple", args) }
                try push(try call(g, a))
            case 0x62: // BUILD: attribute state on an OrderedDict (state_dict()._metadata); nothing else
                let state = try pop()
                let target = try top()
                guard let d = dict(target), d.isOrdered else { throw E.buildNotAllowed(target: kind(target)) }
                guard state == .none || dict(state) != nil else { throw wrongType("dict or None", state) }
            default:
                throw E.unsupportedOpcode(opcode: op, offset: at)
            }
        }
    }

    // MARK: persistent ids and calls

    /// ('storage', storage type, key: str, location: str, numel: int), as torch.serialization writes it.
    mutating func persistentStorage(_ pid: Value) throws -> Unpickler.Storage {
        guard let t = tuple(pid) else { throw E.invalidPersistentID(reason: "a \(kind(pid)), not a tuple") }
        guard t.count == 5 else { throw E.invalidPersistentID(reason: "a tuple of \(t.count) items, not 5") }
        guard t[0] == .string("storage") else {
            if case .string(let s) = t[0] { throw E.invalidPersistentID(reason: "tag '\(s)', not 'storage'") }
            throw E.invalidPersistentID(reason: "tag is a \(kind(t[0])), not 'storage'")
        }
        let dtype: DType, untyped: Bool
        switch t[1] {
        case .object(let i) where objects[i] == .global(.untypedStorage): (dtype, untyped) = (.u8, true)
        case .object(let i):
            guard case .global(.typedStorage(let d)) = objects[i] else {
                throw E.invalidPersistentID(reason: "storage type is a \(kind(t[1]))")
            }
            (dtype, untyped) = (d, false)
        default: throw E.invalidPersistentID(reason: "storage type is a \(kind(t[1]))")
        }
        guard case .string(let key) = t[2] else { throw E.invalidPersistentID(reason: "key is a \(kind(t[2])), not a str") }
        if let why = TorchZip.storageKeyProblem(key) { throw E.invalidPersistentID(reason: "key \"\(key)\": \(why)") }
        guard case .string(let location) = t[3] else { throw E.invalidPersistentID(reason: "location is a \(kind(t[3])), not a str") }
        guard case .int(let numel) = t[4], numel >= 0 else { throw E.invalidPersistentID(reason: "numel is not a non-negative int") }
        guard !numel.multipliedReportingOverflow(by: dtype.byteSize).overflow else {
            throw E.invalidPersistentID(reason: "numel \(numel) overflows")
        }
        let s = Unpickler.Storage(key: key, dtype: dtype, isUntyped: untyped, numel: numel, location: location)
        if let prior = storages[key] {
            guard prior.dtype == s.dtype, prior.numel == s.numel else { throw E.storageConflict(key: key) }
        } else {
            storages[key] = s
        }
        return s
    }

    mutating func call(_ g: Unpickler.Global, _ a: [Value]) throws -> Value {
        let name = g.qualifiedName
        func arity(_ r: ClosedRange<Int>) throws {
            guard r.contains(a.count) else { throw E.wrongArgumentCount(callable: name, count: a.count, expected: r) }
        }
        func bad(_ i: Int, _ expected: String) -> UnpicklerError {
            .invalidArgument(callable: name, index: i, expected: expected, found: kind(a[i]))
        }
        func emptyHooks(_ i: Int) throws {
            guard let d = dict(a[i]), d.keys.isEmpty else { throw bad(i, "an empty OrderedDict of backward hooks") }
        }
        switch g {
        case .orderedDict:
            try arity(0...0)
            return try new(.dict(Unpickler.Dict(isOrdered: true)))
        case .rebuildTensorV2, .rebuildTensorV3:
            // (storage, storage_offset, size, stride, requires_grad, backward_hooks[, dtype (v3)][, metadata])
            let v3 = g == .rebuildTensorV3
            try arity(v3 ? 7...8 : 6...7)
            guard case .object(let si) = a[0], case .storage(let s) = objects[si] else { throw bad(0, "a storage") }
            guard case .int(let offset) = a[1], offset >= 0 else { throw bad(1, "a non-negative int") }
            let size = try ints(a[2], index: 2, callable: name)
            let stride = try ints(a[3], index: 3, callable: name)
            guard stride.count == size.count else { throw bad(3, "a tuple of \(size.count) non-negative ints") }
            guard case .bool = a[4] else { throw bad(4, "a bool") }
            try emptyHooks(5)
            var dtype = s.dtype
            if v3 {
                guard case .object(let di) = a[6], case .global(.dtype(let d)) = objects[di] else { throw bad(6, "a torch dtype") }
                dtype = d
            }
            let metaIndex = v3 ? 7 : 6
            if a.count > metaIndex {
                // get_tensor_metadata: conj/neg bits, written only when set.
                guard let meta = dict(a[metaIndex]), meta.values.allSatisfy({ $0 == .bool(false) }) else {
                    throw bad(metaIndex, "tensor metadata without conj/neg bits set")
                }
            }
            let record = TorchZip.TensorRecord(storageKey: s.key, storageDType: s.dtype, storageNumel: s.numel, dtype: dtype,
                                               offset: offset, shape: Shape(size), stride: stride, location: s.location)
            return try new(.tensor(record))
        case .rebuildParameter, .rebuildParameterWithState:
            // (data, requires_grad, backward_hooks[, state]); the parameter is its data tensor.
            try arity(g == .rebuildParameter ? 3...3 : 4...4)
            guard case .object(let ti) = a[0], case .tensor = objects[ti] else { throw bad(0, "a tensor") }
            guard case .bool = a[1] else { throw bad(1, "a bool") }
            try emptyHooks(2)
            return a[0]
        case .typedStorage, .untypedStorage, .dtype:
            throw E.notCallable(offset: at, found: "global " + name)
        }
    }

    /// A tuple of non-negative ints (a size or stride), at most `maxRank` long.
    func ints(_ v: Value, index: Int, callable: String) throws -> [Int] {
        let expected = "a tuple of at most \(limits.maxRank) non-negative ints"
        guard let t = tuple(v), t.count <= limits.maxRank else {
            throw E.invalidArgument(callable: callable, index: index, expected: expected, found: kind(v))
        }
        return try t.map {
            guard case .int(let n) = $0, n >= 0 else {
                throw E.invalidArgument(callable: callable, index: index, expected: expected, found: "tuple containing a \(kind($0))")
            }
            return n
        }
    }
}

public enum UnpicklerError: Error, Equatable, CustomStringConvertible {
    case tooLarge(size: Int, limit: Int)
    case missingProto(found: UInt8)
    case protoNotFirst(offset: Int)
    case unsupportedProtocol(version: Int)
    case unsupportedOpcode(opcode: UInt8, offset: Int)
    case truncated(opcode: UInt8, offset: Int)
    case missingStop(offset: Int)
    case bytesAfterStop(offset: Int, count: Int)
    case unbalancedStop(stackCount: Int, markCount: Int)
    case lengthBeyondEnd(opcode: UInt8, offset: Int, length: UInt64, remaining: Int)
    case stringTooLong(offset: Int, length: Int, limit: Int)
    case invalidUTF8(offset: Int)
    case invalidGlobalLine(offset: Int)
    case integerTooLarge(offset: Int)
    case tooManyOpcodes(limit: Int)
    case stackTooDeep(limit: Int)
    case marksTooDeep(limit: Int)
    case memoTooLarge(limit: Int)
    case tooManyObjects(limit: Int)
    case stackUnderflow(opcode: UInt8, offset: Int)
    case missingMark(opcode: UInt8, offset: Int)
    case memoMissing(index: Int, offset: Int)
    case oddSetItems(offset: Int, count: Int)
    case wrongType(opcode: UInt8, offset: Int, expected: String, found: String)
    case unhashableKey(offset: Int, found: String)
    case duplicateKey(offset: Int, key: String)
    case disallowedGlobal(module: String, name: String)
    case unsupportedStorageType(name: String)
    case unsupportedDType(name: String)
    case notCallable(offset: Int, found: String)
    case wrongArgumentCount(callable: String, count: Int, expected: ClosedRange<Int>)
    case invalidArgument(callable: String, index: Int, expected: String, found: String)
    case invalidPersistentID(reason: String)
    case storageConflict(key: String)
    case buildNotAllowed(target: String)
    case rootNotADict(found: String)
    case nonStringKey(found: String)
    case notATensor(name: String, found: String)
    case nestedStateDict(key: String)

    public var description: String {
        let p = "pickle: "
        func opAt(_ op: UInt8, _ o: Int) -> String { "\(Unpickler.opcodeName(op)) at byte \(o)" }
        switch self {
        case .tooLarge(let s, let l): return p + "data.pkl is \(s) bytes, above the limit of \(l)"
        case .missingProto(let f): return p + "does not start with PROTO (found \(Unpickler.opcodeName(f))); torch.save writes protocol 2"
        case .protoNotFirst(let o): return p + "PROTO at byte \(o), not first"
        case .unsupportedProtocol(let v): return p + "protocol \(v) (supported: 2 to 5)"
        case .unsupportedOpcode(let op, let o): return p + "opcode \(opAt(op, o)) is not allowed (torch.save does not emit it; it may build arbitrary objects)"
        case .truncated(let op, let o): return p + "\(opAt(op, o)) runs past the end (truncated)"
        case .missingStop(let o): return p + "ends at byte \(o) without STOP (truncated)"
        case .bytesAfterStop(let o, let c): return p + "\(c) bytes after STOP at byte \(o)"
        case .unbalancedStop(let s, let m): return p + "STOP with \(s) values and \(m) marks on the stack (expected 1 and 0)"
        case .lengthBeyondEnd(let op, let o, let l, let r): return p + "\(opAt(op, o)) declares \(l) bytes but only \(r) remain"
        case .stringTooLong(let o, let l, let cap): return p + "string at byte \(o) is \(l) bytes, above the limit of \(cap)"
        case .invalidUTF8(let o): return p + "string at byte \(o) is not valid UTF-8"
        case .invalidGlobalLine(let o): return p + "GLOBAL at byte \(o): module or name is not a UTF-8 line of at most 1,024 bytes"
        case .integerTooLarge(let o): return p + "LONG1 at byte \(o) does not fit in 64 bits"
        case .tooManyOpcodes(let l): return p + "more than \(l) opcodes"
        case .stackTooDeep(let l): return p + "stack deeper than \(l)"
        case .marksTooDeep(let l): return p + "more than \(l) nested MARKs"
        case .memoTooLarge(let l): return p + "memo larger than \(l) entries"
        case .tooManyObjects(let l): return p + "more than \(l) objects"
        case .stackUnderflow(let op, let o): return p + "\(opAt(op, o)) needs more values than the stack holds above its mark"
        case .missingMark(let op, let o): return p + "\(opAt(op, o)) without a MARK"
        case .memoMissing(let i, let o): return p + "memo entry \(i) read at byte \(o) was never stored"
        case .oddSetItems(let o, let c): return p + "SETITEMS at byte \(o) with \(c) values (not key/value pairs)"
        case .wrongType(let op, let o, let e, let f): return p + "\(opAt(op, o)) needs a \(e), found a \(f)"
        case .unhashableKey(let o, let f): return p + "dict key at byte \(o) is a \(f) (only str and int keys are accepted)"
        case .duplicateKey(let o, let k): return p + "duplicate dict key \"\(displayEscaped(k))\" at byte \(o)"
        case .disallowedGlobal(let m, let n): return p + "global \(displayEscaped(m)).\(displayEscaped(n)) is not allowed (only collections.OrderedDict, torch._utils._rebuild_*, torch storage types and dtypes); nothing was imported or called"
        case .unsupportedStorageType(let n): return p + "storage type \(displayEscaped(n)) is not supported"
        case .unsupportedDType(let n): return p + "dtype \(n) is not supported"
        case .notCallable(let o, let f): return p + "REDUCE at byte \(o) calls a \(f), which is not an allowed callable"
        case .wrongArgumentCount(let c, let n, let r): return p + "\(c) called with \(n) arguments (expected \(r.lowerBound == r.upperBound ? "\(r.lowerBound)" : "\(r.lowerBound) to \(r.upperBound)"))"
        case .invalidArgument(let c, let i, let e, let f): return p + "\(c) argument \(i) must be \(e), found a \(f)"
        case .invalidPersistentID(let r): return p + "persistent id is not ('storage', storage type, key, location, numel): \(r)"
        case .storageConflict(let k): return p + "storage \"\(k)\" is named twice with different types or sizes"
        case .buildNotAllowed(let t): return p + "BUILD on a \(t) (allowed only on an OrderedDict)"
        case .rootNotADict(let f): return p + "the checkpoint is a \(f), not a dict of tensors"
        case .nonStringKey(let f): return p + "state dict key is a \(f), not a str"
        case .notATensor(let n, let f): return p + "state dict entry \"\(displayEscaped(n))\" is a \(f), not a tensor"
        case .nestedStateDict(let k): return p + "the checkpoint nests its weights under \"\(displayEscaped(k))\" (a training checkpoint); save the weights alone: torch.save(ckpt[\"\(k)\"], p2)"
        }
    }
}
