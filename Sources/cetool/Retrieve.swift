import ArgumentParser
import CEBiEncoder
import CECore
import CERetrieve
import CERuntime
#if canImport(FoundationEssentials)
import FoundationEssentials
import Glibc
#else
import Foundation
#endif

/// Options of commands that load a SentenceTransformer (bi-encoder).
struct BiEncoderOptions: ParsableArguments {
    @Option(parsing: .unconditional, help: "Texts per forward pass, at least 1.")
    var batchSize: Int = 32

    @Option(parsing: .unconditional, help: "Tokens per text after truncation, at least 3 (default: the model's max_seq_length).")
    var maxSeqLength: Int?

    @Option(parsing: .unconditional, help: "BLAS threads, at least 1 (default: OpenBLAS's choice).")
    var threads: Int?

    @Flag(help: "Never draw the progress bar (it is drawn on standard error only when that is a terminal).")
    var noProgress = false

    func validate() throws {
        try requireAtLeast(1, batchSize, "--batch-size")
        try requireAtLeast(3, maxSeqLength, "--max-seq-length")
        try requireAtLeast(1, threads, "--threads")
    }

    func load(_ path: String) throws -> SentenceTransformer {
        let m = try SentenceTransformer(try resolveModelPath(path), maxSeqLength: maxSeqLength, threads: threads)
        _ = Unmanaged.passRetained(m)
        return m
    }

    var showProgress: Bool { !noProgress && isatty(2) == 1 }
}

/// Texts of a --texts / --corpus / --queries file: JSON lines of strings or {"text": …} (optionally "id") for a name
/// ending in .jsonl or with `jsonl`; one text per line otherwise. Blank lines are skipped. Refuses a file with none.
func readTexts(_ path: String, what: String, format: DocumentsFormat? = nil) throws -> (texts: [String], ids: [String]?) {
    let f = format ?? (path.lowercased().hasSuffix(".jsonl") ? .jsonl : .lines)
    let data = try readInput(path)
    var ids: [String] = []
    let texts: [String]
    switch f {
    case .lines:
        texts = TextLines.nonBlank(data).map(\.text)
    case .jsonl:
        texts = try TextLines.nonBlank(data).map { line in
            func fail(_ r: String) -> CLIError { .refused("\(what) line \(line.number): \(r)") }
            let v: JSONValue
            do { v = try JSONParser.parse(Array(line.bytes)) } catch { throw fail("not JSON (\(error))") }
            if let s = v.stringValue { return s }
            guard let s = v["text"]?.stringValue else { throw fail("a text must be a JSON string or {\"text\": \"…\"}") }
            if let id = v["id"] { ids.append(id.stringValue ?? JSONWriter.write(id)) }
            return s
        }
    }
    guard !texts.isEmpty else { throw CLIError.refused("\(what) \(path) holds no texts") }
    guard ids.isEmpty || ids.count == texts.count else { throw CLIError.refused("\(what): \"id\" given on some lines only (\(ids.count) of \(texts.count))") }
    return (texts, ids.isEmpty ? nil : ids)
}

enum EmbedPrecision: String, ExpressibleByArgument, CaseIterable { case float32, int8, uint8, binary, ubinary }
enum IndexPrecisionOption: String, ExpressibleByArgument, CaseIterable { case fp32, fp16, int8, binary }
enum ScoreFunctionOption: String, ExpressibleByArgument, CaseIterable { case cos, dot }

