/// One step of an edit script between two arrays, by element index.
enum ArrayEdit: Equatable {
    case keep(old: Int, new: Int)
    case delete(old: Int)
    case insert(new: Int)
}

/// Shortest edit scripts between arrays (Myers' O((N+M)D) algorithm).
enum ArrayAlignment {
    /// The shortest script of keeps, deletes and inserts turning `oldCount` elements into
    /// `newCount`, or nil when it needs more than `maximumSteps` deletes and inserts.
    static func align(
        oldCount n: Int, newCount m: Int, maximumSteps: Int,
        equal: (Int, Int) throws(JSONPatchError) -> Bool
    ) throws(JSONPatchError) -> [ArrayEdit]? {
        let limit = min(n + m, maximumSteps)
        let offset = limit + 1
        // furthest[k + offset]: the furthest x reached on diagonal k = x - y.
        var furthest = [Int](repeating: 0, count: 2 * limit + 3)
        var trace: [[Int]] = []
        for d in 0...limit {
            trace.append(furthest)
            for k in stride(from: -d, through: d, by: 2) {
                var x: Int
                if k == -d || (k != d && furthest[k - 1 + offset] < furthest[k + 1 + offset]) {
                    x = furthest[k + 1 + offset]
                } else {
                    x = furthest[k - 1 + offset] + 1
                }
                var y = x - k
                while x < n, y < m, try equal(x, y) {
                    x += 1
                    y += 1
                }
                furthest[k + offset] = x
                if x >= n, y >= m {
                    return backtrack(trace, n: n, m: m, offset: offset)
                }
            }
        }
        return nil
    }

    private static func backtrack(_ trace: [[Int]], n: Int, m: Int, offset: Int) -> [ArrayEdit] {
        var edits: [ArrayEdit] = []
        var x = n
        var y = m
        for d in stride(from: trace.count - 1, through: 0, by: -1) {
            let furthest = trace[d]
            let k = x - y
            let previousK =
                (k == -d || (k != d && furthest[k - 1 + offset] < furthest[k + 1 + offset])) ? k + 1 : k - 1
            let previousX = furthest[previousK + offset]
            let previousY = previousX - previousK
            while x > previousX, y > previousY {
                edits.append(.keep(old: x - 1, new: y - 1))
                x -= 1
                y -= 1
            }
            if d > 0 {
                if x == previousX {
                    edits.append(.insert(new: y - 1))
                } else {
                    edits.append(.delete(old: x - 1))
                }
            }
            x = previousX
            y = previousY
        }
        edits.reverse()
        return edits
    }
}
