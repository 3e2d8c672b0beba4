import ArgumentParser
import CEArtifact
import CECore
#if canImport(FoundationEssentials)
import FoundationEssentials
import Glibc
#else
import Foundation
#endif

struct Package: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "package",
        abstract: "Pack a model folder into one deterministic tar.gz with a manifest, and its .sha256 beside it.",
        discussion: """
        Writes <output>/<ORG>--<NAME>.tar.gz: first the manifest <ORG>--<NAME>.cetool-package.json (name, every file's \
        size and sha256), then the folder's files under <ORG>--<NAME>/, sorted, with fixed mtime/uid/gid/modes and gzip \
        without a timestamp, so the same folder gives the same bytes; and <ORG>--<NAME>.tar.gz.sha256 (sha256sum format). \
        See formats/package.md. Existing outputs are replaced only with --force.
        """)

    @Argument(help: "The model folder (save-pretrained output, cetool artifact, or any folder of regular files).")
    var modelDirectory: String

    @Option(help: "Package name, ORG/NAME or NAME (default: the folder's name).")
    var name: String?

    @Option(help: "Folder the archive and its checksum go to.")
    var output: String = "."

    @Flag(help: "Replace existing outputs.")
    var force = false

    @Flag(help: "Print the summary as JSON.")
    var json = false

    func run() throws {
        StagedOutput.removeStagingOnSignals()
        let dir = URL(fileURLWithPath: modelDirectory)
        let c = try ModelPackage.create(from: dir, name: name ?? dir.standardizedFileURL.lastPathComponent,
                                        output: URL(fileURLWithPath: output), force: force)
        if json {
            write(JSONWriter.write(.object([
                ("archive", .string(c.archive.path)), ("sha256", .string(c.sha256)), ("size", .int(Int64(c.size))),
                ("checksum_file", .string(c.checksumFile.path)), ("name", .string(c.manifest.name)),
                ("files", .int(Int64(c.manifest.files.count))), ("unpacked_size", .int(Int64(c.manifest.totalSize))),
            ])) + "\n")
        } else {
            write(String(format: "%@: %d files, %.1f MB unpacked, %.1f MB packed\nsha256 %@ (%@)\n", c.archive.path, c.manifest.files.count,
                         Double(c.manifest.totalSize) / 1e6, Double(c.size) / 1e6, c.sha256, c.checksumFile.lastPathComponent))
        }
    }
}

struct Install: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "install",
        abstract: "Verify a package and unpack it into a folder, all or nothing.",
        discussion: """
        Checks the archive's sha256 (--sha256, else the .sha256 beside it), then the manifest before anything lands; \
        refuses absolute or '..' paths, links, devices, fifos, setuid/setgid/sticky bits, unlisted, missing or altered \
        files and sizes over the caps; unpacks into a staging folder and renames it into <into>/<ORG>--<NAME>. \
        Installing the same package again changes nothing; a different one needs --force. See formats/package.md.
        """)

    @Argument(help: "The package archive (.tar.gz).")
    var archive: String

    @Option(help: "Folder to install into (created when missing).")
    var into: String = "."

    @Option(help: "Expected sha256 of the archive (default: the .sha256 file beside it).")
    var sha256: String?

    @Flag(help: "Refuse an archive without a checksum to check.")
    var requireChecksum = false

    @Option(help: "Cap on the unpacked size in bytes.")
    var maxSize: Int = ModelPackage.Limits().maxTotalSize

    @Option(help: "Cap on the number of files.")
    var maxFiles: Int = ModelPackage.Limits().maxFiles

    @OptionGroup var replace: ReplaceOptions

    @Flag(help: "Print the summary as JSON: {\"outcome\": installed|replaced|unchanged, \"path\"}.")
    var json = false

    func run() throws {
        var limits = ModelPackage.Limits()
        limits.maxTotalSize = maxSize
        limits.maxFiles = maxFiles
        let intoURL = URL(fileURLWithPath: into)
        // The folder's name is the package's: install checks that --replace names <into>/<ORG>--<NAME>.
        StagedOutput.removeStagingOnSignals()
        let r = try ModelPackage.install(archive: URL(fileURLWithPath: archive), into: intoURL, expectedSHA256: sha256,
                                         requireChecksum: requireChecksum, force: replace.force,
                                         replacing: replace.replacePath.map { URL(fileURLWithPath: $0) }, limits: limits)
        let (outcome, url): (String, URL)
        switch r {
        case .installed(let u): (outcome, url) = ("installed", u)
        case .replaced(let u): (outcome, url) = ("replaced", u)
        case .unchanged(let u): (outcome, url) = ("unchanged", u)
        }
        if json {
            write(JSONWriter.write(.object([("outcome", .string(outcome)), ("path", .string(url.path))])) + "\n")
        } else if outcome == "unchanged" {
            write("\(url.path) is already installed with the same content; nothing changed\n")
        } else {
            write("\(outcome) \(url.path)\n")
        }
    }
}

struct Push: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "push",
        abstract: "Put a model folder into a local hub folder with the HuggingFace cache layout.",
        discussion: """
        Writes <hub-dir>/models--ORG--NAME/{blobs,snapshots/<commit>,refs/<revision>} so that sentence-transformers with \
        HF_HUB_OFFLINE=1 and HF_HUB_CACHE=<hub-dir> loads ORG/NAME, and so does cetool (HF_HUB_CACHE=<hub-dir> \
        cetool predict ORG/NAME …). Push a HuggingFace folder (`cetool save-pretrained` output, fp32/fp16/bf16). \
        A cetool artifact (e.g. int8) is refused: no HuggingFace library reads it; --cetool-only pushes it for cetool \
        alone. The commit id is derived from the content. An existing revision is never overwritten; pushing the same \
        content again changes nothing. See formats/package.md.
        """)

    @Argument(help: "The model folder (save-pretrained output).")
    var modelDirectory: String

    @Option(help: "The hub cache folder (HF_HUB_CACHE).")
    var hubDir: String

    @Option(help: "Repository id, ORG/NAME.")
    var repoID: String

    @Option(help: "Revision (branch) name.")
    var revision: String = "main"

    @Flag(help: "Push a cetool artifact, which only cetool loads by id (sentence-transformers cannot).")
    var cetoolOnly = false

    @Flag(help: "Print the summary as JSON.")
    var json = false

    func run() throws {
        let r = try HubCache.push(URL(fileURLWithPath: modelDirectory), hub: URL(fileURLWithPath: hubDir), repoID: repoID,
                                  revision: revision, allowArtifact: cetoolOnly)
        let (outcome, commit): (String, String)
        switch r.outcome {
        case .pushed(let c): (outcome, commit) = ("pushed", c)
        case .unchanged(let c): (outcome, commit) = ("unchanged", c)
        }
        if json {
            write(JSONWriter.write(.object([
                ("outcome", .string(outcome)), ("repo_id", .string(repoID)), ("revision", .string(r.revision)), ("commit", .string(commit)),
                ("repo_folder", .string(r.repoFolder.path)), ("snapshot", .string(r.snapshot.path)),
                ("files", .int(Int64(r.files.count))), ("bytes", .int(Int64(r.files.reduce(0) { $0 + $1.size }))),
            ])) + "\n")
        } else if outcome == "pushed" {
            write("\(repoID)@\(r.revision) -> \(commit): \(r.files.count) files in \(r.repoFolder.path)\n")
        } else {
            write("\(repoID)@\(r.revision) already is \(commit); nothing changed\n")
        }
    }
}