struct Embed: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "embed",
        abstract: "Embed texts with a SentenceTransformer: one {\"embedding\": [...]} per line, in input order.",
        discussion: """
        --texts: JSON lines of strings or {"text": …} (a .jsonl name or --texts-format jsonl), else one text per line; \
        blank lines are skipped. --precision as sentence-transformers' quantize_embeddings: int8/uint8 with ranges from \
        the embeddings themselves (at least two texts), binary/ubinary packed sign bits (8 dimensions per value).
        """)

    @Argument(help: "SentenceTransformer folder (modules.json), or a cetool bi-encoder artifact.")
    var model: String
    @Option(help: "Texts file; - for standard input.")
    var texts: String
    @Option(help: "lines or jsonl (default: jsonl for a .jsonl file name, else lines).")
    var textsFormat: DocumentsFormat?
    @Option(help: "float32, int8, uint8, binary or ubinary.")
    var precision: EmbedPrecision = .float32
    @Option(help: "A prompt name of config_sentence_transformers.json (e.g. query).")
    var promptName: String?
    @Option(help: "A prompt prepended to every text (overrides --prompt-name).")
    var prompt: String?
    @Flag(help: "L2-normalize the embeddings (normalize_embeddings=True).")
    var normalizeEmbeddings = false
    @OptionGroup var options: BiEncoderOptions

    func run() throws {
        let input = try readTexts(texts, what: "--texts", format: textsFormat).texts
        let m = try options.load(model)
        let e = try m.encode(input, batchSize: options.batchSize, promptName: promptName, prompt: prompt,
                             normalizeEmbeddings: normalizeEmbeddings, showProgressBar: options.showProgress)
        let rows: [String]
        switch precision {
        case .float32: rows = (0..<e.count).map { e.row($0).map { JSONWriter.number($0) }.joined(separator: ",") }
        case .int8: rows = chunk(try QuantizeEmbeddings.int8(e).map { String($0) }, e.count)
        case .uint8: rows = chunk(try QuantizeEmbeddings.uint8(e).map { String($0) }, e.count)
        case .binary: rows = chunk(QuantizeEmbeddings.binary(e).map { String($0) }, e.count)
        case .ubinary: rows = chunk(QuantizeEmbeddings.ubinary(e).map { String($0) }, e.count)
        }
        write(rows.map { "{\"embedding\":[" + $0 + "]}\n" }.joined())
    }

    func chunk(_ values: [String], _ count: Int) -> [String] {
        let w = values.count / max(count, 1)
        return (0..<count).map { values[($0 * w)..<(($0 + 1) * w)].joined(separator: ",") }
    }
}

