/// The HdrHistogram percentile distribution text (`.hgrm`), byte-compatible with Java's
/// `outputPercentileDistribution(out, 5, scale)`, which the HdrHistogram plotters read.
public enum HistogramLog {
    /// Renders `histogram` with values divided by `scale` (1e6 turns ns into the milliseconds
    /// the plotters label their axis with).
    public static func render(_ histogram: HdrHistogram, scale: Double = 1e6, ticksPerHalfDistance: Int = 5) -> String {
        let digits = histogram.significantDigits
        var out = Format.pad("Value", 12) + " " + Format.pad("Percentile", 14) + " " + Format.pad("TotalCount", 10) + " "
            + Format.pad("1/(1-Percentile)", 14) + "\n\n"
        for row in histogram.percentileDistribution(ticksPerHalfDistance: ticksPerHalfDistance) {
            let fraction = row.percentile / 100
            out += Format.pad(Format.fixed(Double(row.value) / scale, digits), 12) + " "
                + Format.fixed(fraction, 12) + " " + Format.pad(String(row.cumulativeCount), 10)
            if row.percentile != 100 {
                out += " " + Format.pad(Format.fixed(1 / (1 - fraction), 2), 14)
            }
            out += "\n"
        }
        let mean = histogram.mean / scale
        let deviation = histogram.standardDeviation / scale
        out += "#[Mean    = " + Format.pad(Format.fixed(mean, digits), 12) + ", StdDeviation   = "
            + Format.pad(Format.fixed(deviation, digits), 12) + "]\n"
        out += "#[Max     = " + Format.pad(Format.fixed(Double(histogram.max) / scale, digits), 12) + ", Total count    = "
            + Format.pad(String(histogram.totalCount), 12) + "]\n"
        out += "#[Buckets = " + Format.pad(String(histogram.bucketCount), 12) + ", SubBuckets     = "
            + Format.pad(String(histogram.subBucketCount), 12) + "]\n"
        return out
    }
}
