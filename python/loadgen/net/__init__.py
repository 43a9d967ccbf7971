"""Benchmark models served over the network: datasets, endpoint SUTs, probe and bench."""
