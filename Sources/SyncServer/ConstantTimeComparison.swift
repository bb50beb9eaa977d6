/// Compares secrets without an early exit, so timing does not reveal how much of a guess matched.
/// Only the secret's length can show in the timing, never the candidate's content.
func constantTimeEquals(_ candidate: String, _ secret: String) -> Bool {
    let a = Array(candidate.utf8)
    let b = Array(secret.utf8)
    // Any difference in length fails; it is not folded into the byte difference, where a
    // length that differs by a multiple of 256 would vanish.
    var difference: UInt8 = a.count == b.count ? 0 : 1
    for index in 0..<b.count {
        // Compare against the secret's full length even when the candidate is shorter.
        let left = index < a.count ? a[index] : 0
        difference |= left ^ b[index]
    }
    return difference == 0
}
