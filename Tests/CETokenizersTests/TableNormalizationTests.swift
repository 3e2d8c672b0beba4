@testable import CETokenizers
import Foundation
import XCTest

/// TableNormalization (NormalizationTables from Unicode 14 data) against Foundation's String normalization, which
/// this test target links, on scalars assigned by Unicode 14 and on sequences that reorder and compose.
final class TableNormalizationTests: XCTestCase {
    typealias Form = UnicodeNormalization.Form

    func foundation(_ form: Form, _ s: String) -> [Unicode.Scalar] {
        switch form {
        case .nfd: return Array(s.decomposedStringWithCanonicalMapping.unicodeScalars)
        case .nfc: return Array(s.precomposedStringWithCanonicalMapping.unicodeScalars)
        case .nfkd: return Array(s.decomposedStringWithCompatibilityMapping.unicodeScalars)
        case .nfkc: return Array(s.precomposedStringWithCompatibilityMapping.unicodeScalars)
        }
    }

    func testEveryThirdScalarOfUnicode14MatchesFoundation() {
        var checked = 0
        for v in stride(from: UInt32(0xA0), to: 0x30000, by: 3) {
            guard let s = Unicode.Scalar(v), let age = s.properties.age, age.major < 14 || (age.major == 14 && age.minor == 0)
            else { continue }
            for form in [Form.nfd, .nfc, .nfkd, .nfkc] {
                XCTAssertEqual(TableNormalization.apply(form, [s]), foundation(form, String(s)), "U+\(String(v, radix: 16)) \(form)")
            }
            checked += 1
        }
        XCTAssertGreaterThan(checked, 40_000)
    }

    func testSequencesReorderAndComposeAsFoundation() {
        let texts = ["e\u{301}\u{323}", "\u{1E0A}\u{323}", "\u{1100}\u{1161}\u{11A8}", "\u{D55C}\u{AD6D}\u{C5B4}", "ﬁ①Å",
                     "k\u{323}\u{301}", "Tiê\u{301}ng Viê\u{323}t", "A\u{30A}\u{327}\u{301}", "\u{301}a", "\u{FB2C}\u{5BC}",
                     "\u{1D15E}\u{1D165}", "\u{0F73}\u{0F71}", "\u{3300}"]
        for t in texts {
            for form in [Form.nfd, .nfc, .nfkd, .nfkc] {
                XCTAssertEqual(TableNormalization.apply(form, Array(t.unicodeScalars)), foundation(form, t), "\(t) \(form)")
            }
        }
    }

    /// Halfwidth katakana KA + voiced mark: NFKC is U+30AC, as tokenizers 0.23.3 and Python's unicodedata give;
    /// Foundation on Linux leaves U+30AB U+3099 uncomposed.
    func testHalfwidthVoicedKatakanaComposesAsTheReference() {
        XCTAssertEqual(TableNormalization.apply(.nfkc, Array("\u{FF76}\u{FF9E}".unicodeScalars)), ["\u{30AC}"])
    }
}
