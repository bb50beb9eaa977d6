/// Compares secrets without an early exit, so timing does not reveal how much of a guess matched.
func constantTimeEquals(_ candidate: String, _ secret: String) -> Bool {
    let a = Array(candidate.utf8)
    let b = Array(secret.utf8)
    var difference = UInt8(truncatingIfNeeded: a.count ^ b.count)
    for index in 0..<b.count {
        // Compare against the secret's full length even when the candidate is shorter.
        let left = index < a.count ? a[index] : 0
        difference |= left ^ b[index]
    }
    return difference == 0
}
