import FuzzEntries

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOne(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    FuzzEntries.sentencePiece(UnsafeRawBufferPointer(start: data, count: size))
    return 0
}

/// SwiftPM links an executable with `--defsym main=<Target>_main`; libFuzzer's driver takes over here.
@_cdecl("FuzzSentencePiece_main")
public func fuzzMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>) -> CInt {
    runLibFuzzer(argc, argv, fuzzOne)
}