struct Search: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "search",
        abstract: "Top-k corpus hits per query: util.semantic_search over a corpus file, or over an index (cetool index build).",
        discussion: """
        cetool search MODEL --corpus FILE --queries FILE --top-k K [--score-function cos|dot]
        cetool search IDX --model MODEL --queries FILE --top-k K [--rescore-multiplier M]
        cetool search IDX --model MODEL --query-embeddings FILE --top-k K
        Prints one {"hits": [{"corpus_id": …, "score": …}, …]} per query, best first. With an index, corpus_id is the \
        index's corpus id when it records them, else the 0-based row. The index must come from the same model \
        (its model_sha256), which embeds the queries. --query-embeddings (a .npy of float32 [n, d], or raw float32 rows) \
        gives queries embedded elsewhere: the model's configs and identity are read, its weights are not loaded.
        """)

    @Argument(help: "A SentenceTransformer folder, or an index file (.ceidx) built by `cetool index build`.")
    var source: String
    @Option(help: "With an index: the model that built it (it embeds the queries).")
    var model: String?
    @Option(help: "With a model: the corpus texts file.")
    var corpus: String?
    @Option(help: "Queries file; - for standard input.")
    var queries: String?
    @Option(help: "With an index, instead of --queries: query embeddings by the index's model (.npy float32 [n, d], or raw float32).")
    var queryEmbeddings: String?
    @Option(name: .customLong("top-k"), parsing: .unconditional, help: "Hits per query, at least 1.")
    var topK: Int = 10
    @Option(help: "cos or dot (default: the model's similarity_fn_name).")
    var scoreFunction: ScoreFunctionOption?
    @Option(parsing: .unconditional, help: "Queries scored at once (query_chunk_size), at least 1.")
    var queryChunkSize: Int = 100
    @Option(parsing: .unconditional, help: "Corpus rows scored at once (corpus_chunk_size), at least 1.")
    var corpusChunkSize: Int = 500_000
    @Option(parsing: .unconditional, help: "int8/binary index: rows rescored per hit (default: the index's).")
    var rescoreMultiplier: Int?
    @Option(help: "A prompt name for the queries (e.g. query).")
    var promptName: String?
    @OptionGroup var options: BiEncoderOptions

    var isIndex: Bool {
        var isDir: ObjCBool = false
        return FileManager.default.fileExists(atPath: source, isDirectory: &isDir) && !isDir.boolValue
    }

    func validate() throws {
        try requireAtLeast(1, topK, "--top-k")
        try requireAtLeast(1, queryChunkSize, "--query-chunk-size")
        try requireAtLeast(1, corpusChunkSize, "--corpus-chunk-size")
        try requireAtLeast(1, rescoreMultiplier, "--rescore-multiplier")
        guard (queries == nil) != (queryEmbeddings == nil) else { throw ValidationError("give one of --queries and --query-embeddings") }
        if isIndex {
            guard model != nil else { throw ValidationError("search IDX needs --model MODEL, the model that built the index (it embeds the queries)") }
            guard corpus == nil else { throw ValidationError("--corpus is for search MODEL; an index holds its corpus") }
            guard scoreFunction == nil else { throw ValidationError("--score-function: an index scores with the function it was built with") }
        } else {
            guard corpus != nil else { throw ValidationError("search MODEL needs --corpus FILE (or give an index file built by `cetool index build`)") }
            guard model == nil else { throw ValidationError("--model is for search IDX; the first argument is already the model") }
            guard rescoreMultiplier == nil else { throw ValidationError("--rescore-multiplier applies to an int8 or binary index") }
            guard queryEmbeddings == nil else { throw ValidationError("--query-embeddings is for search IDX (an index built by `cetool index build`)") }
        }
    }

    func run() throws {
        if let queryEmbeddings {
            let facts = try IndexModel(folder: try resolveModelPath(model!))
            let index = try Retrieval.openIndex(source, for: facts)
            let e = try EmbeddingsFile.load(path: queryEmbeddings, dimension: facts.dimension)
            let hits = try index.search(queries: e, topK: topK, rescoreMultiplier: rescoreMultiplier)
            let ids = index.header.corpusIDs
            return printHits(hits) { row in ids.map { JSONWriter.quote($0[row]) } ?? String(row) }
        }
        let q = try readTexts(queries!, what: "--queries").texts
        if isIndex {
            let m = try options.load(model!)
            let index = try Retrieval.openIndex(source, for: m)
            let e = try m.encode(q, batchSize: options.batchSize, promptName: promptName)
            let hits = try index.search(queries: e, topK: topK, rescoreMultiplier: rescoreMultiplier)
            let ids = index.header.corpusIDs
            printHits(hits) { row in ids.map { JSONWriter.quote($0[row]) } ?? String(row) }
        } else {
            let c = try readTexts(corpus!, what: "--corpus")
            let m = try options.load(source)
            let fn = try scoreFunction.map { ScoreFunction(rawValue: $0.rawValue)! } ?? Retrieval.scoreFunction(of: m)
            let qe = try m.encode(q, batchSize: options.batchSize, promptName: promptName)
            let ce = try m.encode(c.texts, batchSize: options.batchSize, showProgressBar: options.showProgress)
            let hits = try SemanticSearch.search(queries: qe, corpus: ce, topK: topK, scoreFunction: fn,
                                                 queryChunkSize: queryChunkSize, corpusChunkSize: corpusChunkSize)
            printHits(hits) { row in c.ids.map { JSONWriter.quote($0[row]) } ?? String(row) }
        }
    }

    func printHits(_ hits: [[SearchHit]], id: (Int) -> String) {
        write(hits.map { row in
            "{\"hits\":[" + row.map { "{\"corpus_id\":\(id($0.corpusID)),\"score\":\(JSONWriter.number($0.score))}" }.joined(separator: ",") + "]}\n"
        }.joined())
    }
}

