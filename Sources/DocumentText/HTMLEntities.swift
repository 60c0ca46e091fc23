/// HTML character references: numeric ones and the common named ones.
enum HTMLEntities {
    /// Decodes the reference starting with `&` at `start`; an unknown or unterminated one is
    /// kept as a literal `&`. Returns the UTF-8 bytes and the index after the reference.
    static func decode(_ bytes: [UInt8], at start: Int) -> ([UInt8], Int) {
        let literal = ([UInt8(ascii: "&")], start + 1)
        // The longest reference handled is `&#x10FFFF;` / `&thetasym;`: ten bytes after `&`.
        var end = start + 1
        while end < bytes.count, end - start <= 12, bytes[end] != UInt8(ascii: ";") {
            guard bytes[end].isASCIILetter || (0x30...0x39).contains(bytes[end]) || bytes[end] == UInt8(ascii: "#") else {
                return literal
            }
            end += 1
        }
        guard end < bytes.count, bytes[end] == UInt8(ascii: ";"), end > start + 1 else { return literal }
        let name = String(decoding: bytes[(start + 1)..<end], as: UTF8.self)
        let scalar: Unicode.Scalar?
        if name.hasPrefix("#x") || name.hasPrefix("#X") {
            scalar = UInt32(name.dropFirst(2), radix: 16).map(numericScalar)
        } else if name.hasPrefix("#") {
            scalar = UInt32(name.dropFirst(), radix: 10).map(numericScalar)
        } else if let named = named[name] {
            return (Array(named.utf8), end + 1)
        } else {
            scalar = nil
        }
        guard let scalar else { return literal }
        return (Array(String(Character(scalar)).utf8), end + 1)
    }

    /// HTML's rules: NUL, surrogates and out-of-range values become U+FFFD; 0x80–0x9F are
    /// read as Windows-1252, as browsers do.
    private static func numericScalar(_ value: UInt32) -> Unicode.Scalar {
        let replacement: Unicode.Scalar = "\u{FFFD}"
        if let mapped = windows1252[value] { return mapped }
        guard value != 0, let scalar = Unicode.Scalar(value) else { return replacement }
        return scalar
    }

    private static let windows1252: [UInt32: Unicode.Scalar] = [
        0x80: "€", 0x82: "‚", 0x84: "„", 0x85: "…", 0x8A: "Š", 0x8C: "Œ", 0x8E: "Ž", 0x91: "‘",
        0x92: "’", 0x93: "“", 0x94: "”", 0x95: "•", 0x96: "–", 0x97: "—", 0x98: "˜", 0x99: "™",
        0x9A: "š", 0x9C: "œ", 0x9E: "ž", 0x9F: "Ÿ",
    ]

    private static let named: [String: String] = [
        "amp": "&", "lt": "<", "gt": ">", "quot": "\"", "apos": "'", "nbsp": " ", "ensp": " ",
        "emsp": " ", "thinsp": " ", "shy": "", "zwj": "", "zwnj": "", "lrm": "", "rlm": "",
        "copy": "©", "reg": "®", "trade": "™", "hellip": "…", "mdash": "—", "ndash": "–",
        "lsquo": "‘", "rsquo": "’", "sbquo": "‚", "ldquo": "“", "rdquo": "”", "bdquo": "„",
        "laquo": "«", "raquo": "»", "lsaquo": "‹", "rsaquo": "›", "bull": "•", "middot": "·",
        "deg": "°", "plusmn": "±", "times": "×", "divide": "÷", "minus": "−", "le": "≤", "ge": "≥",
        "ne": "≠", "asymp": "≈", "infin": "∞", "frac12": "½", "frac14": "¼", "frac34": "¾",
        "sup1": "¹", "sup2": "²", "sup3": "³", "micro": "µ", "euro": "€", "pound": "£", "yen": "¥",
        "cent": "¢", "curren": "¤", "sect": "§", "para": "¶", "dagger": "†", "Dagger": "‡",
        "prime": "′", "Prime": "″", "larr": "←", "rarr": "→", "uarr": "↑", "darr": "↓", "harr": "↔",
        "iexcl": "¡", "iquest": "¿", "ordf": "ª", "ordm": "º", "not": "¬", "macr": "¯", "acute": "´",
        "cedil": "¸", "uml": "¨", "szlig": "ß", "aelig": "æ", "AElig": "Æ", "oelig": "œ", "OElig": "Œ",
        "oslash": "ø", "Oslash": "Ø", "aring": "å", "Aring": "Å", "ccedil": "ç", "Ccedil": "Ç",
        "ntilde": "ñ", "Ntilde": "Ñ", "eth": "ð", "thorn": "þ", "alpha": "α", "beta": "β",
        "gamma": "γ", "delta": "δ", "pi": "π", "sigma": "σ", "mu": "μ", "lambda": "λ", "omega": "ω",
    ].merging(accentedLetters) { first, _ in first }

    /// `&eacute;`, `&Uuml;`…: the vowels with the five common accents.
    private static let accentedLetters: [String: String] = [
        "aacute": "á", "Aacute": "Á", "agrave": "à", "Agrave": "À", "acirc": "â", "Acirc": "Â",
        "auml": "ä", "Auml": "Ä", "atilde": "ã", "Atilde": "Ã", "eacute": "é", "Eacute": "É",
        "egrave": "è", "Egrave": "È", "ecirc": "ê", "Ecirc": "Ê", "euml": "ë", "Euml": "Ë",
        "iacute": "í", "Iacute": "Í", "igrave": "ì", "Igrave": "Ì", "icirc": "î", "Icirc": "Î",
        "iuml": "ï", "Iuml": "Ï", "itilde": "ĩ", "Itilde": "Ĩ", "oacute": "ó", "Oacute": "Ó",
        "ograve": "ò", "Ograve": "Ò", "ocirc": "ô", "Ocirc": "Ô", "ouml": "ö", "Ouml": "Ö",
        "otilde": "õ", "Otilde": "Õ", "uacute": "ú", "Uacute": "Ú", "ugrave": "ù", "Ugrave": "Ù",
        "ucirc": "û", "Ucirc": "Û", "uuml": "ü", "Uuml": "Ü", "utilde": "ũ", "Utilde": "Ũ",
        "yacute": "ý", "Yacute": "Ý", "ycirc": "ŷ", "Ycirc": "Ŷ", "yuml": "ÿ", "Yuml": "Ÿ",
    ]
}
