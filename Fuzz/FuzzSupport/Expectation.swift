import Dispatch

/// Stops the fuzzer with `message` when a property does not hold. Unlike `precondition`, the
/// message is printed in optimised builds too, next to the input libFuzzer saves.
public func expect(_ condition: Bool, _ message: @autoclosure () -> String) {
    if !condition { fatalError(message()) }
}

/// Runs `body` to completion from libFuzzer's synchronous callback.
public func waitFor<T: Sendable>(_ body: @escaping @Sendable () async -> T) -> T {
    nonisolated(unsafe) var result: T?
    let done = DispatchSemaphore(value: 0)
    Task {
        result = await body()
        done.signal()
    }
    done.wait()
    return result!
}
