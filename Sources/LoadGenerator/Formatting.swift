/// printf-like fixed-point formatting without Foundation (the library stays Foundation-free).
enum Format {
    /// `value` with exactly `decimals` digits after the point ("%.{decimals}f").
    static func fixed(_ value: Double, _ decimals: Int) -> String {
        guard value.isFinite else { return value.isNaN ? "nan" : (value < 0 ? "-inf" : "inf") }
        var scale = 1.0
        for _ in 0..<decimals { scale *= 10 }
        let negative = value < 0
        let scaled = (abs(value) * scale).rounded()
        guard scaled < 9.0e18 else { return "\(value)" }
        let integer = UInt64(scaled)
        let divisor = UInt64(scale)
        var text = String(integer / divisor)
        if decimals > 0 {
            let fraction = String(integer % divisor)
            text += "." + String(repeating: "0", count: decimals - fraction.count) + fraction
        }
        return (negative && integer != 0 ? "-" : "") + text
    }

    /// Right-aligns `text` in `width` columns ("%{width}s").
    static func pad(_ text: String, _ width: Int) -> String {
        text.count >= width ? text : String(repeating: " ", count: width - text.count) + text
    }

    /// Left-aligns `text` in `width` columns ("%-{width}s").
    static func padRight(_ text: String, _ width: Int) -> String {
        text.count >= width ? text : text + String(repeating: " ", count: width - text.count)
    }

    /// A JSON string literal.
    static func jsonString(_ text: String) -> String {
        var out = "\""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            default:
                if scalar.value < 0x20 {
                    let hex = String(scalar.value, radix: 16)
                    out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
                } else {
                    out.unicodeScalars.append(scalar)
                }
            }
        }
        return out + "\""
    }

    /// A JSON number (finite; non-finite values become null).
    static func jsonNumber(_ value: Double) -> String {
        guard value.isFinite else { return "null" }
        if value == value.rounded() && abs(value) < 1e15 { return String(Int64(value)) }
        return "\(value)"
    }

    /// Text escaped for HTML and XML content and attributes.
    static func html(_ text: String) -> String {
        var out = ""
        for character in text {
            switch character {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            case "'": out += "&#39;"
            default: out.append(character)
            }
        }
        return out
    }
}

func formatRate(_ rate: Double) -> String {
    rate == rate.rounded() ? String(Int(rate)) : String(format2(rate))
}

func format2(_ value: Double) -> String {
    let scaled = (value * 100).rounded() / 100
    return "\(scaled)"
}

func percent(_ share: Double) -> String {
    let value = (share * 10000).rounded() / 100
    return "\(value)%"
}

/// 1234 -> "1.23us", 2_500_000 -> "2.50ms".
public func formatNanoseconds(_ value: UInt64) -> String {
    let v = Double(value)
    func fixed(_ x: Double) -> String {
        let scaled = (x * 100).rounded() / 100
        var text = "\(scaled)"
        if let dot = text.firstIndex(of: ".") {
            let decimals = text.distance(from: dot, to: text.endIndex) - 1
            if decimals < 2 { text += String(repeating: "0", count: 2 - decimals) }
        }
        return text
    }
    if v < 1_000 { return "\(value)ns" }
    if v < 1_000_000 { return fixed(v / 1e3) + "us" }
    if v < 1_000_000_000 { return fixed(v / 1e6) + "ms" }
    return fixed(v / 1e9) + "s"
}
