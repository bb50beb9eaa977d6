import JSONPatch
import Testing

/// Numbers in messages read as people write them.
@Suite struct NumberTextTests {
    @Test(arguments: [
        (99_999_999_999.0, "99999999999"), (0.0, "0"), (-3.0, "-3"), (2.5, "2.5"), (-0.25, "-0.25"),
        (1e300, "1e+300"), (Double.infinity, "inf"),
    ])
    func integralNumbersPrintWithoutAFraction(value: Double, text: String) {
        #expect(numberText(value) == text)
    }

    @Test func durationsPrintInSeconds() {
        #expect(secondsText(.seconds(10)) == "10")
        #expect(secondsText(.milliseconds(250)) == "0.25")
    }
}