struct Index: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "index", abstract: "Embedding indexes (formats/index.md).",
                                                    subcommands: [IndexBuild.self])
}

struct IndexBuild: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "build",
        abstract: "Embed a corpus into an mmapped index file that records the model's identity and the corpus ids.",
        discussion: """
        --corpus: one text per line, or JSON lines of strings or {"text": …, "id": …} (.jsonl). int8 stores \
        quantize_embeddings' int8 with per-dimension ranges from the corpus; binary the packed sign bits; both are \
        searched in two stages, the best rescore-multiplier × k rows rescored with the float query.
        --embeddings instead of --corpus: rows embedded elsewhere by MODEL (a .npy of float32 [n, d], or raw float32 \
        rows), checked for the model's width, finite values and unit norm when the model normalizes; the index records \
        MODEL's identity, and MODEL's weights are not loaded. With both, --corpus only gives the rows' ids (one text per row).
        """)

    @Argument(help: "SentenceTransformer folder (modules.json), or a cetool bi-encoder artifact.")
    var model: String
    @Option(help: "Corpus texts file.")
    var corpus: String?
    @Option(help: "Embeddings of the corpus by MODEL instead of texts: .npy float32 [n, d], or raw float32 rows.")
    var embeddings: String?
    @Option(help: "lines or jsonl (default: jsonl for a .jsonl file name, else lines).")
    var corpusFormat: DocumentsFormat?
    @Option(help: "The index file to write.")
    var output: String
    @Option(help: "fp32, fp16, int8 or binary.")
    var precision: IndexPrecisionOption = .fp32
    @Option(parsing: .unconditional, help: "int8/binary: rows rescored per hit by default, at least 1.")
    var rescoreMultiplier: Int = EmbeddingIndexLayout.defaultRescoreMultiplier
    @Flag(help: "Replace an existing index file.")
    var force = false
    @OptionGroup var options: BiEncoderOptions

    func validate() throws {
        try requireAtLeast(1, rescoreMultiplier, "--rescore-multiplier")
        guard corpus != nil || embeddings != nil else { throw ValidationError("give --corpus FILE (texts) or --embeddings FILE") }
    }

    func run() throws {
        var isDir: ObjCBool = false
        if FileManager.default.fileExists(atPath: output, isDirectory: &isDir), isDir.boolValue {
            throw CLIError.refused("--output \(output) is a folder; an index is a file")
        }
        let c = try corpus.map { try readTexts($0, what: "--corpus", format: corpusFormat) }
        let p = IndexPrecision(rawValue: precision.rawValue)!
        let bytes: [UInt8], dimension: Int
        if let embeddings {
            let facts = try IndexModel(folder: try resolveModelPath(model))
            bytes = try Retrieval.buildIndex(embeddingsFile: embeddings, model: facts, corpusIDs: c?.ids,
                                             precision: p, rescoreMultiplier: rescoreMultiplier)
            dimension = facts.dimension
        } else {
            let m = try options.load(model)
            bytes = try Retrieval.buildIndex(model: m, corpus: c!.texts, corpusIDs: c!.ids, precision: p, batchSize: options.batchSize,
                                             rescoreMultiplier: rescoreMultiplier, showProgressBar: options.showProgress)
            dimension = m.dimension
        }
        let rows = try bytes.withUnsafeBytes { try EmbeddingIndex.validate($0).0.count }
        if let c, c.texts.count != rows { throw CLIError.refused("--corpus holds \(c.texts.count) texts, --embeddings \(rows) rows: one text per row") }
        try createParents(of: output)
        try EmbeddingIndexWriter.write(bytes, to: output, force: force)
        StandardStreams.writeError("\(output): \(rows) rows, \(dimension) dimensions, \(precision.rawValue), \(bytes.count) bytes\n")
    }
}

