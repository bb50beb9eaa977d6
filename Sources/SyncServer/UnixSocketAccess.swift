import Glibc

/// Who may connect to the Unix socket. Connecting needs write permission, which the process
/// umask usually withholds from everyone but the owner: the socket is made 0660 and may be
/// handed to a group, such as the one nginx runs in.
enum UnixSocketAccess {
    static func grant(path: String, group: String?) throws(ServerError) {
        if let group {
            guard let entry = getgrnam(group) else {
                throw ServerError(.listenFailed, "unix socket group '\(group)' does not exist")
            }
            // uid_t.max is -1: keep the owner.
            guard chown(path, uid_t.max, entry.pointee.gr_gid) == 0 else {
                throw ServerError(
                    .listenFailed,
                    "cannot give \(path) to group '\(group)' (the server must be a member): \(String(cString: strerror(errno)))")
            }
        }
        guard chmod(path, 0o660) == 0 else {
            throw ServerError(.listenFailed, "cannot set the mode of \(path): \(String(cString: strerror(errno)))")
        }
    }
}
