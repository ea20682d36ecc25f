"""The operator's plumbing: API writes, the work queue, in-memory state shared by handlers."""