struct RetrieveRerank: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "retrieve-rerank",
        abstract: "Retrieve & Re-Rank: a bi-encoder retrieves the best --rerank-k texts, a cross-encoder re-scores them; the best --top-k by its score.",
        discussion: """
        --corpus is a texts file, or an index built by `cetool index build` from the same bi-encoder; with an index, \
        --corpus-texts gives the texts it was built from (in order), which the cross-encoder reads. Prints JSON: each hit's \
        corpus_id, bi_score and bi_rank (retrieval), cross_score (the cross-encoder's activation) and text.
        """)

    @Option(help: "SentenceTransformer folder (the retriever).")
    var biEncoder: String
    @Option(help: "Cross-encoder folder or artifact (the re-ranker).")
    var crossEncoder: String
    @Option(help: "Corpus: a texts file or an index file.")
    var corpus: String
    @Option(help: "With an index corpus: the texts it was built from.")
    var corpusTexts: String?
    @Option(help: "The query.")
    var query: String
    @Option(name: .customLong("top-k"), parsing: .unconditional, help: "Hits printed, at least 1.")
    var topK: Int = 3
    @Option(name: .customLong("rerank-k"), parsing: .unconditional, help: "Hits retrieved and re-scored, at least 1.")
    var rerankK: Int = 32
    @Option(help: "cross (re-ranked, default) or bi (the retrieval order, each hit with its cross-encoder score).")
    var sortBy: SortBy = .cross
    @Option(help: "json or table.")
    var format: Rank.Format = .json
    @OptionGroup var options: BiEncoderOptions

    enum SortBy: String, ExpressibleByArgument, CaseIterable { case cross, bi }

    func validate() throws {
        try requireAtLeast(1, topK, "--top-k")
        try requireAtLeast(1, rerankK, "--rerank-k")
        if topK > rerankK { throw ValidationError("--top-k \(topK) exceeds --rerank-k \(rerankK): only re-ranked hits are printed") }
    }

    func run() throws {
        let bi = try options.load(biEncoder)
        let corpusSource: Retrieval.Corpus
        if let corpusTexts {
            let index = try Retrieval.openIndex(corpus, for: bi)
            corpusSource = .index(index, texts: try readTexts(corpusTexts, what: "--corpus-texts").texts)
        } else {
            if (try? EmbeddingIndex(path: corpus)) != nil { throw CLIError.refused("--corpus \(corpus) is an index: give --corpus-texts, the texts it was built from") }
            corpusSource = .texts(try readTexts(corpus, what: "--corpus").texts)
        }
        let ce = try CrossEncoder(modelDirectory: URL(fileURLWithPath: try resolveModelPath(crossEncoder)), threads: options.threads)
        _ = Unmanaged.passRetained(ce)
        var hits = try Retrieval.retrieveRerank(query: query, biEncoder: bi, crossEncoder: ce, corpus: corpusSource,
                                                topK: sortBy == .cross ? topK : rerankK, rerankK: rerankK, batchSize: options.batchSize)
        if sortBy == .bi { hits = Array(hits.sorted { $0.biRank < $1.biRank }.prefix(topK)) }
        if format == .table {
            let rows = hits.enumerated().map { i, h -> [String] in
                let t = h.text.replacingOccurrences(of: "\n", with: " ")
                return [String(i + 1), h.corpusID ?? String(h.row), String(h.biRank), String(format: "%.4f", h.biScore),
                        String(format: "%.6f", h.crossScore), t.count > 100 ? String(t.prefix(97)) + "..." : t]
            }
            return write(formatTable(header: ["rank", "corpus_id", "bi_rank", "bi_score", "cross_score", "text"], rows: rows, right: [0, 2, 3, 4]))
        }
        let items = hits.map { h in
            "{\"corpus_id\":\(h.corpusID.map(JSONWriter.quote) ?? String(h.row)),\"bi_score\":\(JSONWriter.number(h.biScore)),\"bi_rank\":\(h.biRank),"
                + "\"cross_score\":\(JSONWriter.number(h.crossScore)),\"text\":\(JSONWriter.quote(h.text))}"
        }
        write("{\"query\":\(JSONWriter.quote(query)),\"hits\":[" + items.joined(separator: ",\n ") + "]}\n")
    }
}
