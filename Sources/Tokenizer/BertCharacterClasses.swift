/// The character classes of HuggingFace's `BasicTokenizer`, on Unicode scalars
/// (Python iterates strings by code point, so scalars, not `Character`s, are the unit).
public enum BertCharacterClasses {
    /// `_is_whitespace`: space, tab, newline, carriage return, or category Zs.
    static func isWhitespace(_ scalar: Unicode.Scalar) -> Bool {
        switch scalar.value {
        case 0x20, 0x09, 0x0A, 0x0D: return true
        default: return scalar.properties.generalCategory == .spaceSeparator
        }
    }

    /// Separators that Python's `str.split()` honours after `_clean_text` has run:
    /// the space it wrote for every whitespace, plus LINE and PARAGRAPH SEPARATOR,
    /// which are neither Zs nor control and so survive cleaning.
    static func isSplitSeparator(_ scalar: Unicode.Scalar) -> Bool {
        scalar.value == 0x2028 || scalar.value == 0x2029 || isWhitespace(scalar)
    }

    /// `_is_control`: any C* category except tab, newline and carriage return.
    static func isControl(_ scalar: Unicode.Scalar) -> Bool {
        switch scalar.value {
        case 0x09, 0x0A, 0x0D: return false
        default: break
        }
        switch scalar.properties.generalCategory {
        case .control, .format, .surrogate, .privateUse, .unassigned: return true
        default: return false
        }
    }

    /// `_is_punctuation`: all non-alphanumeric ASCII printables, or category P*.
    static func isPunctuation(_ scalar: Unicode.Scalar) -> Bool {
        switch scalar.value {
        case 33...47, 58...64, 91...96, 123...126: return true
        case 0..<128: return false
        default: break
        }
        switch scalar.properties.generalCategory {
        case .connectorPunctuation, .dashPunctuation, .openPunctuation, .closePunctuation,
             .initialPunctuation, .finalPunctuation, .otherPunctuation:
            return true
        default:
            return false
        }
    }

    /// `_is_chinese_char`: the CJK Unified Ideographs blocks (not Hangul or Kana).
    public static func isChinese(_ scalar: Unicode.Scalar) -> Bool {
        switch scalar.value {
        case 0x4E00...0x9FFF, 0x3400...0x4DBF, 0x20000...0x2A6DF, 0x2A700...0x2B73F,
             0x2B740...0x2B81F, 0x2B820...0x2CEAF, 0xF900...0xFAFF, 0x2F800...0x2FA1F:
            return true
        default:
            return false
        }
    }

    /// Scalars `_clean_text` drops entirely.
    static func isRemovedByCleaning(_ scalar: Unicode.Scalar) -> Bool {
        scalar.value == 0 || scalar.value == 0xFFFD || isControl(scalar)
    }
}
