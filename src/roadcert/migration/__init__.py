"""Moving a province's existing ledger in (存量数据归集): format, synthetic data, import."""
