"""Corpus sources: OPeRA parquet, the project JSONL format."""
