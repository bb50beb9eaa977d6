import CLibWebsockets
enum SyncServerNamespace {}
