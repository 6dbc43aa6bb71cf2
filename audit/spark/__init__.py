"""The Spark engine: the audit's counting pass run where the data lives.

Every statistic of the audit is computed from count tables (`audit.stats.counts`). This package
fills them from a Spark DataFrame or from Parquet and CSV files, with one aggregation whose
result has a row per combination of the values the audit reads, however many rows the data has.
That small table goes to the same code as the NumPy engine's (`assess(..., tally=...)`), so both
engines encode, check and count alike. Model scoring runs on the executors (`scoring`).

`pyspark` is an optional extra (`pip install -e '.[spark]'`); nothing here is imported unless the
Spark engine is asked for.
"""
