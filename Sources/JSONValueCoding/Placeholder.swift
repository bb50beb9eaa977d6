enum JSONValueCodingNamespace {}
