import Glibc

// `PatchsyncBench [core | startup ... | engine | fanout ... | validation | types | tokens ...]`: which benchmark to run;
// `core` when none is named.
let arguments = CommandLine.arguments.dropFirst()
let status: Int32
switch arguments.first {
case nil, "core":
    status = CoreBenchmark.main(arguments: arguments.dropFirst())
case "startup":
    status = await StartupBenchmark.main(arguments: arguments.dropFirst())
case "engine":
    status = await EngineBenchmark.main(arguments: arguments.dropFirst())
case "fanout":
    status = FanoutBenchmark.main(arguments: arguments.dropFirst())
case "validation":
    status = ValidationBenchmark.main(arguments: arguments.dropFirst())
case "types":
    status = await DeclaredTypeBenchmark.main(arguments: arguments.dropFirst())
case "tokens":
    status = TokenBenchmark.main(arguments: arguments.dropFirst())
case let other?:
    print("unknown benchmark '\(other)'; usage: PatchsyncBench [core | startup ... | engine | fanout ... | validation | types | tokens ...]")
    status = 2
}
exit(status)
