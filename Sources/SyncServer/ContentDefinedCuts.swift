/// Where a large message is cut into pieces that are compressed apart (`CompressedMessageCache`):
/// after a byte where a rolling hash of the 64 bytes before it (a gear hash, as in FastCDC) has
/// its top bits zero. The cuts follow the content near them, not offsets, so a change to one row
/// of a list moves at most the cuts next to it: every other piece of the next version's Full is
/// byte for byte a piece of this one's, wherever it now starts.
struct ContentDefinedCuts {
    /// No cut before this many bytes of a piece.
    var minimumBytes = 8 * 1024
    /// A cut is about 2^hashBits bytes past the minimum on average.
    var hashBits = 14
    /// A piece ends here whatever the hash says.
    var maximumBytes = 64 * 1024

    /// The pieces of `bytes`, in order, covering all of them.
    func pieces(of bytes: UnsafeRawBufferPointer) -> [Range<Int>] {
        var pieces: [Range<Int>] = []
        pieces.reserveCapacity(bytes.count / (minimumBytes + (1 << hashBits)) + 1)
        let shift = UInt64(64 - hashBits)
        Self.gear.withUnsafeBufferPointer { gear in
            var start = 0
            while start < bytes.count {
                let end = min(start + maximumBytes, bytes.count)
                var cut = end
                var hash: UInt64 = 0
                // The hash covers the 64 bytes before a position: start it that far before the minimum.
                var index = max(start, start + minimumBytes - 64)
                while index < end {
                    hash = (hash << 1) &+ gear[Int(bytes[index])]
                    index += 1
                    if index - start >= minimumBytes && hash >> shift == 0 {
                        cut = index
                        break
                    }
                }
                pieces.append(start..<cut)
                start = cut
            }
        }
        return pieces
    }

    /// A fixed random value per byte (splitmix64 of the byte): cuts must land in the same places
    /// in every run, so that they do not depend on the process.
    private static let gear: [UInt64] = (0..<256).map { (byte: UInt64) -> UInt64 in
        var z = (byte &+ 1) &* 0x9E37_79B9_7F4A_7C15
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
