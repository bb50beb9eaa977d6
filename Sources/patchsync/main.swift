print("patchsync")
