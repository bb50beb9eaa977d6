extension Result where Success: Sendable {
    /// The outcome of an async call as a value, as `init(catching:)` is for a synchronous one:
    /// the actor switches over a store call's result instead of nesting do/catch.
    init(awaiting body: () async throws(Failure) -> Success) async {
        do {
            self = .success(try await body())
        } catch {
            self = .failure(error)
        }
    }
}
