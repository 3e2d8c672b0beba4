import CECore

public enum JSONFileError: Error, Equatable, CustomStringConvertible {
    case tooLarge(path: String, size: Int, limit: Int)
    case invalid(path: String, reason: String)

    public var description: String {
        switch self {
        case .tooLarge(let p, let s, let l): return "\(p) is \(s) bytes, above the \(l)-byte limit for a JSON file"
        case .invalid(let p, let r): return "\(p) is not valid JSON: \(r)"
        }
    }
}

/// Reads small JSON files (config.json and friends) with a size cap.
public enum JSONFile {
    public static let defaultLimit = 64 << 20

    public static func load(path: String, limit: Int = defaultLimit) throws -> JSONValue {
        let m = try MappedFile(path: path)
        return try read(m.bytes, path: path, limit: limit)
    }

    /// The JSON file `path` whose bytes are `bytes`, with the same cap and errors as `load`.
    public static func read(_ bytes: UnsafeRawBufferPointer, path: String, limit: Int = defaultLimit) throws -> JSONValue {
        guard bytes.count <= limit else { throw JSONFileError.tooLarge(path: path, size: bytes.count, limit: limit) }
        do {
            return try JSONParser.parse(bytes)
        } catch let e as JSONError {
            throw JSONFileError.invalid(path: path, reason: e.description)
        }
    }

    /// nil when the file does not exist.
    public static func loadIfPresent(path: String, limit: Int = defaultLimit) throws -> JSONValue? {
        do {
            return try load(path: path, limit: limit)
        } catch FileError.notFound {
            return nil
        }
    }
}
