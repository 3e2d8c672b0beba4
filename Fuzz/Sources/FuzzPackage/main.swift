import FuzzEntries

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOne(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    FuzzEntries.package(UnsafeRawBufferPointer(start: data, count: size))
    return 0
}

/// SwiftPM links an executable with `--defsym main=<Target>_main`; libFuzzer's driver takes over here.
@_cdecl("FuzzPackage_main")
public func fuzzMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>) -> CInt {
    runLibFuzzer(argc, argv, fuzzOne)
}
