"""Developer tooling: the local cluster, CRD installation. Importable for its cache lookup."""
