import CLibWebsockets
enum SyncClientNamespace {}
