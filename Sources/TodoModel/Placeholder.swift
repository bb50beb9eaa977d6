enum TodoModelNamespace {}
