"""yuetan: the archive pipeline for regulatory interviews (约谈) under the Jiangxi 2025 Measures.

The stages read top-down: check → normalise → render → convert → assemble → seal → store → index.
"""
