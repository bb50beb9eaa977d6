enum JSONCodecNamespace {}
