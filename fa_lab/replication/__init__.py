"""The replication: the paper's experiments as data, the results store, the runner and the report."""
