#if canImport(Glibc)
import Glibc
#endif

/// A minimal line chart rendered as inline SVG: axes, grid, tick labels, legend, polylines.
/// Only generic font families are named, so the page needs nothing from outside.
struct SVGChart {
    struct Series {
        var name: String
        var color: String
        var points: [(x: Double, y: Double)]
        var dashed = false
    }

    var title: String
    var xLabel: String
    var yLabel: String
    var series: [Series]
    /// Fixed x ticks (position, label); nil picks round numbers.
    var xTicks: [(Double, String)]?
    var xRange: ClosedRange<Double>?
    var width = 1000.0
    var height = 420.0

    func render() -> String {
        let left = 80.0, right = 20.0, top = 40.0, bottom = 60.0
        let plotWidth = width - left - right, plotHeight = height - top - bottom
        let all = series.flatMap(\.points)
        let xs = xRange ?? ((all.map(\.x).min() ?? 0)...max((all.map(\.x).max() ?? 1), (all.map(\.x).min() ?? 0) + 1e-9))
        let yMaxRaw = max(all.map(\.y).max() ?? 1, 1e-9)
        let yStep = Self.niceStep(yMaxRaw / 5)
        let yMax = (yMaxRaw / yStep).rounded(.up) * yStep
        func px(_ x: Double) -> Double { left + (x - xs.lowerBound) / (xs.upperBound - xs.lowerBound) * plotWidth }
        func py(_ y: Double) -> Double { top + plotHeight - y / yMax * plotHeight }
        func n(_ v: Double) -> String { Format.fixed(v, 1) }

        // No xmlns: inline SVG in HTML needs none, and the page then names no URL at all.
        var svg = "<svg width=\"\(Int(width))\" height=\"\(Int(height))\" "
            + "viewBox=\"0 0 \(Int(width)) \(Int(height))\" font-family=\"sans-serif\" font-size=\"12\" role=\"img\" "
            + "aria-label=\"\(Format.html(title))\">\n"
        svg += "<rect x=\"0\" y=\"0\" width=\"\(Int(width))\" height=\"\(Int(height))\" fill=\"#ffffff\"/>\n"
        svg += "<text x=\"\(n(width / 2))\" y=\"22\" text-anchor=\"middle\" font-size=\"16\" font-weight=\"bold\">\(Format.html(title))</text>\n"
        // Y grid and labels.
        var y = 0.0
        while y <= yMax * (1 + 1e-9) {
            svg += "<line x1=\"\(n(left))\" y1=\"\(n(py(y)))\" x2=\"\(n(left + plotWidth))\" y2=\"\(n(py(y)))\" stroke=\"#e0e0e0\"/>\n"
            svg += "<text x=\"\(n(left - 6))\" y=\"\(n(py(y) + 4))\" text-anchor=\"end\">\(Self.label(y, step: yStep))</text>\n"
            y += yStep
        }
        // X ticks.
        let ticks = xTicks ?? {
            let step = Self.niceStep((xs.upperBound - xs.lowerBound) / 8)
            var values: [(Double, String)] = []
            var x = (xs.lowerBound / step).rounded(.up) * step
            while x <= xs.upperBound * (1 + 1e-9) + 1e-12 {
                values.append((x, Self.label(x, step: step)))
                x += step
            }
            return values
        }()
        for (x, text) in ticks where xs.contains(x) {
            svg += "<line x1=\"\(n(px(x)))\" y1=\"\(n(top))\" x2=\"\(n(px(x)))\" y2=\"\(n(top + plotHeight))\" stroke=\"#eeeeee\"/>\n"
            svg += "<text x=\"\(n(px(x)))\" y=\"\(n(top + plotHeight + 16))\" text-anchor=\"middle\">\(Format.html(text))</text>\n"
        }
        svg += "<rect x=\"\(n(left))\" y=\"\(n(top))\" width=\"\(n(plotWidth))\" height=\"\(n(plotHeight))\" fill=\"none\" stroke=\"#444444\"/>\n"
        svg += "<text x=\"\(n(left + plotWidth / 2))\" y=\"\(n(height - 14))\" text-anchor=\"middle\">\(Format.html(xLabel))</text>\n"
        svg += "<text x=\"16\" y=\"\(n(top + plotHeight / 2))\" text-anchor=\"middle\" transform=\"rotate(-90 16 \(n(top + plotHeight / 2)))\">\(Format.html(yLabel))</text>\n"
        // Lines.
        for s in series where !s.points.isEmpty {
            let points = s.points.map { "\(n(px($0.x))),\(n(py($0.y)))" }.joined(separator: " ")
            svg += "<polyline fill=\"none\" stroke=\"\(s.color)\" stroke-width=\"2\"\(s.dashed ? " stroke-dasharray=\"6 4\"" : "") points=\"\(points)\"/>\n"
        }
        // Legend.
        var legendY = top + 14
        for s in series {
            let x = left + 12
            svg += "<line x1=\"\(n(x))\" y1=\"\(n(legendY - 4))\" x2=\"\(n(x + 24))\" y2=\"\(n(legendY - 4))\" stroke=\"\(s.color)\" stroke-width=\"3\"\(s.dashed ? " stroke-dasharray=\"6 4\"" : "")/>\n"
            svg += "<text x=\"\(n(x + 30))\" y=\"\(n(legendY))\">\(Format.html(s.name))</text>\n"
            legendY += 16
        }
        svg += "</svg>\n"
        return svg
    }

    /// 1, 2 or 5 times a power of ten, at least `rough`.
    static func niceStep(_ rough: Double) -> Double {
        guard rough > 0 && rough.isFinite else { return 1 }
        let magnitude = pow(10, floor(log10(rough)))
        for factor in [1.0, 2.0, 5.0, 10.0] where factor * magnitude >= rough { return factor * magnitude }
        return 10 * magnitude
    }

    static func label(_ value: Double, step: Double) -> String {
        let decimals = step >= 1 ? 0 : Int(max(0, -floor(log10(step))))
        return Format.fixed(value, decimals)
    }
}
